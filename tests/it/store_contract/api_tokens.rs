//! A person's holdings: API tokens under their application's cap (many creations at once
//! leave no more than the cap live), revoked by their owner only, authorized applications listed with
//! consent, access to an application ended, and a use recorded once per interval.

use std::collections::BTreeSet;

use direct_oauth::api_token::Cap;

use super::*;

fn api_token(id: &str, expires_at: Option<u64>) -> TokenRecord {
    TokenRecord {
        name: Some(format!("token {id}")),
        expires_at,
        ..token(id)
    }
}

fn cap(most: u32) -> Cap {
    Cap {
        most,
        tokens_from: 0,
        token_epoch: 0,
        now_secs: 1_700_000_000,
    }
}

/// Twelve creations at once under a cap of three: three are stored, the rest refused.
pub(super) async fn many_creations_at_once_stay_under_the_cap(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let as_read = verified(&alice);
    let records: Vec<TokenRecord> = (0..12)
        .map(|i| api_token(&format!("api-{i}"), Some(1_800_000_000)))
        .collect();
    let three = cap(3);
    let creations = records
        .iter()
        .map(|t| store.create_api_token(t, &as_read, &three));
    let outcomes = futures::future::join_all(creations).await;
    let created = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(created, 3, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(StoreError::CapReached)))
    );
    let stored = store.holdings("alice").await.unwrap().tokens;
    assert_eq!(stored.len(), 3, "what the server stored");
}

/// Expired, revoked and voided tokens free their place; a token that never expires keeps
/// its own.
pub(super) async fn only_live_api_tokens_count_against_the_cap(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let as_read = verified(&alice);
    let now = cap(2).now_secs;
    let short = api_token("short", Some(now + 10));
    let never = api_token("never", None);
    store
        .create_api_token(&short, &as_read, &cap(2))
        .await
        .unwrap();
    store
        .create_api_token(&never, &as_read, &cap(2))
        .await
        .unwrap();
    let third = api_token("third", Some(now + 100));
    assert_eq!(
        store.create_api_token(&third, &as_read, &cap(2)).await,
        Err(StoreError::CapReached)
    );
    let later = Cap {
        now_secs: now + 10,
        ..cap(2)
    };
    store
        .create_api_token(&third, &as_read, &later)
        .await
        .unwrap();
    let fourth = api_token("fourth", Some(now + 100));
    assert_eq!(
        store.create_api_token(&fourth, &as_read, &later).await,
        Err(StoreError::CapReached)
    );
    assert!(store.revoke_api_token("alice", "third", now).await.unwrap());
    store
        .create_api_token(&fourth, &as_read, &later)
        .await
        .unwrap();
    let voided = Cap {
        tokens_from: 1,
        ..later
    };
    let fifth = api_token("fifth", Some(now + 100));
    store
        .create_api_token(&fifth, &as_read, &voided)
        .await
        .unwrap();
    let stored = store.get_token("never").await.unwrap().unwrap();
    assert_eq!(
        (stored.expires_at, stored.name.as_deref()),
        (None, Some("token never"))
    );
}

/// Only the owner revokes, once; someone else's attempt changes nothing.
pub(super) async fn an_api_token_is_revoked_by_its_owner_only(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let t = api_token("mine", Some(1_800_000_000));
    store
        .create_api_token(&t, &verified(&alice), &cap(5))
        .await
        .unwrap();
    assert!(!store.revoke_api_token("mallory", "mine", 50).await.unwrap());
    assert_eq!(
        store.get_token("mine").await.unwrap().unwrap().revoked_at,
        None
    );
    assert!(!store.revoke_api_token("alice", "nope", 50).await.unwrap());
    assert!(
        store.get_token("nope").await.unwrap().is_none(),
        "not created"
    );
    assert!(store.revoke_api_token("alice", "mine", 50).await.unwrap());
    assert!(!store.revoke_api_token("alice", "mine", 60).await.unwrap());
    assert_eq!(
        store.get_token("mine").await.unwrap().unwrap().revoked_at,
        Some(50)
    );
}

