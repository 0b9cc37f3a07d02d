//! The store's port: what the function keeps (models), the small traits the request flow
//! needs (and the operator's, in `operator`), and their adapters.
//!
//! - [`dynamodb`]: the real store;
//! - [`memory`]: an in-memory store for fast tests of the flow.
//!
//! Both pass one contract suite (`tests/it/store_contract/`): the memory store always,
//! the DynamoDB store against moto.

use std::collections::BTreeSet;
use std::future::Future;

use thiserror::Error;

use crate::api_token::ApiTokenTerms;

pub use crate::throttle::FailedLogins;
pub use access::Access;
pub use api_tokens::{ApiTokenStore, AuthorizedApplication, Holdings, TokenUse};
pub use codes::{CodeClaim, CodeRecord, CodeStore, Redemption, used_code};
pub use consents::ConsentStore;
pub use devices::{DeviceAuthorization, DeviceStore, Poll};
pub use one_time::OneTimeValues;
pub use operator::{ApplicationAdmin, TokenAdmin, UserAdmin};
pub use refresh::{RefreshFamily, RefreshStore};
pub use sessions::SessionStore;

mod access;
mod api_tokens;
mod codes;
mod consents;
mod devices;
pub mod dynamodb;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
mod one_time;
mod operator;
mod refresh;
mod sessions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// PHC argon2id string, or a bcrypt hash imported from Quay.
    pub password_hash: String,
    pub enabled: bool,
    pub superuser: bool,
    /// Raised by every operator action that ends the user's tokens (disable, revoke all,
    /// a password reset): a login that read an older generation cannot write a token.
    pub generation: u64,
    /// Tokens written under an older generation are void: set with the raise by `token
    /// revoke --user` and a password reset that revokes, in that one write, so no token is
    /// left to mark one at a time (and none is missed when a write fails midway).
    pub tokens_from: u64,
    /// The directory a local record belongs to, and who there; `None` for the users
    /// table's own users (and records linked before records remembered it).
    pub link: Option<DirectoryLink>,
}

/// Which directory a local record was made for, and the person's immutable id there
/// ([`crate::directory::Identity::id`]): a login through another directory, or by
/// another person who now holds the name, never takes the record over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryLink {
    /// [`crate::directory::Directory::kind`].
    pub directory: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub client_id: String,
    pub name: String,
    /// In registration order; each passed [`crate::redirect::validate_registration`].
    pub redirect_uris: Vec<String>,
    /// Scopes the application may ever be granted; `None` means the whole catalogue.
    pub scope_ceiling: Option<BTreeSet<String>>,
    /// SHA-256 of a confidential application's client secret (the secret is random and
    /// shown once); `None` for a public application, which proves itself by PKCE alone.
    pub secret_hash: Option<[u8; 32]>,
    /// A resource server that may introspect tokens issued to other applications
    /// (RFC 7662 §4); otherwise introspection answers only for the caller's own tokens.
    pub introspect_any: bool,
    /// Its tokens and codes carry the epoch they were issued under; a check refuses any
    /// other. Random at `app add` (so an application removed and added again does not
    /// bring its old tokens back), raised by `token revoke --client`.
    pub token_epoch: u64,
    /// Who it may be granted tokens for (`app add|update --allow-user, --allow-group`).
    pub access: Access,
    /// Its tokens are issued only to requests with a DPoP proof (`app add|update
    /// --require-dpop`), so every one is bound to a key.
    pub require_dpop: bool,
    /// The pages may answer it with the implicit response (`response_type=token`, the
    /// token in the redirect's fragment): only when registered so (`app add|update
    /// --implicit`), since RFC 9700 §2.1.2 advises against it.
    pub implicit: bool,
    /// Tools may sign in to it with the device authorization grant (RFC 8628; `app
    /// add|update --device-grant`), off by default: a person approves on another screen
    /// a request they may not have started (RFC 10027's cross-device phishing).
    pub device_grant: bool,
    /// The bounds of the API tokens people create for it.
    pub api_tokens: ApiTokenTerms,
    /// How long its access tokens live (`app add|update --token-lifetime-seconds`);
    /// `None`: the function's `DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS` (Quay's ten years by
    /// default, so nothing changes for an application that sets none).
    pub token_lifetime: Option<std::time::Duration>,
    /// Whether the code and device grants give it refresh tokens, and their lifetimes
    /// (`app add|update --refresh-tokens`); `None`: none.
    pub refresh: Option<crate::refresh::RefreshTerms>,
}

