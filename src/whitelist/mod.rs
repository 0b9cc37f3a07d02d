//! The whitelist of client ids allowed to use direct approval (contract check 4): read
//! from a source (SSM in production), cached for a configurable time, failing closed.
//!
//! When the source fails after the cache expired, the last good list is served for a
//! bounded "stale" time, so that an SSM hiccup does not take the endpoint down; past that,
//! or with nothing cached, requests get 503, never "allowed".
//!
//! The port is [`WhitelistSource`]; its adapters are [`ssm::SsmWhitelist`] (Parameter
//! Store) and [`MemorySource`] (tests and benchmarks).

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Mutex;

pub mod memory;
pub mod ssm;

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

/// Where the raw whitelist value comes from.
pub trait WhitelistSource: Send + Sync {
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

#[derive(Debug)]
struct Cached {
    clients: Arc<HashSet<String>>,
    fetched_ms: u64,
}

impl Cached {
    /// Whether this list is younger than `max_age`.
    fn younger_than(&self, max_age: Duration, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.fetched_ms) < max_age.as_millis() as u64
    }
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    /// After a failed fetch, wait this long before asking the source again, so that an
    /// outage does not add a timeout to every request.
    retry_not_before_ms: u64,
    /// Why the last fetch failed, answered again until the source is asked again.
    last_error: Option<SourceError>,
    fetches: u64,
}

pub struct CachedWhitelist<S> {
    source: S,
    ttl: Duration,
    stale: Duration,
    state: Mutex<State>,
}

/// Pause between fetch attempts while the source is failing.
const RETRY_PAUSE_MS: u64 = 1_000;

