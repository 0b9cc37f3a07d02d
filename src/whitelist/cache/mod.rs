//! The whitelist as the function holds it: fetched from its source, cached for a time,
//! refreshed beside the requests while it is within its stale bound, failing closed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::{DEFAULT_FETCH_BUDGET, SourceError, WhitelistSource, parse_strict};

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
    /// A refresh runs beside the requests (see [`CachedWhitelist::held`]).
    refreshing: bool,
}

impl State {
    /// Takes in what a fetch started at `started_ms` brought, and answers with the list to
    /// use or why there is none.
    fn record_refresh(
        &mut self,
        fetched: Result<HashSet<String>, SourceError>,
        started_ms: u64,
        serve_until: Duration,
    ) -> Result<Arc<HashSet<String>>, SourceError> {
        match fetched {
            Ok(clients) => {
                self.last_error = None;
                // A slow refresh must not replace a list fetched after it started.
                if let Some(c) = &self.cached
                    && c.fetched_ms > started_ms
                {
                    return Ok(c.clients.clone());
                }
                let clients = Arc::new(clients);
                self.cached = Some(Cached {
                    clients: clients.clone(),
                    fetched_ms: started_ms,
                });
                Ok(clients)
            }
            Err(err) => {
                self.retry_not_before_ms = started_ms + RETRY_PAUSE_MS;
                self.last_error = Some(err.clone());
                if let SourceError::Misconfigured(_) = err {
                    tracing::error!(operator_error = true, error = %err, "whitelist misconfigured: failing closed");
                    // Never served again: the next request waits for the source.
                    self.cached = None;
                    return Err(err);
                }
                match &self.cached {
                    Some(c) if c.younger_than(serve_until, started_ms) => {
                        tracing::warn!(error = %err, "serving the last good whitelist");
                        Ok(c.clients.clone())
                    }
                    _ => Err(err),
                }
            }
        }
    }
}

struct Shared<S> {
    source: S,
    ttl: Duration,
    stale: Duration,
    state: Mutex<State>,
}

/// The whitelist as the function uses it: fetched from its source, cached for `ttl`, and
/// past that served for at most `stale` more while a refresh runs beside the requests or
/// the source fails for a reason that passes.
pub struct CachedWhitelist<S> {
    shared: Arc<Shared<S>>,
}

/// Clones share one cache (the state and the refresh beside the requests).
impl<S> Clone for CachedWhitelist<S> {
    fn clone(&self) -> Self {
        CachedWhitelist {
            shared: self.shared.clone(),
        }
    }
}

/// Pause between fetch attempts while the source is failing.
const RETRY_PAUSE_MS: u64 = 1_000;

impl<S: WhitelistSource> CachedWhitelist<S> {
    pub fn new(source: S, ttl: Duration, stale: Duration) -> Self {
        CachedWhitelist {
            shared: Arc::new(Shared {
                source,
                ttl,
                stale,
                state: Mutex::new(State::default()),
            }),
        }
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

    /// The answer from the held list when there is one to use without waiting (see
    /// [`Self::held`]); `None` when the request must wait for the source. Lets the caller
    /// start its other reads while SSM answers instead of after.
    pub fn answer_now(&self, client_id: &str, now_ms: u64) -> Option<bool> {
        self.held(now_ms).map(|clients| clients.contains(client_id))
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
        if let Some(clients) = self.held(now_ms) {
            return Ok(clients);
        }
        // One fetch at a time: concurrent requests wait for it instead of all asking SSM.
        let shared = &self.shared;
        let mut state = shared.state.lock().await;
        if let Some(c) = &state.cached
            && c.younger_than(shared.ttl, now_ms)
        {
            return Ok(c.clients.clone());
        }
        if now_ms < state.retry_not_before_ms {
            let err = state.last_error.clone().unwrap_or_else(|| {
                SourceError::Unavailable("waiting before asking the source again".into())
            });
            // A misconfiguration dropped the list; an outage leaves it for its stale time.
            return match &state.cached {
                Some(c) if c.younger_than(shared.ttl + shared.stale, now_ms) => {
                    Ok(c.clients.clone())
                }
                _ => Err(err),
            };
        }
        let fetched = shared.source.fetch_within(budget).await;
        state.record_refresh(
            fetched.and_then(|v| parse_strict(&v)),
            now_ms,
            shared.ttl + shared.stale,
        )
    }

    /// The held list, when a request may use it without waiting: while it is younger than
    /// the cache time, and past that while it is within its stale bound. In that second
    /// window a refresh is started beside the request (one at a time, none during the
    /// pause after a failure), so a herd of requests on an instance never waits on SSM and
    /// a removal takes effect as soon as that refresh is in. `None` when the list is
    /// missing, past its bound, or a fetch that requests wait for is under way.
    fn held(&self, now_ms: u64) -> Option<Arc<HashSet<String>>> {
        let shared = &self.shared;
        let mut state = shared.state.try_lock().ok()?;
        let cached = state.cached.as_ref()?;
        if cached.younger_than(shared.ttl, now_ms) {
            return Some(cached.clients.clone());
        }
        if !cached.younger_than(shared.ttl + shared.stale, now_ms) {
            return None;
        }
        let clients = cached.clients.clone();
        if !state.refreshing && now_ms >= state.retry_not_before_ms {
            state.refreshing = true;
            // Detached: it records its outcome itself, and no request waits for it.
            tokio::spawn(Self::refresh(shared.clone(), now_ms));
        }
        Some(clients)
    }

    /// A refresh beside the requests: no request waits for it, so it takes the default
    /// budget rather than one request's.
    async fn refresh(shared: Arc<Shared<S>>, started_ms: u64) {
        let fetched = shared.source.fetch_within(DEFAULT_FETCH_BUDGET).await;
        let mut state = shared.state.lock().await;
        state.refreshing = false;
        // A failure here is logged by `record_refresh`; the held list answers until its bound.
        let _ = state.record_refresh(
            fetched.and_then(|v| parse_strict(&v)),
            started_ms,
            shared.ttl + shared.stale,
        );
    }
}

#[cfg(test)]
mod tests;
