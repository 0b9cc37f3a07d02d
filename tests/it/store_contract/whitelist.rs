//! The whitelist's edits (`whitelist::WhitelistEditor`), on the memory source with the
//! memory store's claims and on SSM with DynamoDB's claims against moto: an edit says
//! whether it changed the list, and edits at once never undo one another.

use direct_oauth::clock::SystemClock;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::whitelist::ssm::SsmWhitelist;
use direct_oauth::whitelist::{EditClaims, MemorySource, SourceError, WhitelistEditor};

/// Claims that let the other edits run first: every edit at once has read the list
/// before any of them claims, the race the claims are there for.
struct Yielding<'a, C>(&'a C);

impl<C: EditClaims> EditClaims for Yielding<'_, C> {
    async fn claim_next(&self, read: i64, now_ms: u64) -> Result<bool, SourceError> {
        tokio::task::yield_now().await;
        self.0.claim_next(read, now_ms).await
    }
}

async fn whitelist_edits_say_whether_they_changed_the_list(
    w: &impl WhitelistEditor,
    claims: &impl EditClaims,
) {
    let edit = |id: &'static str, add: bool| async move {
        w.edit(id, add, claims, &SystemClock).await.unwrap()
    };
    assert_eq!(w.list().await.unwrap(), Vec::<String>::new());
    assert!(edit("b-client", true).await);
    assert!(edit("a-client", true).await);
    assert!(!edit("a-client", true).await, "there already");
    assert_eq!(w.list().await.unwrap(), ["a-client", "b-client"]);
    assert!(edit("b-client", false).await);
    assert!(!edit("b-client", false).await, "gone already");
    assert_eq!(w.list().await.unwrap(), ["a-client"]);
}

async fn whitelist_edits_at_once_lose_none(w: &impl WhitelistEditor, claims: &impl EditClaims) {
    let claims = Yielding(claims);
    assert!(w.edit("old", true, &claims, &SystemClock).await.unwrap());
    let adds = ["c-1", "c-2", "c-3", "c-4"].map(|id| w.edit(id, true, &claims, &SystemClock));
    let removal = w.edit("old", false, &claims, &SystemClock);
    let (added, removed) = tokio::join!(futures::future::join_all(adds), removal);
    for edit in added {
        assert!(edit.unwrap(), "each addition changed the list");
    }
    assert!(removed.unwrap(), "the removal changed the list");
    assert_eq!(
        w.list().await.unwrap(),
        ["c-1", "c-2", "c-3", "c-4"],
        "every edit is there"
    );
}

/// An SSM whitelist (created empty) and the claims of a fresh DynamoDB store, in moto.
async fn ssm() -> Option<(SsmWhitelist, DynamoStore)> {
    let sdk = crate::moto::moto().await?;
    let client = direct_oauth::aws::ssm(&sdk, &Default::default());
    let w = SsmWhitelist::new(client, crate::moto::unique_name("/test/whitelist-"));
    w.ensure_exists().await.expect("the parameter");
    let (claims, _) = crate::dynamodb::store().await?;
    Some((w, claims))
}

/// Each case on the memory source and on SSM.
macro_rules! whitelist_contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let w = super::MemorySource::new(Some(""));
                    super::$case(&w, &super::MemoryStore::default()).await;
                }
            )*
        }
        mod ssm {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some((w, claims)) = super::ssm().await else {
                        return;
                    };
                    super::$case(&w, &claims).await;
                }
            )*
        }
    };
}

whitelist_contract!(
    whitelist_edits_say_whether_they_changed_the_list,
    whitelist_edits_at_once_lose_none,
);
