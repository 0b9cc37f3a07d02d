//! `GET /.well-known/oauth-authorization-server` (RFC 8414): where everything is and what
//! is supported, so clients configure themselves.

use http::{Method, Request, StatusCode};
use serde_json::json;

use super::{Answer, Deps, Event, Flow, Issuer, RequestLog};
use crate::error::ApiError;
use crate::pkce;
use crate::response;

impl<D: Deps> Flow<D> {
    pub(super) fn discovery<B>(&self, req: &Request<B>) -> Answer {
        if req.method() != Method::GET {
            return self.refused(&ApiError::MethodNotAllowedHere("GET"), String::new());
        }
        let from_request = req.extensions().get::<Issuer>().map(|i| i.0.clone());
        let Some(issuer) = self.settings.issuer.clone().or(from_request) else {
            // Neither configured nor known from the front door (an ALB passed a Host that is
            // no host name): the client's request, not the server, is at fault.
            let why = ApiError::invalid_request("the request names no host to call the issuer");
            return self.refused(&why, String::new());
        };
        let at = |path: &str| format!("{issuer}{path}");
        let body = json!({
            "issuer": issuer,
            "authorization_endpoint": at("/oauth/authorizeapp"),
            "token_endpoint": at("/oauth/access_token"),
            "revocation_endpoint": at("/oauth/revoke"),
            "introspection_endpoint": at("/oauth/introspect"),
            "response_types_supported": ["code", "token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": ["authorization_code", "implicit"],
            "code_challenge_methods_supported": [pkce::S256],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": self.settings.scopes,
        });
        Answer {
            response: response::json(StatusCode::OK, &body),
            log: RequestLog {
                event: Event::Discovery,
                ..RequestLog::default()
            },
        }
    }
}