impl<S: WhitelistSource> CachedWhitelist<S> {
    pub fn new(source: S, ttl: Duration, stale: Duration) -> Self {
        CachedWhitelist {
            source,
            ttl,
            stale,
            state: Mutex::new(State::default()),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// Whether `client_id` may use direct approval; `Err` when no trustworthy list exists.
    pub async fn allows(&self, client_id: &str, now_ms: u64) -> Result<bool, SourceError> {
        self.allows_within(client_id, now_ms, DEFAULT_FETCH_BUDGET)
            .await
    }

    /// [`Self::allows`], giving a fetch at most `budget`.
    pub async fn allows_within(
        &self,
        client_id: &str,
        now_ms: u64,
        budget: Duration,
    ) -> Result<bool, SourceError> {
        Ok(self
            .current_within(now_ms, budget)
            .await?
            .contains(client_id))
    }

    /// The answer from a cached list that is not yet due, without waiting or asking the
    /// source; `None` when a fetch is due or under way. Lets the caller start its other
    /// reads while SSM answers instead of after.
    pub fn fresh(&self, client_id: &str, now_ms: u64) -> Option<bool> {
        let state = self.state.try_lock().ok()?;
        let cached = state.cached.as_ref()?;
        cached
            .younger_than(self.ttl, now_ms)
            .then(|| cached.clients.contains(client_id))
    }

    /// The list to use now, fetching it when the cached one is due.
    pub async fn current(&self, now_ms: u64) -> Result<Arc<HashSet<String>>, SourceError> {
        self.current_within(now_ms, DEFAULT_FETCH_BUDGET).await
    }

    /// [`Self::current`], giving a fetch at most `budget`.
    pub async fn current_within(
        &self,
        now_ms: u64,
        budget: Duration,
    ) -> Result<Arc<HashSet<String>>, SourceError> {
        // One fetch at a time: concurrent requests wait for it instead of all asking SSM.
        let mut state = self.state.lock().await;
        if let Some(c) = &state.cached
            && c.younger_than(self.ttl, now_ms)
        {
            return Ok(c.clients.clone());
        }
        let fetched = if now_ms >= state.retry_not_before_ms {
            state.fetches += 1;
            let fetched = self.source.fetch_within(budget).await;
            if fetched.is_err() {
                state.retry_not_before_ms = now_ms + RETRY_PAUSE_MS;
            }
            fetched.and_then(|value| parse_strict(&value))
        } else {
            Err(state.last_error.clone().unwrap_or_else(|| {
                SourceError::Unavailable("waiting before asking the source again".into())
            }))
        };
        match fetched {
            Ok(clients) => {
                let clients = Arc::new(clients);
                state.last_error = None;
                state.cached = Some(Cached {
                    clients: clients.clone(),
                    fetched_ms: now_ms,
                });
                Ok(clients)
            }
            Err(err @ SourceError::Misconfigured(_)) => {
                tracing::error!(operator_error = true, error = %err, "whitelist misconfigured: failing closed");
                state.last_error = Some(err.clone());
                Err(err)
            }
            Err(err) => {
                state.last_error = Some(err.clone());
                match &state.cached {
                    Some(c) if c.younger_than(self.ttl + self.stale, now_ms) => {
                        tracing::warn!(error = %err, "serving the last good whitelist");
                        Ok(c.clients.clone())
                    }
                    _ => Err(err),
                }
            }
        }
    }

    /// How many times the source was asked (for tests and the round-trip counters).
    pub async fn fetches(&self) -> u64 {
        self.state.lock().await.fetches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Scripted {
        answers: StdMutex<Vec<Result<String, SourceError>>>,
    }

    impl Scripted {
        fn push_err(&self, e: SourceError) {
            self.answers.lock().unwrap().insert(0, Err(e));
        }

        fn push(&self, a: Result<&str, &str>) {
            self.answers.lock().unwrap().insert(
                0,
                a.map(str::to_string)
                    .map_err(|e| SourceError::Unavailable(e.to_string())),
            );
        }
    }

    impl WhitelistSource for Scripted {
        async fn fetch(&self) -> Result<String, SourceError> {
            self.answers
                .lock()
                .unwrap()
                .pop()
                .unwrap_or_else(|| Err(SourceError::Unavailable("no scripted answer".into())))
        }
    }

    fn list(ttl: u64, stale: u64) -> CachedWhitelist<Scripted> {
        CachedWhitelist::new(
            Scripted::default(),
            Duration::from_secs(ttl),
            Duration::from_secs(stale),
        )
    }

    #[test]
    fn parses_string_lists_and_whitespace() {
        let got = parse(" a,b ,,c\nd ");
        assert_eq!(got.len(), 4);
        assert!(got.contains("a") && got.contains("d"));
        assert!(parse(",").is_empty());
    }

    #[tokio::test]
    async fn caches_for_the_ttl_then_refreshes() {
        let w = list(60, 0);
        w.source.push(Ok("a,b"));
        w.source.push(Ok("b"));
        assert!(w.allows("a", 0).await.unwrap());
        assert!(w.allows("a", 59_999).await.unwrap());
        assert_eq!(w.fetches().await, 1);
        assert!(
            !w.allows("a", 60_000).await.unwrap(),
            "removal takes effect after the TTL"
        );
        assert_eq!(w.fetches().await, 2);
    }

    #[tokio::test]
    async fn fresh_answers_only_from_a_list_that_is_not_due() {
        let w = list(60, 300);
        assert_eq!(w.fresh("a", 0), None, "nothing cached yet");
        w.source.push(Ok("a"));
        assert!(w.allows("a", 0).await.unwrap());
        assert_eq!(w.fresh("a", 59_999), Some(true));
        assert_eq!(w.fresh("b", 59_999), Some(false));
        assert_eq!(w.fresh("a", 60_000), None, "due: the source must be asked");
        let _fetching = w.state.lock().await;
        assert_eq!(w.fresh("a", 1), None, "a fetch under way holds the state");
    }

    #[tokio::test]
    async fn fails_closed_with_nothing_cached() {
        let w = list(60, 300);
        w.source.push(Err("ssm down"));
        assert!(w.allows("a", 0).await.is_err());
    }

    #[tokio::test]
    async fn serves_stale_for_a_bounded_time() {
        let w = list(60, 300);
        w.source.push(Ok("a"));
        assert!(w.allows("a", 0).await.unwrap());
        w.source.push(Err("down"));
        assert!(
            w.allows("a", 61_000).await.unwrap(),
            "stale but within the grace time"
        );
        // Within the retry pause the source is not asked again.
        assert!(w.allows("a", 61_500).await.unwrap());
        assert_eq!(w.fetches().await, 2);
        w.source.push(Err("down"));
        assert!(
            w.allows("a", 360_000).await.is_err(),
            "past ttl + stale: 503"
        );
        w.source.push(Ok("a"));
        assert!(
            w.allows("a", 362_000).await.unwrap(),
            "recovers when the source does"
        );
    }

    #[tokio::test]
    async fn a_misconfiguration_is_never_served_stale() {
        let w = list(60, 300);
        w.source.push(Ok("a"));
        assert!(w.allows("a", 0).await.unwrap());
        w.source
            .push_err(SourceError::Misconfigured("parameter deleted".into()));
        assert!(
            matches!(
                w.allows("a", 60_000).await,
                Err(SourceError::Misconfigured(_))
            ),
            "a deleted parameter is a kill switch: 503 at once, no stale list"
        );
        assert!(
            matches!(
                w.allows("a", 60_500).await,
                Err(SourceError::Misconfigured(_))
            ),
            "and so it stays until the source is asked again"
        );
        w.source.push(Ok("a"));
        assert!(w.allows("a", 61_000).await.unwrap(), "restored");
    }

    #[tokio::test]
    async fn a_value_that_is_not_a_list_of_client_ids_fails_closed() {
        let w = list(60, 300);
        w.source.push(Ok("a"));
        assert!(w.allows("a", 0).await.unwrap());
        w.source.push(Ok("a,b\u{7}c"));
        assert!(matches!(
            w.allows("a", 60_000).await,
            Err(SourceError::Misconfigured(_))
        ));
    }

    #[tokio::test]
    async fn zero_stale_fails_closed_at_expiry() {
        let w = list(60, 0);
        w.source.push(Ok("a"));
        assert!(w.allows("a", 0).await.unwrap());
        w.source.push(Err("down"));
        assert!(w.allows("a", 60_000).await.is_err());
    }
}