/// A token as stored: never the token itself, only its id and the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_id: String,
    pub secret_hash: [u8; 32],
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Seconds since the epoch.
    pub issued_at: u64,
    /// Seconds since the epoch; the table's TTL attribute. `None`: never (an API token
    /// of an application whose terms allow it).
    pub expires_at: Option<u64>,
    /// Seconds since the epoch when revoked; a revoked token is never accepted again.
    pub revoked_at: Option<u64>,
    /// The user's generation the token was written under (the login's condition held it
    /// to that generation): what the server saw, so a token is judged by the user it was
    /// issued for, not by when its request was sent.
    pub user_generation: u64,
    /// The application's [`Application::token_epoch`] the token was issued under.
    pub client_epoch: u64,
    /// A DPoP-bound token's key thumbprint (`cnf.jkt`, RFC 9449 §6): it is accepted only
    /// with a proof signed by that key.
    pub jkt: Option<String>,
    /// An API token's name, given by whoever created it ([`crate::api_token`]); `None` for
    /// a token a grant issued.
    pub name: Option<String>,
    /// An API token's last use at the authorizer, seconds since the epoch: written at most
    /// once per [`crate::api_token::LAST_USED_EVERY`].
    pub last_used_at: Option<u64>,
}

/// The application and the user one request needs, read in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub application: Option<Application>,
    pub user: Option<User>,
    /// While users imported with bcrypt hashes remain, the highest cost among them (read
    /// with the user): failed logins are then answered no sooner than such a hash takes.
    pub bcrypt_cost: Option<u32>,
}

/// The user as the login verified it: the token is written only if the user is still so
/// (same hash, same generation, still enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub username: String,
    /// The hash the login verified; `None` when the login happened earlier (a code's
    /// exchange): the generation alone then holds the user to it.
    pub password_hash: Option<String>,
    pub generation: u64,
    /// Replace the password hash in the same write (a bcrypt or outdated argon2 hash that
    /// verified); conditional on the old hash, so a password reset meanwhile wins.
    pub new_password_hash: Option<String>,
}

/// The right to verify one password for a username, held by one attempt at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Random, so only its holder releases it.
    pub id: String,
    /// Past this moment another attempt may take the name, as if it had been released.
    pub until_ms: u64,
}

