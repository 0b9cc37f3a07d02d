//! The request flow: the contract's checks in order, each decided by the pure core and fed
//! by the ports (store, whitelist, clock, randomness, passwords). Nothing here chooses a
//! status (`error` and `response` do), performs I/O of its own or names an AWS type; the
//! Lambda glue (`crate::lambda`) turns an [`Answer`] into a log line and a Lambda response.
//!
//! One function serves every endpoint of the main Lambda function:
//! - `authorize`: `POST /oauth/authorizeapp`, checks 1-12 of the contract;
//! - `exchange`: `POST /oauth/access_token` and `/oauth/token` (a code for a token);
//! - `introspect`: `POST /oauth/introspect` (RFC 7662);
//! - `revoke`: `POST /oauth/revoke` (RFC 7009);
//! - `discovery`: `/.well-known/oauth-authorization-server` (RFC 8414).

use std::collections::BTreeSet;
use std::time::Duration;

use http::Request;
use tracing::warn;

use crate::clock::Clock;
use crate::config::{Config, DpopSettings};
use crate::directory::{Directory, NoDirectory};
use crate::error::ApiError;
use crate::password::Passwords;
use crate::random::Random;
use crate::response::{self, HttpResponse};
use crate::store::Store;
use crate::whitelist::{CachedWhitelist, WhitelistSource};

mod attempt;
mod authorize;
mod discovery;
mod dpop;
mod exchange;
mod introspect;
mod issue;
mod login;
mod reads;
mod revoke;

/// Direct approval's path after the issuer's (a DPoP proof's `htu` names it).
const AUTHORIZE_PATH: &str = "/oauth/authorizeapp";
/// The token endpoint's paths: Quay's, and the one most clients guess.
const TOKEN_PATHS: [&str; 2] = ["/oauth/access_token", "/oauth/token"];

/// Seconds a client is told to wait after an outage.
const OUTAGE_RETRY_AFTER_SECS: u64 = 2;

/// When the invocation must have answered (epoch ms): the Lambda runtime's deadline, put on
/// the request by the glue. A whitelist fetch may use what is left of it, less room to
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub u64);

/// The URL the request came to, up to the API's base path (`https://host/stage`), put on
/// the request by the glue: discovery's issuer when none is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(pub String);

/// Room kept after a whitelist fetch for the DynamoDB rounds and the answer.
const ANSWER_RESERVE_MS: u64 = 4_000;
/// The longest a fetch may take, however late the deadline.
const MAX_FETCH_BUDGET_MS: u64 = 10_000;
/// The shortest: one quick attempt even when the deadline is near.
const MIN_FETCH_BUDGET_MS: u64 = 200;

/// What a whitelist fetch may take for this request. A deadline already past when the
/// request starts is no deadline: Lambda's is always ahead, and `cargo lambda watch` sends
/// one from 1970, which held every local fetch to one 200 ms attempt.
fn fetch_budget<B>(req: &Request<B>, now_ms: u64) -> Duration {
    match req.extensions().get::<Deadline>() {
        Some(Deadline(at)) if *at > now_ms => Duration::from_millis(
            at.saturating_sub(now_ms)
                .saturating_sub(ANSWER_RESERVE_MS)
                .clamp(MIN_FETCH_BUDGET_MS, MAX_FETCH_BUDGET_MS),
        ),
        _ => crate::whitelist::DEFAULT_FETCH_BUDGET,
    }
}

/// Settings the flow needs, taken from [`Config`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub scopes: BTreeSet<String>,
    pub backoff_cap: Duration,
    pub realm: String,
    /// The issuer URL for discovery; `None`: taken from the request's [`Issuer`].
    pub issuer: Option<String>,
    /// A directory's group whose members are superusers.
    pub superuser_group: Option<String>,
    pub dpop: DpopSettings,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            token_lifetime: c.token_lifetime,
            code_lifetime: c.code_lifetime,
            scopes: c.scopes.clone(),
            backoff_cap: c.backoff_cap,
            realm: c.realm.clone(),
            issuer: c.issuer.clone(),
            superuser_group: c.superuser_group.clone(),
            dpop: c.dpop.clone(),
        }
    }
}

/// What a request came to, as its log line names it (`event`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    TokenIssued,
    CodeIssued,
    /// An error sent to the client's redirect URI (RFC 6749 §4.1.2.1).
    RedirectError,
    /// A JSON error answer.
    #[default]
    Refused,
    TokenRevoked,
    Introspected,
    Discovery,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TokenIssued => "token_issued",
            Event::CodeIssued => "code_issued",
            Event::RedirectError => "redirect_error",
            Event::Refused => "refused",
            Event::TokenRevoked => "token_revoked",
            Event::Introspected => "introspected",
            Event::Discovery => "discovery",
        }
    }
}

/// The fields of the one log line each request gets, besides the response's status. Never
/// a secret: no password, no token, no token secret, no header value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestLog {
    pub event: Event,
    pub client_id: String,
    /// The contract's error code, empty on success.
    pub error: &'static str,
    pub description: String,
    pub username: String,
    pub scopes: String,
    /// The token's public id, never the token.
    pub token_id: String,
}

