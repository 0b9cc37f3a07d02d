//! The web approval's records: sessions (written once per key, read back as written, a use
//! recorded only while the session is there, ended for good) and remembered consent.

use std::collections::BTreeSet;

use direct_oauth::session::Session;

use super::*;

fn session(key: &str) -> Session {
    Session {
        key: key.into(),
        username: "alice".into(),
        groups: BTreeSet::from(["ci".to_string(), "ops".to_string()]),
        superuser: true,
        generation: 7,
        csrf: "csrf-token".into(),
        created_at: NOW_SECS,
        seen_at: NOW_SECS,
    }
}

/// What a sign-in writes is what every page reads; a second write of the key is refused;
/// a use moves `seen_at` forward only; a sign-out ends it, and a use after that does not
/// bring it back.
pub(super) async fn a_session_is_written_once_read_used_and_ended(store: &impl ContractStore) {
    let s = session("k1");
    store.put_session(&s).await.unwrap();
    assert_eq!(store.session("k1").await.unwrap(), Some(s.clone()));
    let other = Session {
        username: "mallory".into(),
        ..session("k1")
    };
    assert_eq!(store.put_session(&other).await, Err(StoreError::Conflict));
    store.touch_session("k1", NOW_SECS + 90).await.unwrap();
    store.touch_session("k1", NOW_SECS + 60).await.unwrap();
    let used = store.session("k1").await.unwrap().unwrap();
    assert_eq!(used.seen_at, NOW_SECS + 90, "never moved back");
    store.end_session("k1").await.unwrap();
    store.end_session("k1").await.unwrap();
    assert_eq!(store.session("k1").await.unwrap(), None);
    store.touch_session("k1", NOW_SECS + 120).await.unwrap();
    assert_eq!(store.session("k1").await.unwrap(), None, "not brought back");
    assert_eq!(store.session("never").await.unwrap(), None);
}

/// Consent is kept per person and application, and only grows: two approvals at once each
/// add their scopes.
pub(super) async fn consent_is_remembered_per_person_and_application(store: &impl ContractStore) {
    assert!(store.consent("alice", "cli").await.unwrap().is_empty());
    let read = ["repo:read".to_string()];
    let write = ["repo:write".to_string()];
    let (a, b) = tokio::join!(
        store.remember_consent("alice", "cli", &read),
        store.remember_consent("alice", "cli", &write)
    );
    a.unwrap();
    b.unwrap();
    store.remember_consent("alice", "cli", &read).await.unwrap();
    let granted = store.consent("alice", "cli").await.unwrap();
    assert_eq!(
        granted,
        BTreeSet::from(["repo:read".into(), "repo:write".into()])
    );
    assert!(store.consent("alice", "other").await.unwrap().is_empty());
    assert!(store.consent("bob", "cli").await.unwrap().is_empty());
}
