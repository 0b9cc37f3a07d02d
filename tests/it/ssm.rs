//! The SSM whitelist source and the cache over it, against moto's server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use direct_oauth::clock::SystemClock;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::whitelist::ssm::SsmWhitelist;
use direct_oauth::whitelist::{
    CachedWhitelist, EditClaims, STALE_CLAIM, SourceError, WhitelistEditor, WhitelistSource,
};
use tokio::sync::Notify;

use crate::moto;

async fn source() -> Option<(SsmWhitelist, aws_sdk_ssm::Client)> {
    let sdk = moto::moto().await?;
    let client = direct_oauth::aws::ssm(&sdk, &Default::default());
    Some((
        SsmWhitelist::new(client.clone(), moto::unique_name("/test/whitelist-")),
        client,
    ))
}

/// The whitelist and the claims its edits take (the users table of a fresh store).
async fn editable() -> Option<(SsmWhitelist, DynamoStore)> {
    let (w, _) = source().await?;
    let (store, _) = crate::dynamodb::store().await?;
    Some((w, store))
}

#[tokio::test]
async fn edits_are_idempotent_and_listed_sorted() {
    let Some((w, claims)) = editable().await else {
        return;
    };
    let edit = |id: &'static str, add: bool| {
        let (w, claims) = (w.clone(), claims.clone());
        async move { w.edit(id, add, &claims, &SystemClock).await.unwrap() }
    };
    assert!(w.ensure_exists().await.unwrap());
    assert!(!w.ensure_exists().await.unwrap());
    assert_eq!(w.list().await.unwrap(), Vec::<String>::new());
    assert!(edit("b-client", true).await);
    assert!(edit("a-client", true).await);
    assert!(!edit("a-client", true).await);
    assert_eq!(w.list().await.unwrap(), ["a-client", "b-client"]);
    assert!(edit("b-client", false).await);
    assert!(!edit("b-client", false).await);
    assert_eq!(w.list().await.unwrap(), ["a-client"]);
    assert!(edit("a-client", false).await);
    assert_eq!(w.list().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn operators_editing_at_once_lose_no_edit() {
    let Some((w, claims)) = editable().await else {
        return;
    };
    w.ensure_exists().await.unwrap();
    // Each task reads, decides and writes; without the claims most of them read the same
    // version and the last write undoes the others' additions.
    let ids: Vec<String> = (0..8).map(|i| format!("client-{i}")).collect();
    let edits = ids.iter().cloned().map(|id| {
        let (w, claims) = (w.clone(), claims.clone());
        tokio::spawn(async move { w.edit(&id, true, &claims, &SystemClock).await })
    });
    for edit in edits.collect::<Vec<_>>() {
        assert!(edit.await.unwrap().unwrap(), "each edit changed the list");
    }
    assert_eq!(w.list().await.unwrap(), ids, "every addition is there");
}

#[tokio::test]
async fn a_claim_is_held_once_and_taken_over_only_when_stale() {
    let Some((_, claims)) = editable().await else {
        return;
    };
    let now = 1_800_000_000_000;
    assert!(claims.claim_next(4, now).await.unwrap());
    assert!(!claims.claim_next(4, now + 1).await.unwrap(), "held");
    assert!(
        claims.claim_next(5, now + 2).await.unwrap(),
        "the next version is free"
    );
    let later = now + STALE_CLAIM.as_millis() as u64 + 10;
    assert!(
        !claims.claim_next(4, later).await.unwrap(),
        "an older version never again"
    );
    assert!(
        claims.claim_next(5, later).await.unwrap(),
        "a stale claim is taken over"
    );
}

#[tokio::test]
async fn reads_string_lists_strings_and_secure_strings() {
    let Some((w, client)) = source().await else {
        return;
    };
    let Some((claims, _)) = crate::dynamodb::store().await else {
        return;
    };
    for (kind, value) in [
        (ParameterType::StringList, "one,two"),
        (ParameterType::String, "one, two"),
        (ParameterType::SecureString, "one,two"),
    ] {
        client
            .put_parameter()
            .name(w.name())
            .value(value)
            .r#type(kind.clone())
            .overwrite(true)
            .send()
            .await
            .unwrap();
        assert_eq!(w.list().await.unwrap(), ["one", "two"], "{kind:?}");
    }
    // An edit without the list's key would re-encrypt it under aws/ssm: refused.
    assert!(matches!(
        w.edit("three", true, &claims, &SystemClock).await,
        Err(SourceError::Misconfigured(why)) if why.contains("KMS key")
    ));
    // With the key named, edits keep the type and the key: a SecureString stays secure.
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let w = w.with_kms_key(Some(key.into()));
    w.edit("three", true, &claims, &SystemClock).await.unwrap();
    let p = client
        .get_parameter()
        .name(w.name())
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(p.r#type, Some(ParameterType::SecureString));
    let described = client
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values(w.name())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let key_id = described.parameters()[0].key_id().unwrap_or_default();
    assert_eq!(key_id, key, "the key the list was encrypted with");
}

#[tokio::test]
async fn a_missing_parameter_fails_closed() {
    let Some((w, client)) = source().await else {
        return;
    };
    // The same client reaches moto, so the error below is the parameter's absence, not a
    // refused connection's.
    client
        .describe_parameters()
        .send()
        .await
        .expect("moto answers");
    let err = w.fetch().await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Misconfigured(why) if why.contains("does not exist")),
        "the parameter's absence, not another failure: {err}"
    );
    let cached = CachedWhitelist::new(w, Duration::from_secs(60), Duration::from_secs(60));
    assert!(cached.allows("anyone", 0).await.is_err());
}

