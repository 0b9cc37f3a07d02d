//! Refresh token families: a start writes the family, its first access token and their
//! entries once; a rotation holds to the live token as read (of many from one read, one
//! writes) and to the user as verified; a revocation ends the family and its access tokens,
//! and ending a person's access to an application ends that application's families.

use std::collections::BTreeMap;

use direct_oauth::store::{RefreshFamily, RefreshStore};

use super::*;
use crate::faults::{Faulty, Operation};

const FAMILY: &str = "family-1";

/// The live token's hash of a family's `n`th token.
fn hash(n: u8) -> [u8; 32] {
    [n; 32]
}

/// A family of alice's for `cli`, started with `first` (its access token `at-first`).
fn started(family_id: &str, first: &str) -> RefreshFamily {
    RefreshFamily {
        family_id: family_id.into(),
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into()],
        user_generation: 0,
        client_epoch: 0,
        jkt: Some("thumbprint".into()),
        current_hash: hash(1),
        previous_hash: None,
        created_at: 1_700_000_000,
        idle_until: 1_700_000_600,
        grace_until: 0,
        expires_at: 1_700_007_200,
        revoked_at: None,
        access_tokens: BTreeMap::from([(first.to_string(), 1_700_000_060)]),
    }
}

/// `family` rotated to its token `n`, issuing `token_id`.
fn rotated(family: &RefreshFamily, n: u8, token_id: &str) -> RefreshFamily {
    let mut next = RefreshFamily {
        previous_hash: Some(family.current_hash),
        current_hash: hash(n),
        grace_until: 1_700_000_005,
        idle_until: 1_700_000_900,
        ..family.clone()
    };
    next.access_tokens
        .insert(token_id.to_string(), 1_700_000_060);
    next
}

/// An access token of alice's for `cli`, as the refresh grant writes it.
fn access(id: &str) -> TokenRecord {
    token(id)
}

/// The user as a refresh holds its write to: enabled, at the generation read; no password.
fn as_read(u: &User) -> Verified {
    Verified {
        password_hash: None,
        ..verified(u)
    }
}

/// alice, and her family started with its first access token.
async fn a_started_family(store: &impl ContractStore) -> RefreshFamily {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let family = started(FAMILY, "at-1");
    store
        .write_family(&family, None, &access("at-1"), &as_read(&alice))
        .await
        .unwrap();
    family
}

pub(super) async fn a_family_is_started_once_and_reads_back(store: &impl ContractStore) {
    let family = a_started_family(store).await;
    assert_eq!(store.family(FAMILY).await.unwrap(), Some(family.clone()));
    assert_eq!(store.get_token("at-1").await.unwrap(), Some(access("at-1")));
    let held = store.holdings("alice").await.unwrap();
    let ids: Vec<&str> = held.tokens.iter().map(|t| t.token_id.as_str()).collect();
    assert_eq!(
        ids,
        ["at-1"],
        "the access token's entry, and nothing else listed"
    );
    assert_eq!(store.family("family-2").await.unwrap(), None);
    // A start on a taken id: refused, and its access token not written.
    let mut other = started(FAMILY, "at-2");
    other.current_hash = hash(9);
    assert_eq!(
        store
            .write_family(&other, None, &access("at-2"), &as_read(&user("alice")))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_token("at-2").await.unwrap(), None);
    assert_eq!(store.family(FAMILY).await.unwrap(), Some(family));
}

