//! Failed-login back-off (contract check 8): after n failures a username is refused for
//! 0.5 s × (2ⁿ − 1), capped, counted from the last failure; while one attempt is being
//! verified, every other attempt for the name waits its turn without a verification; and
//! counts decay with time alike for every name, never reset by a success, so no answer
//! tells whether someone logged in as a name.

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
/// attempt ends; the bound only matters when an instance dies mid-attempt. Counted from
/// the admission, not the request's start. Well above the slowest verification (bcrypt at
/// the highest cost import-quay accepts, 14: about 1.6 s at 1,024 MB) plus two writes.
pub const VERIFY_LEASE: Duration = Duration::from_secs(5);

/// The most a failed login waits for the bcrypt timing floor. The failure is counted
/// before the wait, so the floor cannot outlast the lease's count, but the request still
/// must end well inside the lease and the function's timeout: 2 s covers cost 14 (about
/// 0.9 s of a core on the bench machine) with room, and is under half the lease.
pub const FLOOR_CAP: Duration = Duration::from_secs(2);

/// One failure is forgiven per this much quiet since a name's last failure, for every name
/// alike. Never shorter than the back-off cap, so a guesser at the cap's pace gains nothing.
pub const FORGIVE_AFTER: Duration = Duration::from_secs(15 * 60);

/// The failures still held against a name at `now_ms`: one forgiven per quiet period
/// (`FORGIVE_AFTER`, or the cap if longer) since the last failure.
pub fn decayed(record: Option<&FailedLogins>, now_ms: u64, cap: Duration) -> u32 {
    let Some(record) = record else {
        return 0;
    };
    let quiet = FORGIVE_AFTER.max(cap).as_millis().max(1) as u64;
    let periods = now_ms.saturating_sub(record.last_failure_ms) / quiet;
    let forgiven = u32::try_from(periods).unwrap_or(u32::MAX);
    record.failures.saturating_sub(forgiven)
}

/// The pause before an attempt that met another's lease asks again: 25 ms doubling per
/// try up to 400 ms, with `jitter` (0-255) spreading it over ½-1½ of that, so instances
/// that met the same lease do not all ask at the same moment.
pub fn turn_pause(tries: u32, jitter: u8) -> Duration {
    let base = (25u64 << tries.min(4)).min(400);
    Duration::from_millis(base / 2 + base * u64::from(jitter) / 255)
}

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

/// The failed-login count a new failure at `now_ms` leaves: what decay left, plus one.
pub fn failures_after(record: Option<&FailedLogins>, now_ms: u64, cap: Duration) -> u32 {
    decayed(record, now_ms, cap).saturating_add(1)
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

    #[test]
    fn counts_decay_one_per_quiet_period_for_every_name() {
        let rec = FailedLogins {
            failures: 3,
            last_failure_ms: 10_000,
        };
        let quiet = FORGIVE_AFTER.as_millis() as u64;
        assert_eq!(decayed(Some(&rec), 10_000, CAP), 3);
        assert_eq!(decayed(Some(&rec), 10_000 + quiet - 1, CAP), 3);
        assert_eq!(decayed(Some(&rec), 10_000 + quiet, CAP), 2);
        assert_eq!(decayed(Some(&rec), 10_000 + 3 * quiet, CAP), 0);
        assert_eq!(decayed(Some(&rec), u64::MAX, CAP), 0);
        assert_eq!(decayed(None, 10_000, CAP), 0);
        assert_eq!(failures_after(Some(&rec), 10_000 + quiet, CAP), 3);
        // A cap longer than the quiet period sets the pace instead.
        let long = Duration::from_secs(3600);
        assert_eq!(decayed(Some(&rec), 10_000 + quiet, long), 3);
        assert_eq!(decayed(Some(&rec), 10_000 + 3_600_000, long), 2);
    }

    #[test]
    fn turns_are_asked_again_after_growing_jittered_pauses() {
        assert_eq!(turn_pause(0, 0), Duration::from_millis(12));
        assert_eq!(turn_pause(0, 255), Duration::from_millis(37));
        assert_eq!(turn_pause(1, 0), Duration::from_millis(25));
        assert_eq!(turn_pause(4, 255), Duration::from_millis(600));
        assert_eq!(turn_pause(40, 0), Duration::from_millis(200), "capped");
    }
}
