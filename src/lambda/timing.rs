//! The time a request spends on password hashing (verifications, and the rehash of a login
//! on old parameters), for its log line: the password port wrapped, so the core keeps no
//! clock it does not decide with.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::password::{HashError, Passwords, Verification};

/// The hashing time a [`TimedPasswords`] added up, read by the request's log line.
#[derive(Debug, Clone, Default)]
pub struct HashingTime(Arc<AtomicU64>);

impl HashingTime {
    /// The hashing time so far, starting afresh.
    pub fn take(&self) -> Duration {
        Duration::from_nanos(self.0.swap(0, Ordering::Relaxed))
    }
}

/// A [`Passwords`] that adds up the time its hashing takes.
pub struct TimedPasswords<P> {
    inner: P,
    time: HashingTime,
}

impl<P> TimedPasswords<P> {
    pub fn new(inner: P) -> Self {
        TimedPasswords {
            inner,
            time: HashingTime::default(),
        }
    }

    /// A handle on the time added up, for the log line.
    pub fn time(&self) -> HashingTime {
        self.time.clone()
    }

    fn timed<T>(&self, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let done = work();
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.time.0.fetch_add(ns, Ordering::Relaxed);
        done
    }
}

impl<P: Passwords> Passwords for TimedPasswords<P> {
    fn verify(&self, stored: &str, password: &str) -> Verification {
        self.timed(|| self.inner.verify(stored, password))
    }

    fn verify_dummy(&self, password: &str) -> Verification {
        self.timed(|| self.inner.verify_dummy(password))
    }

    fn hash(&self, password: &str) -> Result<String, HashError> {
        self.timed(|| self.inner.hash(password))
    }

    fn prepare(&self) {
        self.inner.prepare()
    }

    fn failure_floor(&self, bcrypt_cost: u32) -> Duration {
        self.inner.failure_floor(bcrypt_cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordHasherArgon;

    #[test]
    fn adds_up_hashing_and_starts_afresh() {
        let timed = TimedPasswords::new(PasswordHasherArgon::new().unwrap());
        let time = timed.time();
        assert_eq!(time.take(), Duration::ZERO);
        let hash = timed.hash("pw").unwrap();
        assert!(time.take() > Duration::ZERO, "a hash");
        assert_eq!(timed.verify(&hash, "pw"), Verification::Valid);
        assert!(time.take() > Duration::ZERO, "a verification");
        let _ = timed.verify_dummy("pw");
        assert!(time.take() > Duration::ZERO, "a dummy verification");
        assert_eq!(time.take(), Duration::ZERO);
    }
}
