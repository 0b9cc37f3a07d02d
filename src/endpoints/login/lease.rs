//! A login attempt's lease on its username: one attempt at a time is admitted to password
//! verification (check 8). The lease releases itself: whatever ends the attempt (a
//! refusal, a failure counted, a token written) ends the lease once, and a lease never
//! admitted has nothing to give up.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tracing::warn;

use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::random::Random;
use crate::store::{Admission, FailedLogins, Failure, FailureCounter, Lease, StoreError};
use crate::{identifier, throttle};

/// Failed-login records live at least this long, so a count is not forgotten between
/// attempts of a slow guesser.
const FAILED_LOGIN_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Where the lease stands.
const NOT_HELD: u8 = 0;
const HELD: u8 = 1;
const ENDED: u8 = 2;

/// The lease of one login attempt: the key of the name the credentials carry (every
/// spelling of one name shares it, and with it one back-off and one lease), and the random
/// id of the lease it asks the failure counter for.
pub(in crate::endpoints) struct LoginLease<'a, S: FailureCounter> {
    store: &'a S,
    key: String,
    id: String,
    backoff_cap: Duration,
    /// The end of the lease last asked for: set at each admission, from the clock then.
    until_ms: AtomicU64,
    state: AtomicU8,
}

impl<'a, S: FailureCounter> LoginLease<'a, S> {
    /// A lease for `credentials`' name, with a random id only this attempt knows.
    pub(in crate::endpoints) fn new(
        store: &'a S,
        random: &impl Random,
        credentials: &Credentials,
        backoff_cap: Duration,
    ) -> Result<Self, ApiError> {
        let mut id = [0u8; 12];
        random.fill(&mut id).map_err(|e| {
            warn!(error = %e, "no randomness");
            ApiError::ServerError
        })?;
        Ok(LoginLease {
            store,
            key: identifier::login_key(&credentials.username),
            id: crate::secret::hex(&id),
            backoff_cap,
            until_ms: AtomicU64::new(0),
            state: AtomicU8::new(NOT_HELD),
        })
    }

    /// The name's key (the users table's and the counter's).
    pub(in crate::endpoints) fn key(&self) -> &str {
        &self.key
    }

    fn lease(&self) -> Lease {
        Lease {
            id: self.id.clone(),
            until_ms: self.until_ms.load(Ordering::Relaxed),
        }
    }

    /// Asks for the attempt's turn. Refused only because another attempt holds the name
    /// (no back-off window), it waits its turn within the request: asks again after
    /// growing, jittered pauses until admitted, a window stands in the way, or the next
    /// pause would end past `deadline_ms` (then the refusal is answered as it is). A
    /// refusal with a window is answered at once, so a burst of wrong passwords still
    /// costs one verification per window. Each ask's lease runs from that ask: time spent
    /// waiting for SSM or a turn is never taken from it.
    pub(in crate::endpoints) async fn admit(
        &self,
        clock: &impl Clock,
        random: &impl Random,
        deadline_ms: u64,
    ) -> Result<Admission, StoreError> {
        let mut tries = 0;
        loop {
            let now_ms = clock.now_ms();
            let until_ms = now_ms + throttle::VERIFY_LEASE.as_millis() as u64;
            self.until_ms.store(until_ms, Ordering::Relaxed);
            let expires_at = self.expiry(now_ms);
            let lease = self.lease();
            let admission = self.store.admit(&self.key, &lease, now_ms, expires_at);
            let admission = admission.await?;
            let Admission::Refused {
                window_until_ms,
                lease_until_ms,
            } = admission
            else {
                self.state.store(HELD, Ordering::Relaxed);
                return Ok(admission);
            };
            let now_ms = clock.now_ms();
            // The other attempt's lease ends by itself: no pause past it.
            let pause = throttle::turn_pause(tries, jitter(random))
                .min(Duration::from_millis(lease_until_ms.saturating_sub(now_ms)));
            if window_until_ms > now_ms || now_ms + pause.as_millis() as u64 > deadline_ms {
                return Ok(admission);
            }
            clock.sleep(pause).await;
            tries += 1;
        }
    }

    /// Counts a failed verification at `failed_ms` under this lease (the write gives the
    /// lease up while it is still this attempt's). The window runs from the failure, not
    /// from when the request came in; the stored count decayed since the last failure,
    /// alike for every name.
    pub(in crate::endpoints) async fn count_failure(
        &self,
        counts: Option<&FailedLogins>,
        failed_ms: u64,
    ) -> Result<(), StoreError> {
        self.state.store(ENDED, Ordering::Relaxed);
        let cap = self.backoff_cap;
        let failures = throttle::failures_after(counts, failed_ms, cap);
        let stored = counts.map_or(0, |c| c.failures);
        let failure = Failure {
            now_ms: failed_ms,
            forgiven: stored.saturating_sub(failures - 1),
            next_attempt_ms: throttle::next_attempt_ms(failures, failed_ms, cap),
            expires_at: self.expiry(failed_ms),
        };
        let lease = self.lease();
        let recorded = self.store.record_failure(&self.key, &lease, &failure);
        recorded.await.map(|_| ())
    }

    /// Gives the lease up if this attempt holds it, once; a failure only leaves the name
    /// held until the lease ends, so it is logged, never answered. The failures are kept:
    /// they decay with time alike for every name, so a success leaves nothing a later
    /// probe could see.
    pub(in crate::endpoints) async fn release(&self) {
        let held = self
            .state
            .compare_exchange(HELD, ENDED, Ordering::Relaxed, Ordering::Relaxed);
        if held.is_err() {
            return;
        }
        if let Err(e) = self.store.release(&self.key, &self.lease()).await {
            warn!(error = %e, "could not release a login attempt");
        }
    }

    /// When a failed-logins record may be forgotten (its TTL), in epoch seconds.
    fn expiry(&self, now_ms: u64) -> u64 {
        (now_ms / 1000) + FAILED_LOGIN_MEMORY.max(self.backoff_cap).as_secs()
    }
}

/// A random byte for spreading pauses; the middle when randomness fails (a pause need not
/// be secret).
fn jitter(random: &impl Random) -> u8 {
    let mut byte = [128u8];
    if random.fill(&mut byte).is_err() {
        return 128;
    }
    byte[0]
}
