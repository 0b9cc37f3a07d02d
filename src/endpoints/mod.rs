//! The authorization server's endpoints, one module each: its request parsing, its checks
//! in the contract's order (decided by the pure core, fed by the ports), and a short driver
//! that asks only for the ports it uses. Nothing here chooses a status (`error` and
//! `response` do), performs I/O of its own or names an AWS type; the Lambda glue
//! (`crate::lambda`) turns an [`Answer`] into a log line and a Lambda response.
//!
//! - [`direct_approval`]: `POST /oauth/authorizeapp`, checks 1-12 of the contract;
//! - [`token_endpoint`]: `POST /oauth/access_token` and `/oauth/token` (a code for a token);
//! - [`introspection`]: `POST /oauth/introspect` (RFC 7662);
//! - [`revocation`]: `POST /oauth/revoke` (RFC 7009);
//! - [`device_authorization`]: `POST /oauth/device_authorization` (RFC 8628);
//! - [`discovery`]: `/.well-known/oauth-authorization-server` (RFC 8414).
//!
//! Shared by the two that issue tokens: [`proof`] (DPoP, RFC 9449 §5) and [`issuance`] (the
//! token and code writes). The authorizer's check is [`crate::token_check`].

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

pub mod account;
mod browser;
mod device_authorization;
mod direct_approval;
mod discovery;
mod introspection;
mod issuance;
mod login;
mod proof;
mod revocation;
mod token_endpoint;
mod web_approval;

use account::{Account, AccountAction};
use device_authorization::DeviceAuthorizationEndpoint;
use direct_approval::DirectApproval;
use issuance::Issuance;
use login::PasswordCheck;
use proof::{DpopCheck, NonceSecret};
use token_endpoint::TokenEndpoint;
use web_approval::{Action, WebApproval};

/// Direct approval's path after the issuer's (a DPoP proof's `htu` names it).
const AUTHORIZE_PATH: &str = "/oauth/authorizeapp";
/// Introspection's and revocation's paths after the issuer's.
const INTROSPECTION_PATH: &str = "/oauth/introspect";
const REVOCATION_PATH: &str = "/oauth/revoke";
/// The token endpoint's paths: Quay's (the one discovery names), and the one most clients
/// guess.
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

/// The caller's address as the front door saw it, put on the request by the glue: shown
/// to the person who approves a device authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

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

/// Settings the endpoints need, taken from [`Config`].
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

impl Settings {
    /// How long `app`'s access tokens live: its own lifetime; an hour when it gets refresh
    /// tokens; or the function's.
    pub fn lifetime_of(&self, app: &crate::store::Application) -> Duration {
        let function_wide = match app.refresh {
            Some(_) => crate::refresh::REFRESHED_ACCESS_LIFETIME,
            None => self.token_lifetime,
        };
        app.token_lifetime.unwrap_or(function_wide)
    }
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
    /// A page of the web approval shown (sign-in, consent, a message).
    Page,
    SignedIn,
    SignedOut,
    /// The audit trail of the person's own pages.
    ApiTokenCreated,
    ApiTokenRevoked,
    AccessRevoked,
    /// A device authorization asked for, and the person's decision on it.
    DeviceAuthorized,
    DeviceApproved,
    DeviceDenied,
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
            Event::Page => "page",
            Event::SignedIn => "signed_in",
            Event::SignedOut => "signed_out",
            Event::ApiTokenCreated => "api_token_created",
            Event::ApiTokenRevoked => "api_token_revoked",
            Event::AccessRevoked => "access_revoked",
            Event::DeviceAuthorized => "device_authorized",
            Event::DeviceApproved => "device_approved",
            Event::DeviceDenied => "device_denied",
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

/// The server's ports, named once: every `impl` of the server is `impl<P: Ports> Server<P>`.
/// Any tuple `(store, whitelist source, clock, randomness, passwords, directory)` of port
/// implementations is one, so the glue and the tests each pick their own; a server whose
/// users are the users table's names [`NoDirectory`]. Each endpoint asks for fewer.
pub trait Ports {
    type Store: Store;
    type Source: WhitelistSource;
    type Clock: Clock;
    type Random: Random;
    type Passwords: Passwords;
    type Directory: Directory;
}

impl<St, Src, C, R, P, Dir> Ports for (St, Src, C, R, P, Dir)
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

/// The authorization server: its ports, built once per cold start and borrowed by every
/// request, which [`Server::handle`] hands to the endpoint the path names.
pub struct Server<P: Ports> {
    store: P::Store,
    whitelist: CachedWhitelist<P::Source>,
    clock: P::Clock,
    random: P::Random,
    passwords: P::Passwords,
    /// Where passwords are checked; `None`: the users table's own hashes.
    directory: Option<P::Directory>,
    settings: Settings,
    /// The DPoP nonces' secret, once the store gave it (see `proof`).
    nonce_secret: NonceSecret,
}

/// Built from its parts, so the parts' types name the server's [`Ports`]; its users are
/// the users table's.
impl<St, Src, C, R, P> Server<(St, Src, C, R, P, NoDirectory)>
where
    (St, Src, C, R, P, NoDirectory): Ports<
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
        passwords: P,
        settings: Settings,
    ) -> Self {
        Self::with_directory(store, whitelist, clock, random, passwords, None, settings)
    }
}

