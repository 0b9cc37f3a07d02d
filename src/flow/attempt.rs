//! A login attempt's hold on its username: one attempt at a time is admitted to password
//! verification (check 8), and whatever ends the attempt gives the name up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing::warn;

use super::{Deps, Flow};
use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::password::Passwords;
use crate::random::Random;
use crate::store::{Admission, FailureCounter, Lease, Lookup, StoreError};
use crate::{identifier, throttle};

/// Failed-login records live at least this long, so a count is not forgotten between
/// attempts of a slow guesser.
const FAILED_LOGIN_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// A login attempt: the credentials, the key of the name they carry (every spelling of
/// one name shares it, and with it one back-off and one lease), and the id of the lease
/// it asks the counter for.
pub(super) struct Attempt<'a> {
    pub(super) credentials: &'a Credentials,
    pub(super) key: String,
    id: String,
    /// The end of the lease last asked for: set at each admission, from the clock then.
    until_ms: AtomicU64,
}

impl Attempt<'_> {
    /// The lease this attempt asked for last.
    pub(super) fn lease(&self) -> Lease {
        Lease {
            id: self.id.clone(),
            until_ms: self.until_ms.load(Ordering::Relaxed),
        }
    }
}

impl<D: Deps> Flow<D> {
    /// An attempt with a random lease id only it knows.
    pub(super) fn new_attempt<'a>(
        &self,
        credentials: &'a Credentials,
    ) -> Result<Attempt<'a>, ApiError> {
        let mut id = [0u8; 12];
        self.random.fill(&mut id).map_err(|e| {
            warn!(error = %e, "no randomness");
            ApiError::ServerError
        })?;
        Ok(Attempt {
            credentials,
            key: identifier::login_key(&credentials.username),
            id: crate::secret::hex(&id),
            until_ms: AtomicU64::new(0),
        })
    }

    /// Asks for the attempt's turn. Refused only because another attempt holds the name
    /// (no back-off window), it waits its turn within the request: asks again after
    /// growing, jittered pauses until admitted, a window stands in the way, or the next
    /// pause would end past `deadline_ms` (then the refusal is answered as it is). A
    /// refusal with a window is answered at once, so a burst of wrong passwords still
    /// costs one verification per window. Each ask's lease runs from that ask: time spent
    /// waiting for SSM or a turn is never taken from it.
    pub(super) async fn admit(
        &self,
        attempt: &Attempt<'_>,
        deadline_ms: u64,
    ) -> Result<Admission, StoreError> {
        let username = &attempt.key;
        let mut tries = 0;
        loop {
            let now_ms = self.clock.now_ms();
            let until_ms = now_ms + throttle::VERIFY_LEASE.as_millis() as u64;
            attempt.until_ms.store(until_ms, Ordering::Relaxed);
            let admission = self
                .store
                .admit(username, &attempt.lease(), now_ms, self.expiry(now_ms))
                .await?;
            let Admission::Refused {
                window_until_ms,
                lease_until_ms,
            } = admission
            else {
                return Ok(admission);
            };
            let now_ms = self.clock.now_ms();
            // The other attempt's lease ends by itself: no pause past it.
            let pause = throttle::turn_pause(tries, self.jitter())
                .min(Duration::from_millis(lease_until_ms.saturating_sub(now_ms)));
            if window_until_ms > now_ms || now_ms + pause.as_millis() as u64 > deadline_ms {
                return Ok(admission);
            }
            self.clock.sleep(pause).await;
            tries += 1;
        }
    }

    /// A random byte for spreading pauses; the middle when randomness fails (a pause
    /// need not be secret).
    fn jitter(&self) -> u8 {
        let mut byte = [128u8];
        if self.random.fill(&mut byte).is_err() {
            return 128;
        }
        byte[0]
    }

    /// Gives the attempt's lease up; a failure only leaves the name held until the lease
    /// ends, so it is logged, never answered. The failures are kept: they decay with time
    /// alike for every name, so a success leaves nothing a later probe could see.
    pub(super) async fn give_up(&self, attempt: &Attempt<'_>) {
        if let Err(e) = self.store.release(&attempt.key, &attempt.lease()).await {
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
        // Capped well under the lease and the function's timeout (see FLOOR_CAP).
        let floor = self.hasher.failure_floor(cost).min(throttle::FLOOR_CAP);
        let floor = floor.as_millis() as u64;
        let elapsed = self.clock.now_ms().saturating_sub(started_ms);
        if floor > elapsed {
            self.clock
                .sleep(Duration::from_millis(floor - elapsed))
                .await;
        }
    }
}
