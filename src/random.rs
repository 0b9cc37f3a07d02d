//! Randomness behind a trait, so tests can be deterministic.

use thiserror::Error;

#[derive(Debug, Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

pub trait Random: Send + Sync {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|_| RandomError)
    }
}

/// Predictable bytes for tests and benchmarks: each call fills with the next counter value.
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Default)]
pub struct CountingRandom(std::sync::atomic::AtomicU8);

#[cfg(any(test, feature = "test-support"))]
impl Random for CountingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        buf.fill(n);
        Ok(())
    }
}
