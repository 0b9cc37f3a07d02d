//! DPoP's one-time values: a proof's replay key is first used once, however many
//! instances record it at once; the nonces' secret is one for every instance.

use super::*;

const NOW: u64 = 1_800_000_000;

pub(super) async fn a_proof_is_used_once_until_its_time(store: &impl ContractStore) {
    let key = [7u8; 32];
    assert_eq!(store.first_use(&key, NOW + 60, NOW).await, Ok(true));
    assert_eq!(store.first_use(&key, NOW + 60, NOW + 59).await, Ok(false));
    assert_eq!(
        store.first_use(&[8u8; 32], NOW + 60, NOW).await,
        Ok(true),
        "another key"
    );
    // Past its time the use is forgotten, even where the TTL has not removed it.
    assert_eq!(store.first_use(&key, NOW + 120, NOW + 60).await, Ok(true));
    assert_eq!(store.first_use(&key, NOW + 120, NOW + 61).await, Ok(false));
}

pub(super) async fn of_many_uses_at_once_one_is_first(store: &impl ContractStore) {
    let key = [9u8; 32];
    let uses = (0..16).map(|_| store.first_use(&key, NOW + 60, NOW));
    let firsts = futures::future::join_all(uses).await;
    let firsts = firsts
        .into_iter()
        .map(Result::unwrap)
        .filter(|f| *f)
        .count();
    assert_eq!(firsts, 1);
}

pub(super) async fn the_nonce_secret_is_one_for_every_instance(store: &impl ContractStore) {
    // Instances asking at once, each with a fresh secret of its own: one secret stands.
    let asks = (0u8..8).map(|i| store.nonce_secret([i; 32]));
    let secrets: std::collections::BTreeSet<[u8; 32]> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    let first = *secrets.first().unwrap();
    assert_eq!(
        store.nonce_secret([99; 32]).await,
        Ok(first),
        "and it stays"
    );
}

pub(super) async fn a_bound_token_and_a_dpop_only_application_read_back(
    store: &impl ContractStore,
) {
    let u = user("alice");
    store.seed_user(u.clone()).await;
    let strict = Application {
        require_dpop: true,
        ..app()
    };
    store.seed_application(strict.clone()).await;
    let bound = TokenRecord {
        jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        ..token("tokB")
    };
    store.put_token(&bound, &verified(&u)).await.unwrap();
    assert_eq!(store.get_token("tokB").await.unwrap(), Some(bound));
    let found = store.lookup("cli", None).await.unwrap().application;
    assert_eq!(found, Some(strict));
}
