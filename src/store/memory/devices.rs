//! Device authorizations in memory, each operation one step under the store's lock, as
//! DynamoDB's conditional writes are.

use super::MemoryStore;
use crate::device::{Decision, MISS_WINDOW, SLOW_DOWN_STEP};
use crate::store::{DeviceAuthorization, DeviceStore, Poll, StoreError};

impl DeviceStore for MemoryStore {
    async fn put_device(&self, device: &DeviceAuthorization) -> Result<(), StoreError> {
        self.with(|i| {
            // A user code is taken while its request lives (DynamoDB's condition).
            let live = |d: &&DeviceAuthorization| d.expires_at > device.created_at;
            let code_taken = i
                .devices
                .values()
                .filter(live)
                .any(|d| d.user_code == device.user_code);
            if code_taken || i.devices.contains_key(&device.device_hash) {
                return Err(StoreError::Conflict);
            }
            i.devices.insert(device.device_hash, device.clone());
            Ok(())
        })
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
        now_secs: u64,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        self.with(|i| {
            // An expired request may keep its user code until the TTL runs, as in DynamoDB.
            let live =
                |d: &&DeviceAuthorization| d.user_code == user_code && d.expires_at > now_secs;
            Ok(i.devices.values().find(live).cloned())
        })
    }

    async fn decide_device(
        &self,
        device_hash: &[u8; 32],
        decision: &Decision,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.with(|i| match i.devices.get_mut(device_hash) {
            Some(d) if d.decision.is_none() && d.expires_at > now_secs => {
                d.decision = Some(decision.clone());
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn poll_device(
        &self,
        device_hash: &[u8; 32],
        client_id: &str,
        now_ms: u64,
    ) -> Result<Poll, StoreError> {
        self.with(|i| {
            let Some(d) = i
                .devices
                .get_mut(device_hash)
                .filter(|d| d.client_id == client_id)
            else {
                return Ok(Poll::Unknown);
            };
            if d.next_poll_ms > now_ms {
                d.interval_secs += SLOW_DOWN_STEP.as_secs();
                d.next_poll_ms = now_ms + d.interval_secs * 1000;
                return Ok(Poll::TooSoon(d.clone()));
            }
            d.next_poll_ms = now_ms + d.interval_secs * 1000;
            Ok(Poll::InTime(d.clone()))
        })
    }

    async fn redeem_device(
        &self,
        device_hash: &[u8; 32],
        token_id: &str,
    ) -> Result<bool, StoreError> {
        self.with(|i| match i.devices.get_mut(device_hash) {
            Some(d)
                if d.token_id.is_none()
                    && matches!(d.decision, Some(Decision::Approved { .. })) =>
            {
                d.token_id = Some(token_id.to_string());
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn note_wrong_user_code(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.with(|i| {
            let entry = i
                .user_code_misses
                .entry(username.to_string())
                .or_insert((0, 0));
            if entry.0 <= now_secs {
                *entry = (now_secs + MISS_WINDOW.as_secs(), 0);
            }
            entry.1 += 1;
            Ok(entry.1)
        })
    }

    async fn wrong_user_codes(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.with(|i| {
            let entry = i.user_code_misses.get(username);
            Ok(entry
                .filter(|(until, _)| *until > now_secs)
                .map_or(0, |(_, n)| *n))
        })
    }
}
