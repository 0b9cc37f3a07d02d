//! A whitelist source held in memory, for tests and benchmarks.

use super::{SourceError, WhitelistSource};

use std::sync::{Arc, Mutex};

/// A whitelist held in memory, for tests and benchmarks; `None` behaves like an outage.
/// Clones share the value, so a test can change what the flow it built reads.
#[derive(Debug, Default, Clone)]
pub struct MemorySource(Arc<Mutex<Option<String>>>);

impl MemorySource {
    pub fn new(value: Option<&str>) -> Self {
        MemorySource(Arc::new(Mutex::new(value.map(str::to_string))))
    }

    pub fn set(&self, value: Option<&str>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = value.map(str::to_string);
    }
}

impl WhitelistSource for MemorySource {
    async fn fetch(&self) -> Result<String, SourceError> {
        let value = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        value.ok_or_else(|| SourceError::Unavailable("memory source set unavailable".into()))
    }
}
