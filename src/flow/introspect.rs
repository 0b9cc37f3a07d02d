//! `POST /oauth/introspect` (RFC 7662): a confidential application asks whether a token is
//! active. One read for the application and the token together; a second for the token's
//! user and application, whose state decides as it does at a check.

use http::{Request, StatusCode, header};
use serde_json::json;

use super::exchange::authenticate;
use super::{Answer, Deps, Event, Flow, RequestLog, unavailable};
use crate::authorizer;
use crate::client_auth;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::{ClientAndToken, Holders, TokenReader};
use crate::token::AccessToken;
use crate::{request, response};

impl<D: Deps> Flow<D> {
    pub(super) async fn introspect<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        match self.inspect(req).await {
            Ok((body, log)) => Answer {
                response: response::json(StatusCode::OK, &body),
                log,
            },
            Err((e, client_id)) => self.refused(&e, client_id),
        }
    }

    async fn inspect<B: AsRef<[u8]>>(
        &self,
        req: &Request<B>,
    ) -> Result<(serde_json::Value, RequestLog), (ApiError, String)> {
        let form = request::read_form(req).map_err(|e| (e, String::new()))?;
        let authorization = req.headers().get_all(header::AUTHORIZATION);
        let client = client_auth::parse(authorization.iter().map(|v| v.as_bytes()), &form)
            .map_err(|e| (e, String::new()))?;
        let fail = |e| (e, client.client_id.clone());
        // Only confidential applications may ask: a public client has no secret to show.
        if client.secret.is_none() {
            return Err(fail(ApiError::InvalidClient {
                basic: client.basic,
            }));
        }
        let presented = form.get("token");
        let token = presented.and_then(AccessToken::parse);
        // A missing token, or a string that cannot be one, costs the same read: the
        // client is authenticated before anything about the request is answered.
        let token_id = token.as_ref().map_or("-", |t| t.id());
        let (app, record) = self
            .store
            .client_and_token(&client.client_id, token_id)
            .await
            .map_err(|e| fail(unavailable(e)))?;
        authenticate(app.as_ref(), &client).map_err(fail)?;
        if presented.is_none() {
            return Err(fail(ApiError::invalid_request("token is required")));
        }
        let holders = match &record {
            Some(r) => self
                .store
                .token_holders(&r.username, &r.client_id)
                .await
                .map_err(|e| fail(unavailable(e)))?,
            None => Holders::default(),
        };
        let now_secs = self.clock.now_ms() / 1000;
        let mut log = RequestLog {
            event: Event::Introspected,
            client_id: client.client_id.clone(),
            ..RequestLog::default()
        };
        // Introspection asks whether the token is active, not whether its holder proved the
        // key: a bound token is judged as if its key's proof came with it.
        let bound_key = record.as_ref().and_then(|r| r.jkt.as_deref());
        let grant = token
            .as_ref()
            .map(|t| authorizer::decide(t, bound_key, record.as_ref(), &holders, now_secs));
        // RFC 7662 §4: another application's token is not the caller's to learn about,
        // unless the caller is a resource server registered to introspect any.
        let may_see = |client_id: &str| {
            client_id == client.client_id || app.as_ref().is_some_and(|a| a.introspect_any)
        };
        let body = match (grant, &record) {
            (Some(Ok(grant)), Some(record)) if may_see(&grant.client_id) => {
                log.token_id = grant.token_id.clone();
                log.description = "active".into();
                let mut body = json!({
                    "active": true,
                    "scope": grant.scopes.join(" "),
                    "client_id": grant.client_id,
                    "username": grant.username,
                    "token_type": "Bearer",
                    "exp": record.expires_at,
                    "iat": record.issued_at,
                });
                // RFC 9449 §6.2: a bound token's key, for a resource server to check proofs.
                if let Some(jkt) = &record.jkt {
                    body["token_type"] = "DPoP".into();
                    body["cnf"] = json!({ "jkt": jkt });
                }
                body
            }
            // Unknown, expired, revoked, a disabled user's, another application's: nothing
            // more is said.
            _ => {
                log.description = "inactive".into();
                json!({ "active": false })
            }
        };
        Ok((body, log))
    }
}