/// The SSM source, counting its fetches and telling when one has answered (the cache
/// refreshes beside the requests, on a task of its own).
struct Counted {
    inner: SsmWhitelist,
    fetches: Arc<AtomicU64>,
    answered: Arc<Notify>,
}

impl Counted {
    fn new(inner: SsmWhitelist) -> (Self, Arc<AtomicU64>, Arc<Notify>) {
        let (fetches, answered) = (Arc::default(), Arc::default());
        let counted = Counted {
            inner,
            fetches: Arc::clone(&fetches),
            answered: Arc::clone(&answered),
        };
        (counted, fetches, answered)
    }
}

impl WhitelistSource for Counted {
    async fn fetch(&self) -> Result<String, SourceError> {
        self.fetch_within(direct_oauth::whitelist::DEFAULT_FETCH_BUDGET)
            .await
    }
    async fn fetch_within(&self, budget: Duration) -> Result<String, SourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let answer = self.inner.fetch_within(budget).await;
        self.answered.notify_one();
        answer
    }
}

#[tokio::test]
async fn removal_takes_effect_after_the_cache_time() {
    let Some((w, claims)) = editable().await else {
        return;
    };
    w.edit("client", true, &claims, &SystemClock).await.unwrap();
    let admin = w.clone();
    let (w, fetches, _) = Counted::new(w);
    let cached = CachedWhitelist::new(w, Duration::from_secs(60), Duration::ZERO);
    assert!(cached.allows("client", 0).await.unwrap());
    admin
        .edit("client", false, &claims, &SystemClock)
        .await
        .unwrap();
    assert!(cached.allows("client", 59_000).await.unwrap(), "cached");
    assert!(!cached.allows("client", 60_000).await.unwrap(), "refreshed");
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "one SSM call per cold start and per expiry"
    );
}

#[tokio::test]
async fn past_the_cache_time_a_removal_is_in_after_one_refresh_beside_the_request() {
    let Some((w, claims)) = editable().await else {
        return;
    };
    w.edit("client", true, &claims, &SystemClock).await.unwrap();
    let admin = w.clone();
    let (w, fetches, answered) = Counted::new(w);
    let cached = CachedWhitelist::new(w, Duration::from_secs(60), Duration::from_secs(300));
    assert!(cached.allows("client", 0).await.unwrap());
    answered.notified().await;
    admin
        .edit("client", false, &claims, &SystemClock)
        .await
        .unwrap();
    assert!(
        cached.allows("client", 60_000).await.unwrap(),
        "the request that finds the list due is answered from it"
    );
    // The test's runtime runs one task at a time: once the refresh's fetch has answered,
    // the refresh settles the list before this test runs again.
    answered.notified().await;
    assert!(!cached.allows("client", 60_001).await.unwrap(), "refreshed");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_ssm_with_nothing_cached_fails_closed() {
    let Some((w, claims)) = editable().await else {
        return;
    };
    w.edit("some_client_id", true, &claims, &SystemClock)
        .await
        .unwrap();
    let sdk = moto::moto().await.unwrap();
    let unreachable = SsmWhitelist::new(moto::unreachable_ssm(&sdk), w.name());
    assert!(
        matches!(unreachable.fetch().await, Err(SourceError::Unavailable(_))),
        "an outage passes: the last good list may be served"
    );
    let cached = CachedWhitelist::new(
        unreachable,
        Duration::from_secs(60),
        Duration::from_secs(300),
    );
    assert!(cached.allows("some_client_id", 0).await.is_err());
}