/// With a directory (or `None`, the users table, chosen when the function starts).
impl<St, Src, C, R, P, Dir> Server<(St, Src, C, R, P, Dir)>
where
    (St, Src, C, R, P, Dir):
        Ports<Store = St, Source = Src, Clock = C, Random = R, Passwords = P, Directory = Dir>,
{
    pub fn with_directory(
        store: St,
        whitelist: CachedWhitelist<Src>,
        clock: C,
        random: R,
        passwords: P,
        directory: Option<Dir>,
        settings: Settings,
    ) -> Self {
        Server {
            store,
            whitelist,
            clock,
            random,
            passwords,
            directory,
            settings,
            nonce_secret: NonceSecret::default(),
        }
    }
}

impl<P: Ports> Server<P> {
    /// The person's own pages, with the ports they use.
    fn account(&self) -> Account<'_, P::Store, P::Clock, P::Random> {
        Account {
            store: &self.store,
            clock: &self.clock,
            random: &self.random,
            settings: &self.settings,
        }
    }

    /// The device authorization endpoint, with the ports it uses.
    fn device_authorization(
        &self,
    ) -> DeviceAuthorizationEndpoint<'_, P::Store, P::Clock, P::Random> {
        DeviceAuthorizationEndpoint {
            store: &self.store,
            clock: &self.clock,
            random: &self.random,
            settings: &self.settings,
        }
    }

    /// Answers one request to any endpoint. Never fails: every error is a response.
    pub async fn handle<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let dpop = DpopCheck {
            store: &self.store,
            clock: &self.clock,
            random: &self.random,
            settings: &self.settings.dpop,
            secret: &self.nonce_secret,
        };
        let issuance = Issuance {
            store: &self.store,
            random: &self.random,
            settings: &self.settings,
        };
        let login = PasswordCheck {
            store: &self.store,
            clock: &self.clock,
            passwords: &self.passwords,
            directory: self.directory.as_ref(),
            superuser_group: self.settings.superuser_group.as_deref(),
        };
        let realm = &self.settings.realm;
        // The path's end tells the endpoint (stages and function URL prefixes come before it).
        let path = req.uri().path();
        if path.ends_with(device_authorization::PATH) {
            self.device_authorization().answer(req).await
        } else if path.ends_with(REVOCATION_PATH) {
            revocation::answer(req, &self.store, &self.clock, realm).await
        } else if let Some(endpoint) = TOKEN_PATHS.into_iter().find(|p| path.ends_with(p)) {
            let token_endpoint = TokenEndpoint {
                store: &self.store,
                clock: &self.clock,
                dpop,
                issuance,
            };
            token_endpoint.answer(req, endpoint).await
        } else if let Some(action) = page_action(path, req.method()) {
            let web_approval = WebApproval {
                store: &self.store,
                clock: &self.clock,
                random: &self.random,
                login,
                settings: &self.settings,
                issuance,
            };
            web_approval.answer(req, action).await
        } else if let Some(action) = AccountAction::of(path, req.method()) {
            self.account().answer(req, action).await
        } else if path.ends_with(INTROSPECTION_PATH) {
            introspection::answer(req, &self.store, &self.clock, realm).await
        } else if path.ends_with(discovery::WELL_KNOWN) {
            discovery::answer(req, None, &self.settings)
        } else if let Some((_, inserted)) = path.split_once(discovery::WELL_KNOWN_INSERTED) {
            // RFC 8414 §3.1: a path-bearing issuer's metadata, the path after the well-known one.
            discovery::answer(req, Some(inserted), &self.settings)
        } else {
            let direct_approval = DirectApproval {
                store: &self.store,
                whitelist: &self.whitelist,
                clock: &self.clock,
                random: &self.random,
                login,
                settings: &self.settings,
                dpop,
                issuance,
            };
            direct_approval.answer(req).await
        }
    }
}

/// The issuer, as configured or, failing that, as the request's front door names it;
/// `None` when neither can (an ALB passed a Host that is no host name).
fn issuer<B>(settings_issuer: Option<&str>, req: &Request<B>) -> Option<String> {
    let from_request = || req.extensions().get::<Issuer>().map(|i| i.0.clone());
    settings_issuer.map(str::to_string).or_else(from_request)
}

/// Which of the web approval's pages a path and method ask for.
fn page_action(path: &str, method: &http::Method) -> Option<Action> {
    if path.ends_with(web_approval::AUTHORIZE_PAGE_PATH) {
        Some(match *method {
            http::Method::POST => Action::Decide,
            _ => Action::Show,
        })
    } else if path.ends_with(web_approval::SIGN_IN_PATH) {
        Some(Action::SignIn)
    } else if path.ends_with(web_approval::SIGN_OUT_PATH) {
        Some(Action::SignOut)
    } else {
        None
    }
}

/// An endpoint's URL, as a client addresses it: the issuer, then the endpoint's path (a
/// trailing slash of the issuer not doubled).
fn endpoint_url(issuer: &str, path: &str) -> String {
    format!("{}{path}", issuer.trim_end_matches('/'))
}

/// A JSON error answer and its log line.
fn refused(err: &ApiError, client_id: String, realm: &str) -> Answer {
    Answer {
        response: response::error(err, realm),
        log: RequestLog {
            event: Event::Refused,
            client_id,
            error: err.code(),
            description: err.to_string(),
            ..RequestLog::default()
        },
    }
}

/// An outage of a dependency: logged here, answered 503 with `Retry-After`.
fn unavailable(err: impl std::fmt::Display) -> ApiError {
    warn!(error = %err, "dependency unavailable");
    ApiError::Unavailable {
        retry_after_secs: OUTAGE_RETRY_AFTER_SECS,
    }
}