pub(super) async fn a_rotation_holds_to_the_live_token_as_read(store: &impl ContractStore) {
    let family = a_started_family(store).await;
    let alice = as_read(&user("alice"));
    let second = rotated(&family, 2, "at-2");
    store
        .write_family(&second, Some(&hash(1)), &access("at-2"), &alice)
        .await
        .unwrap();
    assert_eq!(store.family(FAMILY).await.unwrap(), Some(second.clone()));
    // Another rotation from the same read: the family moved on.
    let lost = rotated(&family, 3, "at-3");
    assert_eq!(
        store
            .write_family(&lost, Some(&hash(1)), &access("at-3"), &alice)
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_token("at-3").await.unwrap(), None, "no token");
    assert_eq!(store.family(FAMILY).await.unwrap(), Some(second.clone()));
    // A revoked family is not rotated, even from its live token.
    store.revoke_family(FAMILY, 1_700_000_010).await.unwrap();
    let after = rotated(&second, 4, "at-4");
    assert_eq!(
        store
            .write_family(&after, Some(&hash(2)), &access("at-4"), &alice)
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_token("at-4").await.unwrap(), None, "no token");
    let stored = store.family(FAMILY).await.unwrap().unwrap();
    assert_eq!(
        (stored.current_hash, stored.revoked_at),
        (hash(2), Some(1_700_000_010))
    );
}

pub(super) async fn a_family_is_written_only_for_the_user_as_read(store: &impl ContractStore) {
    let family = a_started_family(store).await;
    let alice = user("alice");
    let read = as_read(&alice);
    for (changed, why) in [
        (
            User {
                generation: 1,
                ..alice.clone()
            },
            "generation raised",
        ),
        (
            User {
                enabled: false,
                ..alice.clone()
            },
            "disabled",
        ),
    ] {
        store.seed_user(changed).await;
        let next = rotated(&family, 2, "at-2");
        assert_eq!(
            store
                .write_family(&next, Some(&hash(1)), &access("at-2"), &read)
                .await,
            Err(StoreError::UserChanged),
            "{why}"
        );
        let fresh = started("family-2", "at-3");
        assert_eq!(
            store
                .write_family(&fresh, None, &access("at-3"), &read)
                .await,
            Err(StoreError::UserChanged),
            "{why}: a start"
        );
        assert_eq!(store.get_token("at-2").await.unwrap(), None, "{why}");
        assert_eq!(store.get_token("at-3").await.unwrap(), None, "{why}");
        assert_eq!(store.family("family-2").await.unwrap(), None, "{why}");
        assert_eq!(
            store.family(FAMILY).await.unwrap(),
            Some(family.clone()),
            "{why}: the family as it was"
        );
    }
}

pub(super) async fn a_family_s_revocation_ends_its_access_tokens_once(store: &impl ContractStore) {
    let family = a_started_family(store).await;
    let second = rotated(&family, 2, "at-2");
    store
        .write_family(
            &second,
            Some(&hash(1)),
            &access("at-2"),
            &as_read(&user("alice")),
        )
        .await
        .unwrap();
    store.revoke_family(FAMILY, 70).await.unwrap();
    let revoked_at =
        |id: &'static str| async move { store.get_token(id).await.unwrap().unwrap().revoked_at };
    assert_eq!(
        store.family(FAMILY).await.unwrap().unwrap().revoked_at,
        Some(70)
    );
    assert_eq!(
        (revoked_at("at-1").await, revoked_at("at-2").await),
        (Some(70), Some(70))
    );
    // Again: nothing changes, the first time stays.
    store.revoke_family(FAMILY, 80).await.unwrap();
    let stored = store.family(FAMILY).await.unwrap().unwrap();
    assert_eq!(
        stored,
        RefreshFamily {
            revoked_at: Some(70),
            ..second
        }
    );
    assert_eq!(
        (revoked_at("at-1").await, revoked_at("at-2").await),
        (Some(70), Some(70))
    );
    // A family there never was: nothing to do, nothing made.
    store.revoke_family("family-none", 80).await.unwrap();
    assert_eq!(store.family("family-none").await.unwrap(), None);
}

