//! The port of what a person holds: each application they granted on the pages (the
//! scopes consented) and their API tokens, with the application's cap on live API tokens
//! kept under concurrency; and the authorizer's record of an API token's last use.

use std::collections::BTreeSet;
use std::future::Future;

use super::{Application, StoreError, TokenRecord, Verified};
use crate::api_token::Cap;

/// One application a person granted, or holds API tokens for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedApplication {
    pub client_id: String,
    /// What the person consented to on the pages (empty: API tokens only).
    pub scopes: BTreeSet<String>,
}

/// Everything a person holds, as the Tokens and Authorized applications pages show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    pub applications: Vec<AuthorizedApplication>,
    /// Every token listed under the person (revoked and expired ones too, until their
    /// records are gone), in no particular order.
    pub tokens: Vec<TokenRecord>,
}

/// API tokens and authorized applications by person.
pub trait ApiTokenStore: Send + Sync {
    /// Writes an API token as [`super::TokenWriter::put_token`] does (held to the user's
    /// generation), if the person holds fewer than `cap.most` API tokens for the
    /// application that still count ([`Cap::counts`]): [`StoreError::CapReached`]
    /// otherwise. Of many creations at once, no more than the cap are live.
    fn create_api_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
        cap: &Cap,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes `username`'s token `token_id` (a revoked token no longer counts against the
    /// cap, however it was revoked); whether it was revoked now (`false`: not theirs, not
    /// there, or revoked already).
    fn revoke_api_token(
        &self,
        username: &str,
        token_id: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every registered application, sorted by client id: the Tokens page offers those
    /// that take the person's tokens.
    fn applications(&self) -> impl Future<Output = Result<Vec<Application>, StoreError>> + Send;

    /// What `username` holds, read strongly consistently.
    fn holdings(&self, username: &str)
    -> impl Future<Output = Result<Holdings, StoreError>> + Send;

    /// Ends `username`'s access to `client_id`: revokes each of their tokens of the
    /// application and forgets its authorization (its consent asked again next time); how many
    /// tokens were revoked now.
    fn revoke_access(
        &self,
        username: &str,
        client_id: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}

/// The authorizer's one write: an API token's last use.
pub trait TokenUse: Send + Sync {
    /// Records a use at `now_secs` unless one after `since` is recorded already (so
    /// many instances at once write it once), or the token is gone.
    fn record_use(
        &self,
        token_id: &str,
        now_secs: u64,
        since: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
