//! The port of browser sessions' records (see [`crate::session`]).

use std::future::Future;

use super::StoreError;
use crate::session::Session;

/// Where sessions are kept, by the hash of their cookie's id. Every instance sees every
/// session: a sign-out on one ends it on all.
pub trait SessionStore: Send + Sync {
    /// Writes a new session, never over an existing key ([`StoreError::Conflict`]).
    fn put_session(&self, session: &Session)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session keyed `key`, read strongly consistently (`None`: none, or ended).
    fn session(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Records a use at `now_secs`, if the session is still there (a sign-out meanwhile
    /// is not undone).
    fn touch_session(
        &self,
        key: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends the session (sign-out); nothing to do when it is gone already.
    fn end_session(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