/// The creation is held to the user as read, as every token write is.
pub(super) async fn an_api_token_is_written_only_for_the_user_as_read(store: &impl ContractStore) {
    let alice = user("alice");
    store
        .seed_user(User {
            generation: 4,
            ..alice.clone()
        })
        .await;
    let t = api_token("stale", Some(1_800_000_000));
    assert_eq!(
        store.create_api_token(&t, &verified(&alice), &cap(5)).await,
        Err(StoreError::UserChanged)
    );
    assert!(store.get_token("stale").await.unwrap().is_none());
}

/// Holdings list each application granted (consent or API tokens) and every token;
/// ending access revokes that application's tokens and forgets its consent, and leaves
/// the others.
pub(super) async fn ending_access_revokes_one_application_s_tokens(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let as_read = verified(&alice);
    store
        .remember_consent("alice", "cli", &["repo:read".into()])
        .await
        .unwrap();
    store.put_token(&token("oauth-1"), &as_read).await.unwrap();
    store
        .create_api_token(&api_token("api-1", Some(1_800_000_000)), &as_read, &cap(5))
        .await
        .unwrap();
    let other = TokenRecord {
        client_id: "other".into(),
        ..api_token("api-2", Some(1_800_000_000))
    };
    store
        .create_api_token(&other, &as_read, &cap(5))
        .await
        .unwrap();
    let held = store.holdings("alice").await.unwrap();
    let mut clients: Vec<&str> = held
        .applications
        .iter()
        .map(|g| g.client_id.as_str())
        .collect();
    clients.sort();
    assert_eq!(clients, ["cli", "other"]);
    let cli = held
        .applications
        .iter()
        .find(|g| g.client_id == "cli")
        .unwrap();
    assert_eq!(cli.scopes, BTreeSet::from(["repo:read".to_string()]));
    assert_eq!(held.tokens.len(), 3);
    assert!(store.holdings("bob").await.unwrap().tokens.is_empty());

    assert_eq!(store.revoke_access("alice", "cli", 70).await.unwrap(), 2);
    for id in ["oauth-1", "api-1"] {
        assert_eq!(
            store.get_token(id).await.unwrap().unwrap().revoked_at,
            Some(70),
            "{id}"
        );
    }
    assert_eq!(
        store.get_token("api-2").await.unwrap().unwrap().revoked_at,
        None
    );
    assert!(store.consent("alice", "cli").await.unwrap().is_empty());
    let held = store.holdings("alice").await.unwrap();
    assert_eq!(held.applications.len(), 1);
    // The user's other operator listings still see tokens only.
    assert_eq!(store.list_tokens_for_user("alice").await.unwrap().len(), 3);
    assert_eq!(
        store
            .live_token_count("alice", 1_700_000_000)
            .await
            .unwrap(),
        1
    );
}

/// A use is recorded when none is within the interval; instances at once write it once.
pub(super) async fn a_use_is_recorded_once_per_interval(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let t = api_token("used", Some(1_800_000_000));
    store
        .create_api_token(&t, &verified(&alice), &cap(5))
        .await
        .unwrap();
    store.record_use("used", 1_000, 100).await.unwrap();
    let (a, b) = tokio::join!(
        store.record_use("used", 1_500, 600),
        store.record_use("used", 1_600, 600)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(
        store.get_token("used").await.unwrap().unwrap().last_used_at,
        Some(1_000)
    );
    store.record_use("used", 2_000, 1_500).await.unwrap();
    assert_eq!(
        store.get_token("used").await.unwrap().unwrap().last_used_at,
        Some(2_000)
    );
    store.record_use("gone", 2_000, 1_500).await.unwrap();
    assert!(
        store.get_token("gone").await.unwrap().is_none(),
        "not created"
    );
}
