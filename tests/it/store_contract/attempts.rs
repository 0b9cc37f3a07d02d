//! The failed-logins counter: one attempt per name at a time, windows, and counts; and
//! the bcrypt marker that import-quay writes and bcrypt-remaining settles.

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
    store.release("alice", &a).await.unwrap();
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
        .record_failure("alice", &a, &failure(NOW, NOW + 500))
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
    store.release("alice", &a).await.unwrap();
    assert!(
        matches!(
            store.admit("alice", &lease("c", 0), NOW + 5_001, EXP).await.unwrap(),
            Admission::Refused { lease_until_ms, .. } if lease_until_ms == NOW + 10_000
        ),
        "the old holder's release left the new lease alone"
    );
}

pub(super) async fn failures_count_up_for_any_name(store: &impl ContractStore) {
    // No attempt holds the name (an admission that was never written, say): still counted.
    let none = lease("none", 0);
    let first = store
        .record_failure("ghost", &none, &failure(1_000, 1_500))
        .await
        .unwrap();
    assert_eq!((first.failures, first.last_failure_ms), (1, 1_000));
    let second = store
        .record_failure("ghost", &none, &failure(2_000, 3_500))
        .await
        .unwrap();
    assert_eq!((second.failures, second.last_failure_ms), (2, 2_000));
}

pub(super) async fn a_release_keeps_the_failures(store: &impl ContractStore) {
    // A success releases its lease and nothing else: a reset would show a later probe
    // that someone knew the password (contract check 8).
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    store
        .record_failure("alice", &a, &failure(NOW, NOW))
        .await
        .unwrap();
    let b = lease("b", NOW + 5_000);
    assert!(matches!(
        store.admit("alice", &b, NOW, EXP).await.unwrap(),
        Admission::Admitted { counts: Some(_) }
    ));
    store.release("alice", &b).await.unwrap();
    assert_eq!(
        store
            .admit("alice", &lease("c", 0), NOW, EXP)
            .await
            .unwrap(),
        Admission::Admitted {
            counts: Some(FailedLogins {
                failures: 1,
                last_failure_ms: NOW
            })
        },
        "the count stays after a release"
    );
}

pub(super) async fn decay_is_taken_off_before_a_failure_is_added(store: &impl ContractStore) {
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    for _ in 0..3 {
        store
            .record_failure("alice", &a, &failure(NOW, NOW))
            .await
            .unwrap();
        store.admit("alice", &a, NOW, EXP).await.unwrap();
    }
    let forgiving = Failure {
        forgiven: 2,
        ..failure(NOW + 10, NOW + 20)
    };
    let counts = store.record_failure("alice", &a, &forgiving).await.unwrap();
    assert_eq!(
        (counts.failures, counts.last_failure_ms),
        (2, NOW + 10),
        "3, less 2 forgiven, plus this one"
    );
}

pub(super) async fn a_failure_whose_lease_was_lost_is_counted_and_leaves_the_new_lease(
    store: &impl ContractStore,
) {
    // Attempt a's lease ended mid-verification (a slow floor, a paused instance) and b
    // took the name: a's failure still counts, and b keeps the name it holds.
    let a = lease("a", NOW + 5_000);
    store.admit("alice", &a, NOW, EXP).await.unwrap();
    let b = lease("b", NOW + 10_000);
    assert!(matches!(
        store.admit("alice", &b, NOW + 5_000, EXP).await.unwrap(),
        Admission::Admitted { .. }
    ));
    let counts = store
        .record_failure("alice", &a, &failure(NOW + 6_000, NOW + 6_500))
        .await
        .unwrap();
    assert_eq!(counts.failures, 1, "counted");
    assert_eq!(
        store
            .admit("alice", &lease("c", 0), NOW + 7_000, EXP)
            .await
            .unwrap(),
        Admission::Refused {
            window_until_ms: 0,
            lease_until_ms: NOW + 10_000
        },
        "b's lease (and window) untouched by a's failure"
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

/// A failure at `now`, the next window ending at `next`, nothing forgiven.
fn failure(now: u64, next: u64) -> Failure {
    Failure {
        now_ms: now,
        forgiven: 0,
        next_attempt_ms: next,
        expires_at: EXP,
    }
}

pub(super) async fn an_import_between_a_settle_s_read_and_its_removal_keeps_the_marker(
    store: &impl ContractStore,
) {
    store.seed_application(app()).await;
    store.mark_bcrypt(12).await;
    // bcrypt-remaining reads the version and scans: no bcrypt hash yet...
    let version = store.marker_version().await.expect("marked");
    assert_eq!(store.bcrypt_users().await, 0);
    // ...then import-quay writes a user with a bcrypt hash, and marks it.
    let mut imported = user("quay-user");
    imported.password_hash = bcrypt::hash("s3cret", 4).unwrap();
    store.seed_user(imported).await;
    store.mark_bcrypt(12).await;
    // The removal the settle decided on must not take the marker from under the import.
    assert!(!store.remove_marker(version).await, "the version moved on");
    assert_eq!(
        store
            .lookup("cli", Some("nobody"))
            .await
            .unwrap()
            .bcrypt_cost,
        Some(12),
        "failed logins are still held to bcrypt's time"
    );
    // With nothing imported since its read, a settle removes it.
    let now = store.marker_version().await.expect("kept");
    assert!(store.remove_marker(now).await);
    assert_eq!(store.marker_version().await, None);
}
