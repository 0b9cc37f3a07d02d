//! The directory port: where a password is checked when the users come from a directory
//! an organisation already has, instead of from the users table.
//!
//! - [`ldap`]: a search with a service account, then a bind as the user's DN;
//! - [`cognito`]: a user pool's `AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH`;
//! - [`memory`]: a fake for the flow's tests (`test-support`).
//!
//! All three pass one contract suite (`tests/it/directory_contract/`): the fake always,
//! LDAP against a real `slapd`, Cognito against moto. Without a directory the flow
//! verifies the users table's own hashes, as it always has.
//!
//! The flow around a directory is the same as around the users table: the back-off and
//! one verification per name at a time stand in front of it, and the user's local record
//! (made at the first login) ties the tokens to the user, so `user disable`, `token revoke
//! --user` and the authorizer work alike for every backend.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use thiserror::Error;

pub mod cognito;
pub mod ldap;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;

/// Who the directory says a user is, whatever spelling was typed: what the local record,
/// the tokens and the allow-lists are keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The login name as the directory holds it (LDAP: the login attribute read back from
    /// the entry; Cognito: `cognito:username`).
    pub username: String,
    /// What stays the person's when names change (LDAP: `entryUUID` or the configured
    /// attribute, else the DN; Cognito: `sub`): `user sync` finds the person by it.
    pub id: String,
}

/// What the directory said of a user and a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password is the user's: who the user is, and the groups the directory puts
    /// the user in.
    Accepted {
        identity: Identity,
        groups: BTreeSet<String>,
    },
    /// An unknown user, a wrong or empty password, or a user the directory disabled or
    /// locked: one answer, so nothing tells them apart.
    Refused,
}

/// Where the person a local record was made for stands in the directory now (`user
/// sync`): still there and free to sign in, there but locked or disabled, or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    Locked,
    Gone,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Locked => "locked",
            Standing::Gone => "gone",
        }
    }
}

/// The directory could not answer: never a refusal (a 401 would count a failure the user
/// did not make), always a 503 and no token.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("directory unreachable: {0}")]
    Unreachable(String),
    #[error("directory gave no answer within {0:?}")]
    TimedOut(Duration),
    /// The service account's bind was refused, or the directory answered something the
    /// adapter cannot read: an operator's problem, never the user's.
    #[error("directory misconfigured: {0}")]
    Misconfigured(String),
}

/// Checks a user's password, within `within` (the rest of the invocation's budget).
pub trait Directory: Send + Sync {
    /// Which directory this is (`ldap`, `cognito`): a local record remembers it, and a
    /// login through another never takes the record over.
    fn kind(&self) -> &'static str;

    fn authenticate(
        &self,
        username: &str,
        password: &str,
        within: Duration,
    ) -> impl Future<Output = Result<Verdict, DirectoryError>> + Send;

    /// Where the person whose immutable id is `id` ([`Identity::id`]) stands now.
    fn standing(
        &self,
        id: &str,
        within: Duration,
    ) -> impl Future<Output = Result<Standing, DirectoryError>> + Send;
}

/// No directory: the type of a flow that verifies the users table's hashes. Never asked.
pub enum NoDirectory {}

impl Directory for NoDirectory {
    fn kind(&self) -> &'static str {
        match *self {}
    }

    async fn authenticate(&self, _: &str, _: &str, _: Duration) -> Result<Verdict, DirectoryError> {
        match *self {}
    }

    async fn standing(&self, _: &str, _: Duration) -> Result<Standing, DirectoryError> {
        match *self {}
    }
}

/// Bounds `op` by `within`: a directory that hangs costs the request its budget, not the
/// function its timeout.
pub(crate) async fn within<T>(
    within: Duration,
    op: impl Future<Output = Result<T, DirectoryError>>,
) -> Result<T, DirectoryError> {
    tokio::time::timeout(within, op)
        .await
        .unwrap_or(Err(DirectoryError::TimedOut(within)))
}
