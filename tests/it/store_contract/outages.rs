//! Outages and lost answers, as the flow meets them: the same faults (tests/it/faults.rs)
//! around each store, so what the flow's tests assume of a failed or retried call holds
//! for DynamoDB as for the memory store.

// The ports' traits in scope, so calls reach the double's methods, not (through its
// `Deref`) the wrapped store's.
use direct_oauth::store::{
    CodeStore, FailureCounter, LookupReader, Redemption, TokenReader, TokenWriter,
};

use super::codes::{NOW_SECS, claim, code};
use super::*;
use crate::faults::{Faulty, Operation};

pub(super) async fn an_outage_fails_every_call_and_writes_nothing(
    store: &(impl ContractStore + Clone),
) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let faulty = Faulty::new(store.clone());
    faulty.set_unavailable(true);
    let down = |what: &str, r: Result<(), StoreError>| {
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{what}: {r:?}"
        );
    };
    down(
        "lookup",
        faulty.lookup("cli", Some("alice")).await.map(|_| ()),
    );
    let a = lease("a", NOW + 5_000);
    down(
        "admit",
        faulty.admit("alice", &a, NOW, EXP).await.map(|_| ()),
    );
    down(
        "token write",
        faulty.put_token(&token("id-o"), &verified(&alice)).await,
    );
    down("token read", faulty.get_token("id-o").await.map(|_| ()));
    down("code write", faulty.put_code(&code(5)).await);
    faulty.set_unavailable(false);
    assert_eq!(
        faulty.get_token("id-o").await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(
        faulty.admit("alice", &a, NOW, EXP).await.unwrap(),
        Admission::Admitted { counts: None },
        "no lease was taken"
    );
}

pub(super) async fn a_failing_write_after_a_good_read_writes_nothing(
    store: &(impl ContractStore + Clone),
) {
    store.seed_application(app()).await;
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let faulty = Faulty::new(store.clone());
    faulty.set_failing(Operation::PutToken, true);
    let read = faulty.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(read.user, Some(alice.clone()), "the other calls work");
    assert!(matches!(
        faulty.put_token(&token("id-f"), &verified(&alice)).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(store.get_token("id-f").await.unwrap(), None);
    faulty.set_failing(Operation::PutToken, false);
    faulty
        .put_token(&token("id-f"), &verified(&alice))
        .await
        .unwrap();
    assert_eq!(store.get_token("id-f").await.unwrap(), Some(token("id-f")));
}

/// The flow tells a token write whose answer was lost by reading the token back: the
/// store must hold it, under its id and secret, though the write reported a conflict.
pub(super) async fn a_token_write_whose_answer_is_lost_is_stored(
    store: &(impl ContractStore + Clone),
) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let faulty = Faulty::new(store.clone());
    faulty.inject_lost_answers(1);
    assert_eq!(
        faulty.put_token(&token("id-l"), &verified(&alice)).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_token("id-l").await.unwrap(), Some(token("id-l")));
}

/// A redemption retried after its answer was lost meets the code it used itself: still
/// this exchange's redemption, never a replay that would revoke its own token.
pub(super) async fn a_redemption_whose_answer_is_lost_is_still_the_redemption(
    store: &(impl ContractStore + Clone),
) {
    let c = code(6);
    store.put_code(&c).await.unwrap();
    let faulty = Faulty::new(store.clone());
    faulty.inject_lost_redemptions(1);
    let seen = faulty
        .redeem_code(&claim(&[6; 32], "cli", "challenge"), "tok-l", NOW_SECS)
        .await
        .unwrap();
    assert!(
        matches!(&seen, Redemption::Redeemed(r) if r.code_hash == c.code_hash),
        "{seen:?}"
    );
    assert!(matches!(
        faulty
            .redeem_code(&claim(&[6; 32], "cli", "challenge"), "tok-other", NOW_SECS)
            .await
            .unwrap(),
        Redemption::Replayed(_)
    ));
}
