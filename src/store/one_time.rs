//! The port of DPoP's one-time values (see [`OneTimeValues`]).

use std::future::Future;

use super::StoreError;

/// Values that may be used once, or for a short while: DPoP proofs' replay keys, and the
/// server's DPoP nonces. Each is one item with an expiry that is checked on every read as
/// well as left to the table's TTL (which removes items only eventually).
pub trait OneTimeValues: Send + Sync {
    /// Records a proof's replay key until `keep_until` (epoch seconds) in one conditional
    /// write: `true` when this is its first use, `false` when a use is already recorded and
    /// not yet past its time. Of two instances recording one key at once, one gets `true`.
    fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a nonce the server hands out, valid until `expires_at`.
    fn put_nonce(
        &self,
        nonce: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `nonce` is one the server handed out and still valid (read consistently).
    fn nonce_is_current(
        &self,
        nonce: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
