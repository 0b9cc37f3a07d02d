//! `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it.

use http::Request;

use super::{Answer, Event, RequestLog, refused, unavailable};
use crate::clock::Clock;
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
    let presented = match request::parse_revoke(req) {
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
