//! `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it. An access token
//! (`doa_`) is revoked alone; a refresh token (`dor_`) ends its whole family and the access
//! tokens the family issued (§2.1), once its client has authenticated.

use http::{Request, header};

use super::{Answer, Event, RequestLog, refused, unavailable};
use crate::client_auth::{self, authenticate};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::form::Form;
use crate::refresh::{self, RefreshToken};
use crate::request;
use crate::response;
use crate::store::{LookupReader, RefreshStore, TokenRevoker};
use crate::token::AccessToken;

/// `token_type_hint`'s value for a refresh token (RFC 7009 §2.1); any other value, or
/// none, has the access token tried first.
const REFRESH_HINT: &str = "refresh_token";

/// What the presented string is, tried in the order the hint suggests (§2.1: a wrong hint
/// has the other kind tried).
enum Presented {
    Access(AccessToken),
    Refresh(RefreshToken),
}

impl Presented {
    fn parse(token: &str, hint: Option<&str>) -> Option<Self> {
        let access = || AccessToken::parse(token).map(Presented::Access);
        let refresh = || RefreshToken::parse(token).map(Presented::Refresh);
        match hint {
            Some(REFRESH_HINT) => refresh().or_else(access),
            _ => access().or_else(refresh),
        }
    }
}

/// 200 whether or not the token existed, so the endpoint tells nothing about other
/// tokens. Each write is conditional on the secret's hash (an access token's, or one of
/// the family's two): knowing a token's public id is not enough.
pub(super) async fn answer<B: AsRef<[u8]>>(
    req: &Request<B>,
    store: &(impl TokenRevoker + RefreshStore + LookupReader),
    clock: &impl Clock,
    realm: &str,
) -> Answer {
    let form = match parse(req) {
        Ok(form) => form,
        Err(e) => return refused(&e, String::new(), realm),
    };
    let token = form.get("token").unwrap_or_default();
    let now_secs = clock.now_ms() / 1000;
    let done = match Presented::parse(token, form.get("token_type_hint")) {
        None => Ok(RequestLog {
            description: "not one of our tokens".into(),
            ..RequestLog::default()
        }),
        Some(Presented::Access(t)) => revoke_access_token(store, &t, now_secs).await,
        Some(Presented::Refresh(t)) => revoke_family(req, &form, store, &t, now_secs).await,
    };
    match done {
        Ok(log) => Answer {
            response: response::revoked(),
            log: RequestLog {
                event: Event::TokenRevoked,
                ..log
            },
        },
        Err((e, client_id)) => refused(&e, client_id, realm),
    }
}

type Refusal = (ApiError, String);

/// An access token: revoked if its secret matches, with no client authentication (any
/// holder may end it).
async fn revoke_access_token(
    store: &impl TokenRevoker,
    token: &AccessToken,
    now_secs: u64,
) -> Result<RequestLog, Refusal> {
    let hash = token.secret_hash();
    let revoked = store.revoke_token(token.id(), &hash, now_secs).await;
    let revoked = revoked.map_err(|e| (unavailable(e), String::new()))?;
    Ok(RequestLog {
        token_id: token.id().to_string(),
        description: if revoked {
            "revoked"
        } else {
            "nothing to revoke"
        }
        .into(),
        ..RequestLog::default()
    })
}

/// A refresh token: its client authenticates as at the token endpoint (a public one by
/// its `client_id`, a confidential one with its secret); then, if the token is the
/// family's live one or the one its last rotation retired, and the family is that
/// client's, the family and its access tokens are revoked. The family's id is never
/// logged: it is half of every token of the family.
async fn revoke_family<B: AsRef<[u8]>>(
    req: &Request<B>,
    form: &Form,
    store: &(impl RefreshStore + LookupReader),
    token: &RefreshToken,
    now_secs: u64,
) -> Result<RequestLog, Refusal> {
    let authorization = req.headers().get_all(header::AUTHORIZATION);
    let client = client_auth::parse(authorization.iter().map(|v| v.as_bytes()), form)
        .map_err(|e| (e, String::new()))?;
    let fail = |e| (e, client.client_id.clone());
    let (lookup, family) = tokio::join!(
        store.lookup(&client.client_id, None),
        store.family(token.family_id())
    );
    let lookup = lookup.map_err(|e| fail(unavailable(e)))?;
    let family = family.map_err(|e| fail(unavailable(e)))?;
    authenticate(lookup.application.as_ref(), &client).map_err(fail)?;
    let theirs = family
        .as_ref()
        .filter(|f| f.client_id == client.client_id && refresh::held(token, f));
    let mut log = RequestLog {
        client_id: client.client_id.clone(),
        description: "refresh token: nothing to revoke".into(),
        ..RequestLog::default()
    };
    if let Some(f) = theirs {
        // Again on a revoked family: a revocation that failed midway is finished.
        let revoked = store.revoke_family(&f.family_id, now_secs);
        revoked.await.map_err(|e| fail(unavailable(e)))?;
        log.username = f.username.clone();
        log.description = "refresh token: its family and access tokens revoked".into();
    }
    Ok(log)
}

/// `POST /oauth/revoke` (RFC 7009 §2.1): the form, with the token to revoke.
fn parse<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<Form, ApiError> {
    let form = request::read_form(req)?;
    if form.get("token").is_none() {
        return Err(ApiError::invalid_request("token is required"));
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request<Vec<u8>> {
        let b = Request::builder().method("POST").uri("/oauth/revoke");
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn revocation_needs_one_token() {
        let hinted = post("token=abc&token_type_hint=access_token");
        assert_eq!(parse(&hinted).unwrap().get("token"), Some("abc"));
        assert_eq!(parse(&post("")).unwrap_err().status(), 400);
        assert_eq!(parse(&post("token=a&token=b")).unwrap_err().status(), 400);
        let get = Request::builder().method("GET").body(Vec::new()).unwrap();
        assert_eq!(parse(&get).unwrap_err(), ApiError::MethodNotAllowed);
    }

    #[test]
    fn the_hint_orders_the_tries_and_a_wrong_one_is_passed_over() {
        let access = crate::token::AccessToken::generate(&crate::random::OsRandom).unwrap();
        let refresh = RefreshToken::start(&crate::random::OsRandom).unwrap();
        for hint in [
            None,
            Some("access_token"),
            Some(REFRESH_HINT),
            Some("other"),
        ] {
            let a = Presented::parse(&access.expose(), hint);
            let r = Presented::parse(&refresh.expose(), hint);
            assert!(matches!(a, Some(Presented::Access(_))), "{hint:?}");
            assert!(matches!(r, Some(Presented::Refresh(_))), "{hint:?}");
            assert!(Presented::parse("dor_nope", hint).is_none());
        }
    }
}
