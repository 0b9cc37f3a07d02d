//! The port of DPoP's one-time values (see [`OneTimeValues`]).

use std::future::Future;

use super::StoreError;

/// What DPoP needs kept across instances: the proofs used (each may be used once), and
/// the secret that signs the server's nonces (`crate::dpop::nonce`), so that a nonce is
/// checked with no read and refused with no write.
pub trait OneTimeValues: Send + Sync {
    /// Records a proof's replay key until `keep_until` (epoch seconds) in one conditional
    /// write: `true` when this is its first use, `false` when a use is already recorded and
    /// not yet past its time. Of two instances recording one key at once, one gets `true`.
    /// The expiry is checked on every write as well as left to the table's TTL (which
    /// removes items only eventually).
    fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The nonces' secret, the same for every instance: `fresh` is kept if there is none
    /// yet (one write, the first time any instance asks), else the one there is returned.
    fn nonce_secret(
        &self,
        fresh: [u8; 32],
    ) -> impl Future<Output = Result<[u8; 32], StoreError>> + Send;
}
