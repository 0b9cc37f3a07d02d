//! The store's port: what the function keeps (models), the small traits the request flow
//! needs, and their adapters.
//!
//! - [`dynamodb`]: the real store;
//! - [`memory`]: an in-memory store for fast tests of the flow.
//!
//! Both pass one contract suite (`tests/it/store_contract.rs`): the memory store always,
//! the DynamoDB store against moto.

use std::collections::BTreeSet;
use std::future::Future;

use thiserror::Error;

pub use crate::throttle::FailedLogins;

pub mod dynamodb;
pub mod memory;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// PHC argon2id string, or a bcrypt hash imported from Quay.
    pub password_hash: String,
    pub enabled: bool,
    pub superuser: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub client_id: String,
    pub name: String,
    /// In registration order; each passed [`crate::redirect::validate_registration`].
    pub redirect_uris: Vec<String>,
    /// Scopes the application may ever be granted; `None` means the whole catalogue.
    pub scope_ceiling: Option<BTreeSet<String>>,
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
    /// Seconds since the epoch; the table's TTL attribute.
    pub expires_at: u64,
    /// Seconds since the epoch when revoked; a revoked token is never accepted again.
    pub revoked_at: Option<u64>,
    /// Set on every token of a disabled user (so a check reads one item), cleared on enable.
    pub user_disabled: bool,
}

/// Everything one request needs, read in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub application: Option<Application>,
    pub user: Option<User>,
    pub failed_logins: Option<FailedLogins>,
}

/// What else to write with a token after a successful login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterLogin {
    /// Delete the failed-login record (only when there is one: saves a write).
    pub reset_failures: bool,
    /// Replace the user's password hash (a bcrypt or outdated argon2 hash that verified).
    pub new_password_hash: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StoreError {
    /// A conditional write found the item already there.
    #[error("the item already exists")]
    Conflict,
    /// DynamoDB could not be reached, throttled, or refused the call.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// An item did not have the expected shape.
    #[error("malformed item: {0}")]
    Corrupt(String),
}

/// Reads the application, the user and the user's failed logins together.
pub trait Directory: Send + Sync {
    fn lookup(
        &self,
        client_id: &str,
        username: Option<&str>,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send;
}

/// Writes a token record, never overwriting an existing one.
pub trait TokenWriter: Send + Sync {
    fn put_token(
        &self,
        token: &TokenRecord,
        after: &AfterLogin,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Reads one token record by its public id (the authorizer's one read).
pub trait TokenReader: Send + Sync {
    fn get_token(
        &self,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;
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

/// Counts a failed login for a username, known or not, and returns the new count.
pub trait FailureCounter: Send + Sync {
    fn record_failure(
        &self,
        username: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<FailedLogins, StoreError>> + Send;
}