pub(super) async fn ending_access_ends_that_application_s_families_only(
    store: &impl ContractStore,
) {
    let mine = a_started_family(store).await;
    let bob = user("bob");
    store.seed_user(bob.clone()).await;
    let other_app = RefreshFamily {
        client_id: "other".into(),
        ..started("family-other", "at-o")
    };
    let other_token = TokenRecord {
        client_id: "other".into(),
        ..access("at-o")
    };
    store
        .write_family(&other_app, None, &other_token, &as_read(&user("alice")))
        .await
        .unwrap();
    let bobs = RefreshFamily {
        username: "bob".into(),
        ..started("family-bob", "at-b")
    };
    let bob_token = TokenRecord {
        username: "bob".into(),
        ..access("at-b")
    };
    store
        .write_family(&bobs, None, &bob_token, &as_read(&bob))
        .await
        .unwrap();
    store.revoke_access("alice", "cli", 70).await.unwrap();
    let revoked =
        |id: &'static str| async move { store.family(id).await.unwrap().unwrap().revoked_at };
    assert_eq!(revoked(FAMILY).await, Some(70), "{}", mine.family_id);
    assert_eq!(revoked("family-other").await, None, "another application's");
    assert_eq!(revoked("family-bob").await, None, "another person's");
    assert_eq!(
        store.get_token("at-1").await.unwrap().unwrap().revoked_at,
        Some(70)
    );
    for id in ["at-o", "at-b"] {
        assert_eq!(
            store.get_token(id).await.unwrap().unwrap().revoked_at,
            None,
            "{id}"
        );
    }
}

/// Sixteen rotations from one read, each through its own instance: one writes, fifteen
/// meet the condition; judged by what the store holds afterwards.
pub(super) async fn of_many_rotations_from_one_read_one_writes(store: &impl ContractStore) {
    let family = a_started_family(store).await;
    let alice = as_read(&user("alice"));
    let mut instances = Vec::new();
    for _ in 0..16 {
        instances.push(store.another_instance().await);
    }
    let attempts: Vec<(RefreshFamily, TokenRecord)> = (0..16u8)
        .map(|i| {
            let id = format!("at-race-{i}");
            (rotated(&family, 10 + i, &id), access(&id))
        })
        .collect();
    let seen = hash(1);
    let rotations = instances
        .iter()
        .zip(&attempts)
        .map(|(s, (next, token))| s.write_family(next, Some(&seen), token, &alice));
    let outcomes = futures::future::join_all(rotations).await;
    let winners: Vec<usize> = (0..16).filter(|i| outcomes[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(StoreError::Conflict))),
        "{outcomes:?}"
    );
    let winner = &attempts[winners[0]];
    let stored = store.family(FAMILY).await.unwrap().unwrap();
    assert_eq!(stored, winner.0, "the family is the winner's");
    let mut written = Vec::new();
    for (_, token) in &attempts {
        if store.get_token(&token.token_id).await.unwrap().is_some() {
            written.push(token.token_id.as_str());
        }
    }
    assert_eq!(
        written,
        [winner.1.token_id.as_str()],
        "one new access token"
    );
}

/// An outage of the families' calls: each answers `Unavailable` and nothing is written.
pub(super) async fn an_outage_of_the_families_writes_nothing(store: &(impl ContractStore + Clone)) {
    let family = a_started_family(store).await;
    let faulty = Faulty::new(store.clone());
    faulty.set_failing(Operation::Refresh, true);
    let down = |what: &str, r: Result<(), StoreError>| {
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{what}: {r:?}"
        );
    };
    down("read", faulty.family(FAMILY).await.map(|_| ()));
    let next = rotated(&family, 2, "at-2");
    let alice = as_read(&user("alice"));
    down(
        "rotation",
        faulty
            .write_family(&next, Some(&hash(1)), &access("at-2"), &alice)
            .await,
    );
    let fresh = started("family-2", "at-3");
    down(
        "start",
        faulty
            .write_family(&fresh, None, &access("at-3"), &alice)
            .await,
    );
    down("revocation", faulty.revoke_family(FAMILY, 70).await);
    faulty.set_failing(Operation::Refresh, false);
    assert_eq!(faulty.family(FAMILY).await.unwrap(), Some(family));
    assert_eq!(store.family("family-2").await.unwrap(), None);
    for id in ["at-2", "at-3"] {
        assert_eq!(store.get_token(id).await.unwrap(), None, "{id}");
    }
    assert_eq!(
        store.get_token("at-1").await.unwrap().unwrap().revoked_at,
        None
    );
}
