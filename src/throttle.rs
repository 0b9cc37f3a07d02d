//! Failed-login back-off (contract check 8): after n failures a username is refused for
//! 0.5 s × (2ⁿ − 1), capped, counted from the last failure; and while one attempt is
//! being verified, every other attempt for the name is refused without a verification.

use std::time::Duration;

/// What the failed-login table remembers of a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogins {
    pub failures: u32,
    pub last_failure_ms: u64,
}

/// The window after `failures` failures: 0.5 s × (2ⁿ − 1), at most `cap`.
pub fn window(failures: u32, cap: Duration) -> Duration {
    // Past 2^40 half-seconds any sane cap has long been reached; avoid the overflow.
    let half_seconds = if failures >= 40 {
        u64::MAX
    } else {
        (1u64 << failures) - 1
    };
    let millis = half_seconds.saturating_mul(500);
    Duration::from_millis(millis).min(cap)
}

/// How long an admitted attempt keeps the name to itself. It is given up as soon as the
/// attempt ends; the bound only matters when an instance dies mid-attempt. Well above the
/// slowest verification (bcrypt at cost 12: about 0.4 s at 1,024 MB) plus two writes.
pub const VERIFY_LEASE: Duration = Duration::from_secs(5);

/// When the next attempt may be verified, after the `failures`-th failure at `now_ms`.
pub fn next_attempt_ms(failures: u32, now_ms: u64, cap: Duration) -> u64 {
    now_ms.saturating_add(window(failures, cap).as_millis() as u64)
}

/// `Retry-After` for a refused attempt: the rest of the back-off window, or one second
/// when only another attempt in flight stood in the way.
pub fn refused_retry_after(window_until_ms: u64, now_ms: u64) -> u64 {
    window_until_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
}

/// Whole seconds the name must still wait, or `None` when an attempt may go ahead.
pub fn retry_after(record: Option<&FailedLogins>, now_ms: u64, cap: Duration) -> Option<u64> {
    let record = record?;
    let until = record
        .last_failure_ms
        .saturating_add(window(record.failures, cap).as_millis() as u64);
    (until > now_ms).then(|| (until - now_ms).div_ceil(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(900);

    #[test]
    fn windows_grow_exponentially_up_to_the_cap() {
        assert_eq!(window(0, CAP), Duration::ZERO);
        assert_eq!(window(1, CAP), Duration::from_millis(500));
        assert_eq!(window(2, CAP), Duration::from_millis(1500));
        assert_eq!(window(3, CAP), Duration::from_millis(3500));
        assert_eq!(window(10, CAP), Duration::from_millis(511_500));
        assert_eq!(window(11, CAP), CAP);
        assert_eq!(window(u32::MAX, CAP), CAP);
    }

    #[test]
    fn next_attempts_and_refusals() {
        assert_eq!(next_attempt_ms(1, 10_000, CAP), 10_500);
        assert_eq!(next_attempt_ms(40, 10_000, CAP), 910_000);
        assert_eq!(refused_retry_after(13_500, 10_000), 4);
        assert_eq!(
            refused_retry_after(0, 10_000),
            1,
            "a lease alone: one second"
        );
    }

    #[test]
    fn retry_after_rounds_up_and_ends() {
        let rec = FailedLogins {
            failures: 3,
            last_failure_ms: 10_000,
        };
        assert_eq!(retry_after(Some(&rec), 10_000, CAP), Some(4));
        assert_eq!(retry_after(Some(&rec), 13_000, CAP), Some(1));
        assert_eq!(retry_after(Some(&rec), 13_500, CAP), None);
        assert_eq!(retry_after(None, 0, CAP), None);
    }
}
