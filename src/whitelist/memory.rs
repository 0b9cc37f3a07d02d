//! A whitelist source held in memory, for tests and benchmarks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{EDIT_PATIENCE, EditClaims, SourceError, WhitelistEditor, WhitelistSource, edited};
use crate::clock::Clock;

/// A whitelist held in memory, for tests and benchmarks; `None` behaves like an outage.
/// Clones share the value, so a test can change what the flow it built reads.
#[derive(Debug, Default, Clone)]
pub struct MemorySource(Arc<Mutex<Held>>);

/// The value and its version, which every write raises (as SSM's parameter version).
#[derive(Debug, Default)]
struct Held {
    value: Option<String>,
    version: i64,
}

impl MemorySource {
    pub fn new(value: Option<&str>) -> Self {
        let source = MemorySource::default();
        source.set(value);
        source
    }

    /// Writes the value as a tool outside the admin CLI would: no claim taken.
    pub fn set(&self, value: Option<&str>) {
        self.write(value.map(str::to_string));
    }

    fn held<T>(&self, f: impl FnOnce(&mut Held) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The new version.
    fn write(&self, value: Option<String>) -> i64 {
        self.held(|h| {
            h.value = value;
            h.version += 1;
            h.version
        })
    }

    fn read(&self) -> Result<(String, i64), SourceError> {
        let (value, version) = self.held(|h| (h.value.clone(), h.version));
        let value = value
            .ok_or_else(|| SourceError::Unavailable("memory source set unavailable".into()))?;
        Ok((value, version))
    }
}

impl WhitelistSource for MemorySource {
    async fn fetch(&self) -> Result<String, SourceError> {
        self.read().map(|(value, _)| value)
    }
}

/// The SSM adapter's edit, step for step (read, claim the next version, write), so the
/// claims' promise is tested on both; an unavailable source fails the edit.
impl WhitelistEditor for MemorySource {
    async fn list(&self) -> Result<Vec<String>, SourceError> {
        let mut ids: Vec<String> = super::parse(&self.read()?.0).into_iter().collect();
        ids.sort();
        Ok(ids)
    }

    async fn edit(
        &self,
        client_id: &str,
        add: bool,
        claims: &impl EditClaims,
        clock: &impl Clock,
    ) -> Result<bool, SourceError> {
        let deadline = clock.now_ms() + EDIT_PATIENCE.as_millis() as u64;
        loop {
            let (value, version) = self.read()?;
            let Some(ids) = edited(&value, client_id, add) else {
                return Ok(false);
            };
            if claims.claim_next(version, clock.now_ms()).await? {
                let written = self.write(Some(ids.join(",")));
                if written != version + 1 {
                    return Err(SourceError::Misconfigured(format!(
                        "written outside the edits (version {written}, expected {})",
                        version + 1
                    )));
                }
                return Ok(true);
            }
            if clock.now_ms() > deadline {
                return Err(SourceError::Unavailable(
                    "another whitelist edit kept the list claimed".into(),
                ));
            }
            clock.sleep(Duration::from_millis(5)).await;
        }
    }
}
