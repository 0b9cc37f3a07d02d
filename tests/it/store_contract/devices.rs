//! Device authorizations (RFC 8628): written once under two keys, found by the user code
//! while live, decided once, polled in time once among polls at once, redeemed once; wrong
//! user codes counted per person in a window.

use super::*;
use direct_oauth::device::Decision;
use direct_oauth::store::{DeviceAuthorization, Poll};

const AT_MS: u64 = NOW * 1000;

fn device(hash: u8, user_code: &str) -> DeviceAuthorization {
    DeviceAuthorization {
        device_hash: [hash; 32],
        user_code: user_code.into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into()],
        requested_from: "198.51.100.7".into(),
        user_agent: "tool/1".into(),
        created_at: NOW,
        expires_at: NOW + 600,
        interval_secs: 5,
        next_poll_ms: AT_MS + 5_000,
        decision: None,
        token_id: None,
    }
}

fn approved() -> Decision {
    Decision::Approved {
        username: "alice".into(),
        user_generation: 0,
        client_epoch: 0,
    }
}

pub(super) async fn a_device_authorization_is_written_once_and_found_by_its_user_code(
    store: &impl ContractStore,
) {
    let first = device(1, "BCDFGHJK");
    store.put_device(&first).await.unwrap();
    assert_eq!(store.put_device(&first).await, Err(StoreError::Conflict));
    // Another device code under a live user code: refused, so a code names one request.
    assert_eq!(
        store.put_device(&device(2, "BCDFGHJK")).await,
        Err(StoreError::Conflict)
    );
    let found = store.device_by_user_code("BCDFGHJK", NOW).await.unwrap();
    assert_eq!(found, Some(first));
    assert_eq!(
        store.device_by_user_code("ZZZZZZZZ", NOW).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .device_by_user_code("BCDFGHJK", NOW + 600)
            .await
            .unwrap(),
        None
    );
    // Once its request expired, a user code may name a new one.
    let later = DeviceAuthorization {
        created_at: NOW + 600,
        expires_at: NOW + 1_200,
        ..device(3, "BCDFGHJK")
    };
    store.put_device(&later).await.unwrap();
    let found = store
        .device_by_user_code("BCDFGHJK", NOW + 601)
        .await
        .unwrap();
    assert_eq!(found.map(|d| d.device_hash), Some([3; 32]));
}

pub(super) async fn a_device_is_decided_once_and_only_while_live(store: &impl ContractStore) {
    store.put_device(&device(1, "BCDFGHJK")).await.unwrap();
    assert!(
        store
            .decide_device(&[1; 32], &approved(), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_device(&[1; 32], &Decision::Denied, NOW)
            .await
            .unwrap()
    );
    let found = store
        .device_by_user_code("BCDFGHJK", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.decision, Some(approved()));
    store.put_device(&device(2, "CDFGHJKL")).await.unwrap();
    assert!(
        !store
            .decide_device(&[2; 32], &approved(), NOW + 600)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .decide_device(&[3; 32], &approved(), NOW)
            .await
            .unwrap(),
        "none"
    );
}

/// Eight polls at once, as many instances send them: one is in time; the others are told
/// to slow down, and the stored interval grew by five seconds for each.
pub(super) async fn of_polls_at_once_one_is_in_time(store: &impl ContractStore) {
    store.put_device(&device(1, "BCDFGHJK")).await.unwrap();
    let at = AT_MS + 5_000;
    let polls = (0..8).map(|_| store.poll_device(&[1; 32], "cli", at));
    let outcomes = futures::future::join_all(polls).await;
    let in_time = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Poll::InTime(_))))
        .count();
    let too_soon = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Poll::TooSoon(_))))
        .count();
    assert_eq!((in_time, too_soon), (1, 7), "{outcomes:?}");
    let stored = store
        .device_by_user_code("BCDFGHJK", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.interval_secs, 5 + 7 * 5, "what the server stored");
    assert!(stored.next_poll_ms > at);
    assert_eq!(
        store
            .poll_device(&[1; 32], "other", at + 60_000)
            .await
            .unwrap(),
        Poll::Unknown
    );
    assert_eq!(
        store.poll_device(&[9; 32], "cli", at).await.unwrap(),
        Poll::Unknown
    );
}

pub(super) async fn a_device_is_redeemed_once_and_only_when_approved(store: &impl ContractStore) {
    store.put_device(&device(1, "BCDFGHJK")).await.unwrap();
    assert!(
        !store.redeem_device(&[1; 32], "t1").await.unwrap(),
        "undecided"
    );
    store
        .decide_device(&[1; 32], &approved(), NOW)
        .await
        .unwrap();
    assert!(store.redeem_device(&[1; 32], "t1").await.unwrap());
    assert!(!store.redeem_device(&[1; 32], "t2").await.unwrap());
    let Poll::InTime(polled) = store
        .poll_device(&[1; 32], "cli", AT_MS + 5_000)
        .await
        .unwrap()
    else {
        panic!("in time");
    };
    assert_eq!(polled.token_id.as_deref(), Some("t1"));
    store.put_device(&device(2, "CDFGHJKL")).await.unwrap();
    store
        .decide_device(&[2; 32], &Decision::Denied, NOW)
        .await
        .unwrap();
    assert!(
        !store.redeem_device(&[2; 32], "t3").await.unwrap(),
        "denied"
    );
}

pub(super) async fn wrong_user_codes_are_counted_per_person_in_a_window(
    store: &impl ContractStore,
) {
    assert_eq!(store.wrong_user_codes("alice", NOW).await.unwrap(), 0);
    for n in 1..=3 {
        assert_eq!(
            store.note_wrong_user_code("alice", NOW + n).await.unwrap(),
            n as u32
        );
    }
    assert_eq!(store.wrong_user_codes("alice", NOW + 10).await.unwrap(), 3);
    assert_eq!(store.wrong_user_codes("bob", NOW + 10).await.unwrap(), 0);
    let after = NOW + 1 + direct_oauth::device::MISS_WINDOW.as_secs();
    assert_eq!(store.wrong_user_codes("alice", after).await.unwrap(), 0);
    assert_eq!(
        store.note_wrong_user_code("alice", after).await.unwrap(),
        1,
        "a new window"
    );
}
