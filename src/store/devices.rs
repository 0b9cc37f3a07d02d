//! Device authorizations (RFC 8628, [`crate::device`]): the record, and the port that
//! writes, finds, decides, polls and redeems them.

use std::future::Future;

use super::StoreError;
use crate::device::Decision;

/// A device authorization as stored: never the device code, only its hash. Lives
/// [`crate::device::LIFETIME`] (the table's TTL removes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// SHA-256 of the device code: the key.
    pub device_hash: [u8; 32],
    /// In its normal form ([`crate::device::normalize`]): the second key, for the
    /// verification page.
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Where the tool asked from, for the person to recognise (or not) at the page: the
    /// caller's address and `User-Agent` as the request showed them.
    pub requested_from: String,
    pub user_agent: String,
    /// Seconds since the epoch.
    pub created_at: u64,
    pub expires_at: u64,
    /// The polling interval now, in seconds: raised by each `slow_down`.
    pub interval_secs: u64,
    /// The earliest moment of the next poll that is not too soon, ms since the epoch.
    pub next_poll_ms: u64,
    pub decision: Option<Decision>,
    /// Set by the poll that redeemed it, with the id of the token it issued.
    pub token_id: Option<String>,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// No such device code for this client.
    Unknown,
    /// Before the interval since the last poll was over: the interval is now longer.
    TooSoon(DeviceAuthorization),
    /// In time: the record as it stands.
    InTime(DeviceAuthorization),
}

/// Device authorizations: written once, decided once, redeemed once.
pub trait DeviceStore: Send + Sync {
    /// Writes a new one under its device code's hash and its user code;
    /// [`StoreError::Conflict`] if either is taken.
    fn put_device(
        &self,
        device: &DeviceAuthorization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live one a user code names, read strongly consistently.
    fn device_by_user_code(
        &self,
        user_code: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<Option<DeviceAuthorization>, StoreError>> + Send;

    /// Records the person's decision, only while undecided and unexpired: whether this
    /// call did.
    fn decide_device(
        &self,
        device_hash: &[u8; 32],
        decision: &Decision,
        now_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A poll by `client_id` at `now_ms`: in time when the interval since the last poll in
    /// time is over (the next one then due an interval later), else too soon, the interval
    /// raised by [`crate::device::SLOW_DOWN_STEP`]. Of polls at once on many instances,
    /// one is in time.
    fn poll_device(
        &self,
        device_hash: &[u8; 32],
        client_id: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<Poll, StoreError>> + Send;

    /// Marks an approved one redeemed by `token_id`, once: whether this call did.
    fn redeem_device(
        &self,
        device_hash: &[u8; 32],
        token_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts a wrong user code entered by `username`; the count in the current
    /// [`crate::device::MISS_WINDOW`], this one included.
    fn note_wrong_user_code(
        &self,
        username: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// The wrong user codes `username` entered in the current window.
    fn wrong_user_codes(
        &self,
        username: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}
