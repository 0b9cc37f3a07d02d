//! The failed-logins counter: one attempt per name at a time, windows, and counts.

use super::*;

pub(super) async fn one_attempt_per_name_is_admitted_at_a_time(store: &impl ContractStore) {
    let a = lease("a", NOW + 5_000);
    assert_eq!(
        store.admit("alice", &a, NOW, EXP).await.unwrap(),
        Admission::Admitted { counts: None }
    );
    let b = lease("b", NOW + 5_000);
    assert_eq!(
        store.admit("alice", &b, NOW, EXP).await.unwrap(),
        Admission::Refused {
            window_until_ms: 0,
            lease_until_ms: NOW + 5_000
        },
        "a second attempt while the first is verified"
    );
    assert!(
        matches!(
            store.admit("bob", &b, NOW, EXP).await.unwrap(),
            Admission::Admitted { .. }
        ),
        "other names are not held"
    );
    store.release("alice", &a, false).await.unwrap();
    assert_eq!(
        store.admit("alice", &b, NOW, EXP).await.unwrap(),
        Admission::Admitted { counts: None },
        "released"
    );
}

pub(super) async fn a_failure_opens_a_window_and_is_counted(store: &impl ContractStore) {
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    let counts = store
        .record_failure("alice", NOW, NOW + 500, EXP)
        .await
        .unwrap();
    assert_eq!((counts.failures, counts.last_failure_ms), (1, NOW));
    let b = lease("b", NOW + 5_100);
    assert_eq!(
        store.admit("alice", &b, NOW + 100, EXP).await.unwrap(),
        Admission::Refused {
            window_until_ms: NOW + 500,
            lease_until_ms: 0
        },
        "the failure gave the lease up and set the window"
    );
    assert_eq!(
        store.admit("alice", &b, NOW + 500, EXP).await.unwrap(),
        Admission::Admitted {
            counts: Some(FailedLogins {
                failures: 1,
                last_failure_ms: NOW
            })
        }
    );
}

pub(super) async fn an_ended_lease_is_taken_and_its_old_holder_changes_nothing(
    store: &impl ContractStore,
) {
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    let b = lease("b", NOW + 10_000);
    assert!(
        matches!(
            store.admit("alice", &b, NOW + 5_000, EXP).await.unwrap(),
            Admission::Admitted { .. }
        ),
        "an instance that died mid-attempt holds the name only until its lease ends"
    );
    store.release("alice", &a, true).await.unwrap();
    assert!(
        matches!(
            store.admit("alice", &lease("c", 0), NOW + 5_001, EXP).await.unwrap(),
            Admission::Refused { lease_until_ms, .. } if lease_until_ms == NOW + 10_000
        ),
        "the old holder's release left the new lease alone"
    );
}

pub(super) async fn failures_count_up_for_any_name(store: &impl ContractStore) {
    let first = store
        .record_failure("ghost", 1_000, 1_500, EXP)
        .await
        .unwrap();
    assert_eq!((first.failures, first.last_failure_ms), (1, 1_000));
    let second = store
        .record_failure("ghost", 2_000, 3_500, EXP)
        .await
        .unwrap();
    assert_eq!((second.failures, second.last_failure_ms), (2, 2_000));
}

pub(super) async fn a_success_forgets_the_failures(store: &impl ContractStore) {
    store.record_failure("alice", NOW, NOW, EXP).await.unwrap();
    let a = lease("a", NOW + 5_000);
    assert!(matches!(
        store.admit("alice", &a, NOW, EXP).await.unwrap(),
        Admission::Admitted { counts: Some(_) }
    ));
    store.release("alice", &a, true).await.unwrap();
    assert_eq!(
        store
            .admit("alice", &lease("b", 0), NOW, EXP)
            .await
            .unwrap(),
        Admission::Admitted { counts: None }
    );
}

pub(super) async fn an_admission_retried_after_a_lost_answer_is_still_admitted(
    store: &impl ContractStore,
) {
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    assert!(
        matches!(
            store.admit("alice", &a, NOW + 10, EXP).await.unwrap(),
            Admission::Admitted { .. }
        ),
        "the same lease: the SDK retrying a write whose answer was lost"
    );
}
