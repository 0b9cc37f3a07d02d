//! How long verifications take on this instance, so that while imported bcrypt hashes
//! remain, a failed login can be answered no sooner than the slowest verification in use.
//! Without that, an unknown name (argon2's dummy, ~15 ms) answers faster than an imported
//! one (bcrypt at cost 12, ~220 ms), and timing tells which names were imported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// bcrypt at cost 12 over argon2id at the shipped parameters, one core: 221 / 13.8 ms on
/// the bench machine, with a quarter added for machines where bcrypt fares worse. Used
/// until this instance has timed a bcrypt verification of its own.
const BCRYPT12_OVER_ARGON2: u64 = 20;

/// The slowest verifications seen, in nanoseconds (0: none yet).
#[derive(Debug, Default)]
pub(super) struct Timings {
    argon2: AtomicU64,
    /// Scaled to cost 12: each step of bcrypt's cost doubles its work.
    bcrypt12: AtomicU64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `d` at cost `from` as it would be at cost `to`.
fn scale(d: u64, from: u32, to: u32) -> u64 {
    let (from, to) = (from.min(31), to.min(31));
    if to >= from {
        d.saturating_mul(1 << (to - from))
    } else {
        d >> (from - to)
    }
}

impl Timings {
    pub(super) fn argon2(&self, took: Duration) {
        self.argon2.fetch_max(nanos(took), Ordering::Relaxed);
    }

    pub(super) fn bcrypt(&self, cost: u32, took: Duration) {
        let at12 = scale(nanos(took), cost, 12);
        self.bcrypt12.fetch_max(at12, Ordering::Relaxed);
    }

    /// How long a bcrypt verification at `cost` takes here: timed if this instance has
    /// seen one, else estimated from its argon2 verifications.
    pub(super) fn bcrypt_estimate(&self, cost: u32) -> Duration {
        let seen = self.bcrypt12.load(Ordering::Relaxed);
        let at12 = if seen > 0 {
            seen
        } else {
            self.argon2
                .load(Ordering::Relaxed)
                .saturating_mul(BCRYPT12_OVER_ARGON2)
        };
        Duration::from_nanos(scale(at12, 12, cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_scale_with_the_cost_and_prefer_what_was_timed() {
        let t = Timings::default();
        assert_eq!(t.bcrypt_estimate(12), Duration::ZERO, "nothing timed yet");
        t.argon2(Duration::from_millis(10));
        assert_eq!(t.bcrypt_estimate(12), Duration::from_millis(200));
        assert_eq!(t.bcrypt_estimate(13), Duration::from_millis(400));
        t.bcrypt(10, Duration::from_millis(60));
        assert_eq!(
            t.bcrypt_estimate(12),
            Duration::from_millis(240),
            "timed, scaled"
        );
        assert_eq!(t.bcrypt_estimate(11), Duration::from_millis(120));
        t.bcrypt(12, Duration::from_millis(100));
        assert_eq!(
            t.bcrypt_estimate(12),
            Duration::from_millis(240),
            "the slowest stays"
        );
    }
}
