//! The cache policy: when the source is asked, what is served meanwhile, what fails closed.

use super::*;
use crate::whitelist::WhitelistSource;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A test source that counts how often it is asked.
trait Counted {
    fn asked(&self) -> &AtomicU64;
}

/// How many times `w`'s source was asked, once the refresh spawned beside a request (if
/// any) has had its turn to start (the tests' runtime runs one task at a time).
async fn fetches<S: Counted>(w: &CachedWhitelist<S>) -> u64 {
    tokio::task::yield_now().await;
    w.shared.source.asked().load(Ordering::SeqCst)
}

/// Waits until the refresh under way, if any, has recorded its outcome.
async fn refreshed<S>(w: &CachedWhitelist<S>) {
    while w.shared.state.lock().await.refreshing {
        tokio::task::yield_now().await;
    }
}

#[derive(Default)]
struct Scripted {
    answers: StdMutex<Vec<Result<String, SourceError>>>,
    asked: AtomicU64,
}

impl Counted for Scripted {
    fn asked(&self) -> &AtomicU64 {
        &self.asked
    }
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
        self.asked.fetch_add(1, Ordering::SeqCst);
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

#[tokio::test]
async fn caches_for_the_ttl_then_refreshes() {
    let w = list(60, 0);
    w.shared.source.push(Ok("a,b"));
    w.shared.source.push(Ok("b"));
    assert!(w.allows("a", 0).await.unwrap());
    assert!(w.allows("a", 59_999).await.unwrap());
    assert_eq!(fetches(&w).await, 1);
    assert!(
        !w.allows("a", 60_000).await.unwrap(),
        "removal takes effect after the TTL"
    );
    assert_eq!(fetches(&w).await, 2);
}

#[tokio::test]
async fn answers_now_only_from_a_list_it_may_hold() {
    let w = list(60, 300);
    assert_eq!(w.answer_now("a", 0), None, "nothing cached yet");
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 0).await.unwrap());
    assert_eq!(w.answer_now("a", 59_999), Some(true));
    assert_eq!(w.answer_now("b", 59_999), Some(false));
    assert_eq!(
        w.answer_now("a", 360_000),
        None,
        "past the stale bound: wait"
    );
    let _fetching = w.shared.state.lock().await;
    assert_eq!(
        w.answer_now("a", 1),
        None,
        "a fetch under way holds the state"
    );
}

/// A source whose answer waits until the test lets it through.
struct Gated {
    value: StdMutex<String>,
    open: tokio::sync::Semaphore,
    asked: AtomicU64,
}

impl Counted for Gated {
    fn asked(&self) -> &AtomicU64 {
        &self.asked
    }
}

impl WhitelistSource for Gated {
    async fn fetch(&self) -> Result<String, SourceError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.open.acquire().await.unwrap().forget();
        Ok(self.value.lock().unwrap().clone())
    }
}

fn gated(value: &str) -> CachedWhitelist<Gated> {
    let source = Gated {
        value: StdMutex::new(value.into()),
        open: tokio::sync::Semaphore::new(1),
        asked: AtomicU64::new(0),
    };
    CachedWhitelist::new(source, Duration::from_secs(60), Duration::from_secs(300))
}

#[tokio::test]
async fn a_due_list_within_its_stale_bound_refreshes_beside_the_request() {
    let w = gated("a");
    assert!(w.allows("a", 0).await.unwrap());
    *w.shared.source.value.lock().unwrap() = "b".into();
    // SSM does not answer yet: the request is not held, the held list answers.
    let answer = tokio::time::timeout(Duration::from_millis(100), w.allows("a", 60_000));
    assert!(answer.await.expect("no wait on the source").unwrap());
    assert_eq!(
        w.answer_now("a", 60_001),
        Some(true),
        "refresh still under way"
    );
    assert_eq!(fetches(&w).await, 2, "one refresh, however many requests");
    w.shared.source.open.add_permits(1);
    refreshed(&w).await;
    assert_eq!(w.answer_now("a", 60_002), Some(false), "the removal is in");
    assert_eq!(w.answer_now("b", 60_002), Some(true));
    assert_eq!(
        w.answer_now("b", 119_999),
        Some(true),
        "the refreshed list counts from when its fetch started"
    );
    assert_eq!(fetches(&w).await, 2);
}

#[tokio::test]
async fn fails_closed_with_nothing_cached() {
    let w = list(60, 300);
    w.shared.source.push(Err("ssm down"));
    assert!(w.allows("a", 0).await.is_err());
}

#[tokio::test]
async fn serves_stale_for_a_bounded_time() {
    let w = list(60, 300);
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 0).await.unwrap());
    w.shared.source.push(Err("down"));
    assert!(
        w.allows("a", 61_000).await.unwrap(),
        "stale but within the grace time"
    );
    refreshed(&w).await;
    // Within the retry pause the source is not asked again.
    assert!(w.allows("a", 61_500).await.unwrap());
    assert_eq!(fetches(&w).await, 2);
    w.shared.source.push(Err("down"));
    assert!(
        w.allows("a", 360_000).await.is_err(),
        "past ttl + stale: 503"
    );
    assert_eq!(
        fetches(&w).await,
        3,
        "and that request waited for the source"
    );
    w.shared.source.push(Ok("a"));
    assert!(
        w.allows("a", 362_000).await.unwrap(),
        "recovers when the source does"
    );
}

#[tokio::test]
async fn a_misconfiguration_is_never_served_stale() {
    let w = list(60, 300);
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 0).await.unwrap());
    w.shared
        .source
        .push_err(SourceError::Misconfigured("parameter deleted".into()));
    assert!(
        w.allows("a", 60_000).await.unwrap(),
        "answered beside the refresh"
    );
    refreshed(&w).await;
    assert!(
        matches!(
            w.allows("a", 60_100).await,
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
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 61_000).await.unwrap(), "restored");
}

#[tokio::test]
async fn a_value_that_is_not_a_list_of_client_ids_fails_closed() {
    let w = list(60, 300);
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 0).await.unwrap());
    w.shared.source.push(Ok("a,b\u{7}c"));
    assert!(
        w.allows("a", 60_000).await.unwrap(),
        "answered beside the refresh"
    );
    refreshed(&w).await;
    assert!(matches!(
        w.allows("a", 60_001).await,
        Err(SourceError::Misconfigured(_))
    ));
}

#[tokio::test]
async fn zero_stale_fails_closed_at_expiry() {
    let w = list(60, 0);
    w.shared.source.push(Ok("a"));
    assert!(w.allows("a", 0).await.unwrap());
    w.shared.source.push(Err("down"));
    assert!(w.allows("a", 60_000).await.is_err());
}