/// The failed-logins counter's answer to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// This attempt holds the lease; `counts` are the name's failures so far.
    Admitted { counts: Option<FailedLogins> },
    /// The back-off window is not over (`window_until_ms`), or another attempt holds the
    /// lease (`lease_until_ms`): then the attempt may wait its turn.
    Refused {
        window_until_ms: u64,
        lease_until_ms: u64,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StoreError {
    /// A conditional write found the item already there, or changed since it was read.
    #[error("the item already exists")]
    Conflict,
    /// The user changed after the login read it (disabled, password reset, tokens revoked):
    /// nothing was written.
    #[error("the user changed during the login")]
    UserChanged,
    /// The person holds as many live API tokens for the application as it allows: nothing
    /// was written.
    #[error("the cap on live API tokens is reached")]
    CapReached,
    /// DynamoDB could not be reached, throttled, or refused the call.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// An item did not have the expected shape.
    #[error("malformed item: {0}")]
    Corrupt(String),
}

/// Reads the application and the user together; an empty `client_id` reads the user alone.
pub trait LookupReader: Send + Sync {
    fn lookup(
        &self,
        client_id: &str,
        username: Option<&str>,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send;
}

/// The local record of a user who came from a directory: made at the first login, so
/// that the user's tokens are tied to it as a table user's are (generations, `user
/// disable`, `token revoke --user`). It holds no password.
pub trait UserLinker: Send + Sync {
    /// The record keyed `username` (the directory's name in its normal form): written now
    /// if there is none (enabled, `link`, its generation `since`: see [`User::linked`]),
    /// else the one there, read consistently. A record there with no link and nothing of
    /// its own (no password, not a superuser: one a login made before records remembered
    /// their directory) is adopted, the link set and its tokens voided (whose they were is
    /// unknown), on the condition it is still so; any other is returned as it is, for the
    /// caller to refuse when its link is not `link`.
    fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;
}

/// Directory users' local records, for `user sync`: the enabled ones of a directory, and
/// disabling one whose person left the directory or was locked there.
pub trait LinkedUsers: Send + Sync {
    /// A page of the enabled records linked to `directory`, after the record named
    /// `after` (`None`: from the start); the name to continue after, or `None` at the end.
    fn linked_page(
        &self,
        directory: &str,
        after: Option<&str>,
    ) -> impl Future<Output = Result<(Vec<User>, Option<String>), StoreError>> + Send;

    /// Disables the record, raising its generation (its tokens are refused at their next
    /// check), if it is still enabled and still `link`'s; whether this call did it. Of two
    /// syncs at once, one does.
    fn disable_linked(
        &self,
        username: &str,
        link: &DirectoryLink,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A page of the enabled records with no link, no password and no superuser flag: made
    /// by directory logins before records remembered their directory.
    fn unlinked_page(
        &self,
        after: Option<&str>,
    ) -> impl Future<Output = Result<(Vec<User>, Option<String>), StoreError>> + Send;

    /// Disables such a record if it is still so; whether this call did it.
    fn disable_unlinked(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl User {
    /// A directory user's first local record: the directory holds the password. Its
    /// generation, and the one its tokens start from, is `since` (the time it is made, in
    /// ms): above any earlier record of the name's, so a token of someone who held the name
    /// before, and whose record was removed, never comes back to life for this person.
    pub fn linked(username: &str, link: &DirectoryLink, since: u64) -> User {
        User {
            username: username.into(),
            password_hash: String::new(),
            enabled: true,
            superuser: false,
            generation: since,
            tokens_from: since,
            link: Some(link.clone()),
        }
    }

    /// Whether a directory login may adopt this record as its own: nothing on it says it
    /// is anybody's (no link, no password, no operator's superuser flag).
    pub fn is_unclaimed(&self) -> bool {
        self.link.is_none() && self.password_hash.is_empty() && !self.superuser
    }
}

/// Writes a token record, never overwriting an existing one, and only while the user is
/// as the login verified it: [`StoreError::Conflict`] for an existing id,
/// [`StoreError::UserChanged`] when the user changed. The token is also listed under its
/// user in the same write, so operators can find every token of a user at once.
pub trait TokenWriter: Send + Sync {
    fn put_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a check reads: the token by its public id, and its user and its application,
/// whose state decides at check time (a disabled user, tokens void below
/// [`User::tokens_from`], an application removed or its tokens revoked).
pub trait TokenReader: Send + Sync {
    fn get_token(
        &self,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// The token's user and application, in one round trip, read strongly consistently:
    /// an operator's change is seen by the next check.
    fn owner_and_client(
        &self,
        username: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<OwnerAndClient, StoreError>> + Send;

    /// The token with the user and application it names, all in one round trip, read
    /// strongly consistently: the check of a token that carries whom it was issued to.
    fn token_and_parties(
        &self,
        token_id: &str,
        username: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<(Option<TokenRecord>, OwnerAndClient), StoreError>> + Send;
}

/// A token's user and application as they are now (`None`: gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerAndClient {
    pub user: Option<User>,
    pub application: Option<Application>,
}

/// Revokes a token for whoever holds it: the id and the secret's hash must both match.
/// Returns whether a token was revoked now.
pub trait TokenRevoker: Send + Sync {
    fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What a replayed code's exchange does to the token the code gave (RFC 6749 §4.1.2):
/// revokes it by id, and if the first exchange has not written it yet, forbids the id, so
/// that write fails ([`StoreError::Conflict`]) instead of storing a live token.
pub trait TokenCanceller: Send + Sync {
    fn revoke_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Introspection's one read: the calling application and the token together.
pub trait ClientAndToken: Send + Sync {
    fn client_and_token(
        &self,
        client_id: &str,
        token_id: &str,
    ) -> impl Future<Output = Result<(Option<Application>, Option<TokenRecord>), StoreError>> + Send;
}

/// The failed-logins counter of a username, known or not: admits one attempt at a time to
/// password verification, and counts failures. Each call is one conditional write.
pub trait FailureCounter: Send + Sync {
    /// Takes `lease` if the back-off window is over and no other attempt holds one.
    fn admit(
        &self,
        username: &str,
        lease: &Lease,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send;

    /// Counts a failure at `now_ms`, first forgiving `forgiven` of the stored failures
    /// (their decay, [`crate::throttle::decayed`]). While `lease` is still this attempt's,
    /// also sets the next window's end and gives the lease up; when it was lost meanwhile
    /// (it ended and another attempt took the name), the failure is still counted, and
    /// the other attempt's lease is left alone. Returns the new count.
    fn record_failure(
        &self,
        username: &str,
        lease: &Lease,
        failure: &Failure,
    ) -> impl Future<Output = Result<FailedLogins, StoreError>> + Send;

    /// Gives `lease` up, if still held. Never forgets the failures: a success that did
    /// would show a later probe that the name was used (the counts decay instead). Does
    /// nothing when another attempt holds the name now.
    fn release(
        &self,
        username: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A failed verification, as the counter records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub now_ms: u64,
    /// Stored failures decay forgave since the last one: taken off before this one is added.
    pub forgiven: u32,
    /// The next window's end.
    pub next_attempt_ms: u64,
    /// The record's TTL, epoch seconds.
    pub expires_at: u64,
}

/// Every port of the store the request flow uses, as one bound.
pub trait Store:
    LookupReader
    + UserLinker
    + TokenWriter
    + TokenReader
    + TokenRevoker
    + TokenCanceller
    + FailureCounter
    + CodeStore
    + ClientAndToken
    + OneTimeValues
    + SessionStore
    + ConsentStore
    + ApiTokenStore
    + RefreshStore
    + DeviceStore
{
}

impl<T> Store for T where
    T: LookupReader
        + UserLinker
        + TokenWriter
        + TokenReader
        + TokenRevoker
        + TokenCanceller
        + FailureCounter
        + CodeStore
        + ClientAndToken
        + OneTimeValues
        + SessionStore
        + ConsentStore
        + ApiTokenStore
        + RefreshStore
        + DeviceStore
{
}
