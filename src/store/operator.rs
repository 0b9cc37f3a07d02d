//! The operator's ports (the admin CLI's): what disabling a resource owner, revoking its
//! tokens, a password reset and the edits of a client's registration mean, said once here
//! and kept by every store (`tests/it/store_contract/operator.rs`).
//!
//! The rule they share: an action that ends tokens is one write to the user or the
//! application, never a walk over the tokens. A login holds its token write to the user's
//! generation it read ([`super::TokenWriter`]), and a check reads the user and the
//! application ([`super::TokenReader::owner_and_client`]), so a raised generation, a
//! `tokens_from` or a new token epoch reaches every token and every login in flight at
//! once, and a command that fails midway leaves no token working that it meant to end.

use std::future::Future;

use super::{Application, StoreError, TokenRecord, User};

/// Operator actions on resource owners (the users table's users): `user add|disable|
/// enable|set-password`, `token revoke --user`.
pub trait UserAdmin: Send + Sync {
    /// Writes a new user: [`StoreError::Conflict`] when the name is taken (never replaced).
    fn add_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A user, read strongly consistently.
    fn get_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Enables or disables a user, raising its generation (a login in flight writes no
    /// token): one write, which the checks read. An enabled user's tokens that were never
    /// voided work again; a disabled user's are refused. Whether the user exists.
    fn set_user_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the password hash, raising the generation: a login that verified the old
    /// password writes no token. With `void_tokens`, `tokens_from` is raised to the new
    /// generation in the same write, so every token written before is void. Whether the
    /// user exists.
    fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        void_tokens: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `token revoke --user`: raises the generation and `tokens_from` with it in one
    /// write (every token written before, and every one a login in flight would write, is
    /// void; those written after are not), then marks each listed token revoked for the
    /// listings ([`TokenAdmin::mark_user_tokens_revoked`]). How many were marked now, or
    /// `None` when there is no such user.
    fn revoke_user_tokens(
        &self,
        username: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;
}

/// The operator's view of issued tokens: `token list --user`, `token revoke ID`, and the
/// live count a password reset asks about.
pub trait TokenAdmin: Send + Sync {
    /// A user's tokens, newest first.
    fn list_tokens_for_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Revokes one token by its public id; whether it was revoked now (not already, and
    /// there).
    fn revoke_token_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks each of a user's unrevoked tokens revoked; how many. Only for the listings:
    /// the user's `tokens_from` voids them already, whether or not every mark is made.
    fn mark_user_tokens_revoked(
        &self,
        username: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// How many of a user's tokens are neither revoked, void under `tokens_from` nor
    /// expired (whether the user is enabled aside): what a reset would end.
    fn live_token_count(
        &self,
        username: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}

/// Operator actions on client registrations (the applications table): `app add|update|
/// rotate-secret|remove|list`, `token revoke --client`.
///
/// Every write but [`Self::add_application`] raises the registration's edit version, and
/// [`Self::replace_application`] holds to the version its edit read: an edit never undoes
/// another edit, a rotation or a revocation that landed between its read and its write.
pub trait ApplicationAdmin: Send + Sync {
    /// Registers a new application: [`StoreError::Conflict`] when the client id is taken.
    fn add_application(
        &self,
        app: &Application,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An application as an edit reads it, with its edit version (0 for one never edited).
    fn get_application_for_update(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<(Application, u64)>, StoreError>> + Send;

    /// Rewrites an application read at `version`, raising the version, only if nothing
    /// wrote it since: [`StoreError::Conflict`] when something did, or it is gone (read it
    /// again). Of two edits from the same read, one writes.
    fn replace_application(
        &self,
        app: &Application,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `token revoke --client`: a new token epoch, in one write, so every token and code
    /// of the application, and every one a login in flight writes, is refused. Whether
    /// the application exists.
    fn revoke_client_tokens(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A new client secret's hash, touching nothing else. Whether the application exists.
    fn set_client_secret(
        &self,
        client_id: &str,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes an application (its tokens and codes are refused: a check reads it).
    /// Whether it existed.
    fn delete_application(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every application, sorted by client id.
    fn list_applications(
        &self,
    ) -> impl Future<Output = Result<Vec<Application>, StoreError>> + Send;
}
