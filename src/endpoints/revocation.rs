//! `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it.

use http::Request;

use super::{Answer, Event, RequestLog, refused, unavailable};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::request;
use crate::response;
use crate::store::TokenRevoker;
use crate::token::AccessToken;

/// 200 whether or not the token existed, so the endpoint tells nothing about other
/// tokens. The store's write is conditional on the secret's hash: knowing a token's public
/// id is not enough.
pub(super) async fn answer<B: AsRef<[u8]>>(
    req: &Request<B>,
    store: &impl TokenRevoker,
    clock: &impl Clock,
    realm: &str,
) -> Answer {
    let presented = match parse(req) {
        Ok(t) => t,
        Err(e) => return refused(&e, String::new(), realm),
    };
    let mut log = RequestLog {
        event: Event::TokenRevoked,
        ..RequestLog::default()
    };
    let Some(token) = AccessToken::parse(&presented) else {
        log.description = "not one of our tokens".into();
        return Answer {
            response: response::revoked(),
            log,
        };
    };
    let now_secs = clock.now_ms() / 1000;
    match store
        .revoke_token(token.id(), &token.secret_hash(), now_secs)
        .await
    {
        Ok(revoked) => {
            log.token_id = token.id().to_string();
            log.description = if revoked {
                "revoked"
            } else {
                "nothing to revoke"
            }
            .into();
            Answer {
                response: response::revoked(),
                log,
            }
        }
        Err(e) => refused(&unavailable(e), String::new(), realm),
    }
}

/// `POST /oauth/revoke` (RFC 7009 §2.1): the token to revoke. A `token_type_hint` is
/// allowed and ignored, since there is one kind of token.
fn parse<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<String, ApiError> {
    let form = request::read_form(req)?;
    form.get("token")
        .map(str::to_string)
        .ok_or_else(|| ApiError::invalid_request("token is required"))
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
        assert_eq!(parse(&hinted).unwrap(), "abc");
        assert_eq!(parse(&post("")).unwrap_err().status(), 400);
        assert_eq!(parse(&post("token=a&token=b")).unwrap_err().status(), 400);
        let get = Request::builder().method("GET").body(Vec::new()).unwrap();
        assert_eq!(parse(&get).unwrap_err(), ApiError::MethodNotAllowed);
    }
}
