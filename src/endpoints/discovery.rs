//! `GET /.well-known/oauth-authorization-server` (RFC 8414): where everything is and what
//! is supported, so clients configure themselves.

use http::{Method, Request, StatusCode};
use serde_json::json;

use super::device_authorization;
use super::{Answer, Event, RequestLog, Settings, endpoint_url, issuer, refused};
use super::{INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATHS, token_endpoint, web_approval};
use crate::error::ApiError;
use crate::pkce;
use crate::response;

/// Where metadata is served, at the end of the issuer's own path (how most clients look
/// for it, and all a REST stage on its `execute-api` domain can route).
pub(super) const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// RFC 8414 §3.1: the well-known path inserted before the issuer's path.
pub(super) const WELL_KNOWN_INSERTED: &str = "/.well-known/oauth-authorization-server/";

/// `inserted`: the issuer's path, as a request to the path-inserted location named it.
pub(super) fn answer<B>(req: &Request<B>, inserted: Option<&str>, settings: &Settings) -> Answer {
    if req.method() != Method::GET {
        return refused(
            &ApiError::MethodNotAllowedHere("GET"),
            String::new(),
            &settings.realm,
        );
    }
    let Some(issuer) = issuer(settings.issuer.as_deref(), req) else {
        // Neither configured nor known from the front door (an ALB passed a Host that is
        // no host name): the client's request, not the server, is at fault.
        let why = ApiError::invalid_request("the request names no host to call the issuer");
        return refused(&why, String::new(), &settings.realm);
    };
    if inserted.is_some_and(|path| path.trim_end_matches('/') != issuer_path(&issuer)) {
        return refused(&ApiError::NoMetadataHere, String::new(), &settings.realm);
    }
    // The issuer is named byte for byte as configured (RFC 8414 §3.3 compares it so);
    // endpoints hang off it without doubling a trailing slash.
    let at = |path: &str| endpoint_url(&issuer, path);
    let body = json!({
        "issuer": issuer,
        // The sign-in and consent pages: what a standard client sends a browser to.
        // Direct approval (`/oauth/authorizeapp`) is Quay's extension, for tools only.
        "authorization_endpoint": at(web_approval::AUTHORIZE_PAGE_PATH),
        "token_endpoint": at(TOKEN_PATHS[0]),
        "revocation_endpoint": at(REVOCATION_PATH),
        "introspection_endpoint": at(INTROSPECTION_PATH),
        "device_authorization_endpoint": at(device_authorization::PATH),
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": grant_types(),
        "code_challenge_methods_supported": [pkce::S256],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        // A refresh token's revocation authenticates its client; an access token's needs none.
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": settings.scopes,
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported":
            crate::dpop::ALGORITHMS.map(|(name, _)| name),
    });
    Answer {
        response: response::json(StatusCode::OK, &body),
        log: RequestLog {
            event: Event::Discovery,
            ..RequestLog::default()
        },
    }
}

/// Every grant type: the token endpoint's, and the pages' implicit response.
fn grant_types() -> Vec<&'static str> {
    let mut all = token_endpoint::GRANT_TYPES.to_vec();
    all.push("implicit");
    all
}

/// The issuer's path without its slashes at either end: `https://h/a/b/` is `a/b`.
fn issuer_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    after_scheme
        .split_once('/')
        .map_or("", |(_, path)| path.trim_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::issuer_path;

    #[test]
    fn an_issuer_s_path_is_what_follows_its_host() {
        assert_eq!(issuer_path("https://h.example"), "");
        assert_eq!(issuer_path("https://h.example/"), "");
        assert_eq!(issuer_path("https://h.example/prod"), "prod");
        assert_eq!(issuer_path("https://h.example/a/b/"), "a/b");
        assert_eq!(
            issuer_path("http://127.0.0.1:9000/lambda-url/x"),
            "lambda-url/x"
        );
    }
}
