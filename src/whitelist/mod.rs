//! The whitelist of client ids allowed to use direct approval (contract check 4): read
//! from a source (SSM in production), cached for a configurable time, failing closed.
//!
//! Past the cache time the held list keeps answering for a bounded "stale" time while a
//! refresh runs beside the requests, and while the source fails for a reason that passes,
//! so neither a herd nor an SSM hiccup makes requests wait or fail; past that, or with
//! nothing held, requests wait for the source and get 503 when it fails, never "allowed".
//! What an operator did (a deleted parameter, a revoked grant) drops the list at once.
//!
//! The port is [`WhitelistSource`] (and the operator's [`WhitelistEditor`]); its adapters are [`ssm::SsmWhitelist`] (Parameter
//! Store) and [`MemorySource`] (tests and benchmarks).

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use thiserror::Error;

use crate::clock::Clock;

mod cache;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod ssm;

pub use cache::CachedWhitelist;
#[cfg(any(test, feature = "test-support"))]
pub use memory::MemorySource;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// Throttling, a timeout, a 5xx, the network: it passes, so the last good list may be
    /// served for the stale time.
    #[error("the whitelist could not be read: {0}")]
    Unavailable(String),
    /// No parameter, no access, a value that is not a list of client ids: an operator's
    /// doing (deleting the parameter is a kill switch), so never served stale.
    #[error("the whitelist is misconfigured: {0}")]
    Misconfigured(String),
}

/// Serialises operators' edits of the parameter, which SSM cannot make conditional: an
/// edit that read version `read` writes only once it holds the claim on `read + 1`, so of
/// two edits that read the same version one writes and the other reads again.
pub trait EditClaims: Send + Sync {
    /// Takes the claim on version `read + 1`: `Ok(false)` while another edit holds it. A
    /// claim older than [`STALE_CLAIM`] whose version was never written (its edit died)
    /// is taken over.
    fn claim_next(
        &self,
        read: i64,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;
}

/// How long an edit's claim holds before another edit may take it over.
pub const STALE_CLAIM: Duration = Duration::from_secs(30);

/// The operator's edits of the whitelist (`whitelist add|remove|list`); creating the
/// parameter (`init`) is the SSM adapter's own.
pub trait WhitelistEditor: Send + Sync {
    /// The whitelisted client ids, sorted.
    fn list(&self) -> impl Future<Output = Result<Vec<String>, SourceError>> + Send;

    /// Adds (`add`) or removes one client id; whether the list changed. Read, decide,
    /// write, the write held by `claims` to the version read: of edits at once none undoes
    /// another's (the later one reads again), so two additions of different ids are both
    /// there at the end. A write outside these edits during one is reported, not undone
    /// silently ([`SourceError::Misconfigured`]).
    fn edit(
        &self,
        client_id: &str,
        add: bool,
        claims: &impl EditClaims,
        clock: &impl Clock,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;
}

/// How long an edit waits for other edits' claims before it gives up.
pub(crate) const EDIT_PATIENCE: Duration = Duration::from_secs(STALE_CLAIM.as_secs() + 5);

/// The sorted list `value` holds with `client_id` added or removed; `None` when it is so
/// already.
pub(crate) fn edited(value: &str, client_id: &str, add: bool) -> Option<Vec<String>> {
    let mut ids: Vec<String> = parse(value).into_iter().collect();
    if ids.iter().any(|i| i == client_id) == add {
        return None;
    }
    if add {
        ids.push(client_id.to_string());
    } else {
        ids.retain(|i| i != client_id);
    }
    ids.sort();
    Some(ids)
}

/// Where the raw whitelist value comes from.
pub trait WhitelistSource: Send + Sync + 'static {
    /// The parameter's value: client ids separated by commas (StringList) or whitespace.
    fn fetch(&self) -> impl Future<Output = Result<String, SourceError>> + Send;

    /// The same, retrying what passes (throttling) for at most `budget`: the time the
    /// request can give before it must answer.
    fn fetch_within(
        &self,
        budget: Duration,
    ) -> impl Future<Output = Result<String, SourceError>> + Send {
        let _ = budget;
        self.fetch()
    }
}

/// What a fetch may take when the caller names no budget (the admin CLI, tests).
pub const DEFAULT_FETCH_BUDGET: Duration = Duration::from_secs(3);

/// The client ids of a value the function will trust: every entry must be a client id
/// (the admin CLI writes nothing else), else the value is misconfigured.
pub fn parse_strict(value: &str) -> Result<HashSet<String>, SourceError> {
    let clients = parse(value);
    match clients
        .iter()
        .position(|c| !crate::identifier::is_client_id(c))
    {
        None => Ok(clients),
        Some(_) => Err(SourceError::Misconfigured(
            "the parameter holds an entry that is not a client id".into(),
        )),
    }
}

/// Client ids from a parameter value: split on commas and whitespace, empties skipped.
pub fn parse(value: &str) -> HashSet<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_lists_and_whitespace() {
        let got = parse(" a,b ,,c\nd ");
        assert_eq!(got.len(), 4);
        assert!(got.contains("a") && got.contains("d"));
        assert!(parse(",").is_empty());
    }
}
