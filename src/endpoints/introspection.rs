//! `POST /oauth/introspect` (RFC 7662): a confidential application asks whether a token is
//! active. One read for the application and the token together; a second for the token's
//! user and application, whose state decides as it does at a check. A refresh token
//! (`dor_`) is not an access token: it is `{"active": false}` to every caller, its own
//! client's included (its family is read by the token endpoint and revocation only).

use http::{Request, StatusCode, header};
use serde_json::json;

use super::{Answer, Event, RequestLog, refused, unavailable};
use crate::client_auth::{self, authenticate};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::{ClientAndToken, TokenReader, TokenRecord};
use crate::token::AccessToken;
use crate::token_check::Grant;
use crate::{request, response, token_check};

pub(super) async fn answer<B: AsRef<[u8]>>(
    req: &Request<B>,
    store: &(impl ClientAndToken + TokenReader),
    clock: &impl Clock,
    realm: &str,
) -> Answer {
    match inspect(req, store, clock).await {
        Ok((body, log)) => Answer {
            response: response::json(StatusCode::OK, &body),
            log,
        },
        Err((e, client_id)) => refused(&e, client_id, realm),
    }
}

async fn inspect<B: AsRef<[u8]>>(
    req: &Request<B>,
    store: &(impl ClientAndToken + TokenReader),
    clock: &impl Clock,
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
    let (app, record) = store
        .client_and_token(&client.client_id, token_id)
        .await
        .map_err(|e| fail(unavailable(e)))?;
    authenticate(app.as_ref(), &client).map_err(fail)?;
    if presented.is_none() {
        return Err(fail(ApiError::invalid_request("token is required")));
    }
    let now_secs = clock.now_ms() / 1000;
    let grant = match &token {
        Some(t) => {
            let checked = token_check::check_active(store, t, record.as_ref(), now_secs);
            Some(checked.await.map_err(|e| fail(unavailable(e)))?)
        }
        None => None,
    };
    let mut log = RequestLog {
        event: Event::Introspected,
        client_id: client.client_id.clone(),
        ..RequestLog::default()
    };
    // RFC 7662 §4: another application's token is not the caller's to learn about,
    // unless the caller is a resource server registered to introspect any.
    let may_see = |client_id: &str| {
        client_id == client.client_id || app.as_ref().is_some_and(|a| a.introspect_any)
    };
    let active = match (grant, &record) {
        (Some(Ok(grant)), Some(record)) if may_see(&grant.client_id) => Some((grant, record)),
        // Unknown, expired, revoked, a disabled user's, another application's: nothing
        // more is said.
        _ => None,
    };
    let Some((grant, record)) = active else {
        log.description = "inactive".into();
        return Ok((json!({ "active": false }), log));
    };
    log.token_id = grant.token_id.clone();
    log.description = "active".into();
    Ok((active_body(&grant, record), log))
}

/// RFC 7662 §2.2's answer for an active token.
fn active_body(grant: &Grant, record: &TokenRecord) -> serde_json::Value {
    let mut body = json!({
        "active": true,
        "scope": grant.scopes.join(" "),
        "client_id": grant.client_id,
        "username": grant.username,
        "token_type": "Bearer",
        "iat": record.issued_at,
    });
    // An API token that never expires has no `exp` (RFC 7662 makes it optional).
    if let Some(exp) = record.expires_at {
        body["exp"] = exp.into();
    }
    // RFC 9449 §6.2: a bound token's key, for a resource server to check proofs.
    if let Some(jkt) = &record.jkt {
        body["token_type"] = "DPoP".into();
        body["cnf"] = json!({ "jkt": jkt });
    }
    body
}
