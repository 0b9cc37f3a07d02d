//! Refresh token families ([`crate::refresh`]): the record, and the port that reads,
//! starts, rotates and revokes them.

use std::collections::BTreeMap;
use std::future::Future;

use super::{StoreError, TokenRecord, Verified};

/// A family as stored: never a refresh token, only the hash of its live one's secret (and
/// of the one the last rotation retired), with what it was granted for. Keyed by its id;
/// the table's TTL removes it after its absolute lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub family_id: String,
    pub username: String,
    pub client_id: String,
    /// What the person granted: a refresh may ask for fewer, never more.
    pub scopes: Vec<String>,
    /// The user's generation at the last write (the start or a rotation), held by that
    /// write's condition.
    pub user_generation: u64,
    /// The application's token epoch at the start: `token revoke --client` since ends it.
    pub client_epoch: u64,
    /// The DPoP key a public client's family is bound to (RFC 9449 §5): only a proof by
    /// it refreshes.
    pub jkt: Option<String>,
    /// SHA-256 of the live refresh token's secret.
    pub current_hash: [u8; 32],
    /// SHA-256 of the one the last rotation retired.
    pub previous_hash: Option<[u8; 32]>,
    /// Seconds since the epoch, as every time here.
    pub created_at: u64,
    /// The end of the idle lifetime, moved on by each rotation.
    pub idle_until: u64,
    /// Until when the retired token may be presented once more (a client's retry).
    pub grace_until: u64,
    /// The end of the absolute lifetime; the table's TTL attribute.
    pub expires_at: u64,
    pub revoked_at: Option<u64>,
    /// The access tokens it issued that may still be live, by id, with their expiry:
    /// what its revocation revokes. Expired ones are dropped at each rotation.
    pub access_tokens: BTreeMap<String, u64>,
}

/// Refresh token families: read, written under a condition on what was read, revoked.
pub trait RefreshStore: Send + Sync {
    /// The family, read strongly consistently; `None` if there is none.
    fn family(
        &self,
        family_id: &str,
    ) -> impl Future<Output = Result<Option<RefreshFamily>, StoreError>> + Send;

    /// Writes the family as it is to be and the access token it issues, in one write held
    /// to the user as verified: a new family when `seen` is `None` (its id unused), a
    /// rotation when `seen` is the live token's hash as read (still live, not revoked).
    /// [`StoreError::Conflict`] when the family changed since (another refresh won),
    /// [`StoreError::UserChanged`] when the user did; nothing is then written.
    fn write_family(
        &self,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
        token: &TokenRecord,
        user: &Verified,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes the family and the access tokens it issued; a family revoked already, or
    /// none, is left as it is.
    fn revoke_family(
        &self,
        family_id: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
