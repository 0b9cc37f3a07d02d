//! A login attempt's hold on its username: one attempt at a time is admitted to password
//! verification (check 8), and whatever ends the attempt gives the name up.

use std::time::Duration;

use tracing::warn;

use super::{Deps, Flow};
use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::password::Passwords;
use crate::random::Random;
use crate::store::{Admission, FailureCounter, Lease, Lookup, StoreError};
use crate::throttle;

/// Failed-login records live at least this long, so a count is not forgotten between
/// attempts of a slow guesser.
const FAILED_LOGIN_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// A login attempt: the credentials, and the lease it asks the counter for.
pub(super) struct Attempt<'a> {
    pub(super) credentials: &'a Credentials,
    pub(super) lease: Lease,
}

impl<D: Deps> Flow<D> {
    /// A lease on the attempt's name, with a random id only this attempt knows.
    pub(super) fn new_lease(&self, now_ms: u64) -> Result<Lease, ApiError> {
        let mut id = [0u8; 12];
        self.random.fill(&mut id).map_err(|e| {
            warn!(error = %e, "no randomness");
            ApiError::ServerError
        })?;
        Ok(Lease {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            until_ms: now_ms + throttle::VERIFY_LEASE.as_millis() as u64,
        })
    }

    pub(super) async fn admit(
        &self,
        attempt: &Attempt<'_>,
        now_ms: u64,
    ) -> Result<Admission, StoreError> {
        let username = &attempt.credentials.username;
        self.store
            .admit(username, &attempt.lease, now_ms, self.expiry(now_ms))
            .await
    }

    /// Gives the attempt's lease up; a failure only leaves the name held until the lease
    /// ends, so it is logged, never answered.
    pub(super) async fn give_up(&self, attempt: &Attempt<'_>, reset: bool) {
        let username = &attempt.credentials.username;
        if let Err(e) = self.store.release(username, &attempt.lease, reset).await {
            warn!(error = %e, "could not release a login attempt");
        }
    }

    /// When a failed-logins record may be forgotten (its TTL), in epoch seconds.
    pub(super) fn expiry(&self, now_ms: u64) -> u64 {
        (now_ms / 1000) + FAILED_LOGIN_MEMORY.max(self.settings.backoff_cap).as_secs()
    }

    /// While imported bcrypt hashes remain, a failed verification takes no less than the
    /// slowest of them (a wait, not CPU): an unknown or argon2 name must not answer faster
    /// than an imported one.
    pub(super) async fn hold_to_the_slowest(&self, lookup: &Lookup, started_ms: u64) {
        let Some(cost) = lookup.bcrypt_cost else {
            return;
        };
        let floor = self.hasher.failure_floor(cost).as_millis() as u64;
        let elapsed = self.clock.now_ms().saturating_sub(started_ms);
        if floor > elapsed {
            self.clock
                .sleep(Duration::from_millis(floor - elapsed))
                .await;
        }
    }
}