/// What a request gets, and what is logged about it.
#[derive(Debug)]
pub struct Answer {
    pub response: HttpResponse,
    pub log: RequestLog,
}

/// The flow's ports, named once: every `impl` of the flow is `impl<D: Deps> Flow<D>`.
/// Any tuple `(store, whitelist source, clock, randomness, passwords, directory)` of port
/// implementations is one, so the glue and the tests each pick their own; a flow whose
/// users are the users table's names [`NoDirectory`].
pub trait Deps {
    type Store: Store;
    type Source: WhitelistSource;
    type Clock: Clock;
    type Random: Random;
    type Passwords: Passwords;
    type Directory: Directory;
}

impl<St, Src, C, R, P, Dir> Deps for (St, Src, C, R, P, Dir)
where
    St: Store,
    Src: WhitelistSource,
    C: Clock,
    R: Random,
    P: Passwords,
    Dir: Directory,
{
    type Store = St;
    type Source = Src;
    type Clock = C;
    type Random = R;
    type Passwords = P;
    type Directory = Dir;
}

/// The contract's flow over its ports. Built once per cold start and borrowed by every
/// request.
pub struct Flow<D: Deps> {
    store: D::Store,
    whitelist: CachedWhitelist<D::Source>,
    clock: D::Clock,
    random: D::Random,
    hasher: D::Passwords,
    /// Where passwords are checked; `None`: the users table's own hashes.
    directory: Option<D::Directory>,
    settings: Settings,
    /// The DPoP nonces' secret, once the store gave it (see `dpop`).
    nonce_secret: tokio::sync::OnceCell<[u8; 32]>,
}

/// Built from its parts, so the parts' types name the flow's [`Deps`]; its users are the
/// users table's.
impl<St, Src, C, R, P> Flow<(St, Src, C, R, P, NoDirectory)>
where
    (St, Src, C, R, P, NoDirectory): Deps<
            Store = St,
            Source = Src,
            Clock = C,
            Random = R,
            Passwords = P,
            Directory = NoDirectory,
        >,
{
    pub fn new(
        store: St,
        whitelist: CachedWhitelist<Src>,
        clock: C,
        random: R,
        hasher: P,
        settings: Settings,
    ) -> Self {
        Self::with_directory(store, whitelist, clock, random, hasher, None, settings)
    }
}

/// With a directory (or `None`, the users table, chosen when the function starts).
impl<St, Src, C, R, P, Dir> Flow<(St, Src, C, R, P, Dir)>
where
    (St, Src, C, R, P, Dir):
        Deps<Store = St, Source = Src, Clock = C, Random = R, Passwords = P, Directory = Dir>,
{
    pub fn with_directory(
        store: St,
        whitelist: CachedWhitelist<Src>,
        clock: C,
        random: R,
        hasher: P,
        directory: Option<Dir>,
        settings: Settings,
    ) -> Self {
        Flow {
            store,
            whitelist,
            clock,
            random,
            hasher,
            directory,
            settings,
            nonce_secret: tokio::sync::OnceCell::new(),
        }
    }
}

impl<D: Deps> Flow<D> {
    /// Answers one request to either endpoint. Never fails: every error is a response.
    pub async fn handle<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        // The path's end tells the endpoint (stages and function URL prefixes come before it).
        let path = req.uri().path();
        if path.ends_with("/oauth/revoke") {
            self.revoke(req).await
        } else if let Some(endpoint) = TOKEN_PATHS.into_iter().find(|p| path.ends_with(p)) {
            self.exchange(req, endpoint).await
        } else if path.ends_with("/oauth/introspect") {
            self.introspect(req).await
        } else if path.ends_with(discovery::WELL_KNOWN) {
            self.discovery(req, None)
        } else if let Some((_, inserted)) = path.split_once(discovery::WELL_KNOWN_INSERTED) {
            // RFC 8414 §3.1: a path-bearing issuer's metadata, the path after the well-known one.
            self.discovery(req, Some(inserted))
        } else {
            self.authorize(req).await
        }
    }

    /// The issuer, as configured or, failing that, as the request's front door names it;
    /// `None` when neither can (an ALB passed a Host that is no host name).
    fn issuer<B>(&self, req: &Request<B>) -> Option<String> {
        let from_request = || req.extensions().get::<Issuer>().map(|i| i.0.clone());
        self.settings.issuer.clone().or_else(from_request)
    }

    /// A JSON error answer and its log line.
    fn refused(&self, err: &ApiError, client_id: String) -> Answer {
        Answer {
            response: response::error(err, &self.settings.realm),
            log: RequestLog {
                event: Event::Refused,
                client_id,
                error: err.code(),
                description: err.to_string(),
                ..RequestLog::default()
            },
        }
    }
}

/// An outage of a dependency: logged here, answered 503 with `Retry-After`.
fn unavailable(err: impl std::fmt::Display) -> ApiError {
    warn!(error = %err, "dependency unavailable");
    ApiError::Unavailable {
        retry_after_secs: OUTAGE_RETRY_AFTER_SECS,
    }
}
