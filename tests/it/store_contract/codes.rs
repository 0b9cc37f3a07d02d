//! Authorization codes, introspection's read and revocation by id: what the code flow
//! relies on from any store.

use direct_oauth::store::{CodeClaim, CodeRecord, Redemption};

use super::*;

pub(super) const NOW_SECS: u64 = 1_800_000_000;

pub(super) fn code(hash: u8) -> CodeRecord {
    CodeRecord {
        code_hash: [hash; 32],
        client_id: "cli".into(),
        redirect_uri: "https://a.example/cb".into(),
        redirect_uri_given: false,
        scopes: vec!["repo:read".into()],
        username: "alice".into(),
        user_generation: 0,
        client_epoch: 0,
        code_challenge: "challenge".into(),
        jkt: None,
        expires_at: NOW_SECS + 60,
        used_at: None,
        token_id: None,
    }
}

/// An exchange's claim with no DPoP proof.
pub(super) fn claim<'a>(hash: &'a [u8; 32], client: &'a str, challenge: &'a str) -> CodeClaim<'a> {
    CodeClaim {
        code_hash: hash,
        client_id: client,
        code_challenge: challenge,
        jkt: None,
    }
}

pub(super) async fn a_code_is_written_once_and_redeemed_once(store: &impl ContractStore) {
    let c = code(1);
    store.put_code(&c).await.unwrap();
    assert_eq!(store.put_code(&c).await, Err(StoreError::Conflict));
    let first = store
        .redeem_code(&claim(&[1; 32], "cli", "challenge"), "tok1", NOW_SECS)
        .await;
    assert_eq!(first.unwrap(), Redemption::Redeemed(c.clone()));
    match store
        .redeem_code(&claim(&[1; 32], "cli", "challenge"), "tok2", NOW_SECS)
        .await
        .unwrap()
    {
        Redemption::Replayed(used) => {
            assert_eq!(
                used.token_id.as_deref(),
                Some("tok1"),
                "names the first token"
            );
            assert_eq!(used.used_at, Some(NOW_SECS));
        }
        other => panic!("a replay, not {other:?}"),
    }
}

pub(super) async fn a_code_is_only_for_its_client_verifier_and_time(store: &impl ContractStore) {
    store.put_code(&code(2)).await.unwrap();
    let hash = [2; 32];
    for (client, challenge, now) in [
        ("other", "challenge", NOW_SECS),
        ("cli", "other", NOW_SECS),
        ("cli", "challenge", NOW_SECS + 60),
    ] {
        let r = store
            .redeem_code(&claim(&hash, client, challenge), "t", now)
            .await
            .unwrap();
        assert_eq!(r, Redemption::Refused, "{client} {challenge} {now}");
    }
    let unknown = store
        .redeem_code(&claim(&[3; 32], "cli", "challenge"), "t", NOW_SECS)
        .await;
    assert_eq!(unknown.unwrap(), Redemption::Refused);
    let owner = store
        .redeem_code(&claim(&hash, "cli", "challenge"), "t", NOW_SECS + 59)
        .await;
    assert!(
        matches!(owner.unwrap(), Redemption::Redeemed(_)),
        "refusals did not use it up"
    );
}

pub(super) async fn a_bound_code_is_only_for_its_key(store: &impl ContractStore) {
    let bound = CodeRecord {
        jkt: Some("key-1".into()),
        ..code(7)
    };
    store.put_code(&bound).await.unwrap();
    let hash = [7; 32];
    let by = |jkt| CodeClaim {
        jkt,
        ..claim(&hash, "cli", "challenge")
    };
    for jkt in [None, Some("key-2")] {
        let r = store.redeem_code(&by(jkt), "t", NOW_SECS).await.unwrap();
        assert_eq!(r, Redemption::Refused, "{jkt:?}");
    }
    let owner = store.redeem_code(&by(Some("key-1")), "t", NOW_SECS).await;
    assert_eq!(
        owner.unwrap(),
        Redemption::Redeemed(bound),
        "refusals did not use it up, and the binding comes back"
    );
    // Used now: without its key, a replay is no replay (its token is not to be revoked
    // by whoever holds the code and verifier but not the key); with it, it is.
    for jkt in [None, Some("key-2")] {
        let r = store.redeem_code(&by(jkt), "t2", NOW_SECS).await.unwrap();
        assert_eq!(r, Redemption::Refused, "{jkt:?} on the used code");
    }
    let replay = store.redeem_code(&by(Some("key-1")), "t2", NOW_SECS).await;
    assert!(matches!(replay.unwrap(), Redemption::Replayed(_)));
    store.put_code(&code(8)).await.unwrap();
    let unbound = CodeClaim {
        jkt: Some("key-2"),
        ..claim(&[8; 32], "cli", "challenge")
    };
    let r = store.redeem_code(&unbound, "t", NOW_SECS).await.unwrap();
    assert!(
        matches!(r, Redemption::Redeemed(_)),
        "an unbound code takes any key"
    );
}

pub(super) async fn two_redemptions_at_once_one_wins(store: &impl ContractStore) {
    store.put_code(&code(4)).await.unwrap();
    let hash = [4; 32];
    let claim = claim(&hash, "cli", "challenge");
    let redeem = |t: &'static str| store.redeem_code(&claim, t, NOW_SECS);
    let (a, b) = tokio::join!(redeem("a"), redeem("b"));
    let won = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| matches!(r, Redemption::Redeemed(_)))
        .count();
    assert_eq!(won, 1);
}

/// Redemptions by the code's key and by others, all at once: one wins, by the code's key,
/// judged by the token the stored record names.
pub(super) async fn of_many_redemptions_of_a_bound_code_only_its_key_wins(
    store: &impl ContractStore,
) {
    let bound = CodeRecord {
        jkt: Some("key-1".into()),
        ..code(9)
    };
    store.put_code(&bound).await.unwrap();
    let hash = [9; 32];
    // Odd token ids present the code's key; even ones, first among them, another key or
    // none (so a store that ignored the key would let one of them win).
    let ids: Vec<String> = (0..16).map(|i| format!("t{i}")).collect();
    let redemptions = ids.iter().enumerate().map(|(i, id)| {
        let jkt = [Some("key-2"), Some("key-1"), None, Some("key-1")][i % 4];
        let claim = CodeClaim {
            jkt,
            ..claim(&hash, "cli", "challenge")
        };
        async move { store.redeem_code(&claim, id, NOW_SECS).await.unwrap() }
    });
    let answers = futures::future::join_all(redemptions).await;
    let winners: Vec<usize> = (0..answers.len())
        .filter(|&i| matches!(answers[i], Redemption::Redeemed(_)))
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let by_its_key = CodeClaim {
        jkt: Some("key-1"),
        ..claim(&hash, "cli", "challenge")
    };
    let after = store
        .redeem_code(&by_its_key, "after", NOW_SECS)
        .await
        .unwrap();
    let Redemption::Replayed(stored) = after else {
        panic!("the code is used: {after:?}");
    };
    assert_eq!(stored.token_id, Some(ids[winners[0]].clone()));
    assert_eq!(winners[0] % 2, 1, "the winner presented the code's key");
}

pub(super) async fn introspection_reads_the_client_and_the_token_at_once(
    store: &impl ContractStore,
) {
    let u = user("alice");
    store.seed_user(u.clone()).await;
    store.seed_application(app()).await;
    store
        .put_token(&token("tokA"), &verified(&u))
        .await
        .unwrap();
    let (app_found, token_found) = store.client_and_token("cli", "tokA").await.unwrap();
    assert_eq!(app_found, Some(app()), "the secret's hash comes with it");
    assert_eq!(token_found.map(|t| t.token_id), Some("tokA".into()));
    let (none, nothing) = store.client_and_token("nobody", "nothing").await.unwrap();
    assert_eq!((none, nothing), (None, None));
    // The flag that lets a resource server introspect others' tokens comes with it too.
    let resource_server = Application {
        client_id: "rs".into(),
        introspect_any: true,
        ..app()
    };
    store.seed_application(resource_server.clone()).await;
    let (found, _) = store.client_and_token("rs", "tokA").await.unwrap();
    assert_eq!(found, Some(resource_server));
    store
        .revoke_by_id("tokA", NOW_SECS, NOW_SECS + 60)
        .await
        .unwrap();
    store
        .revoke_by_id("tokA", NOW_SECS + 1, NOW_SECS + 60)
        .await
        .unwrap();
    let (_, revoked) = store.client_and_token("cli", "tokA").await.unwrap();
    assert_eq!(
        revoked.unwrap().revoked_at,
        Some(NOW_SECS),
        "the first revocation stands"
    );
}

pub(super) async fn a_replay_forbids_a_token_not_yet_written(store: &impl ContractStore) {
    let u = user("alice");
    store.seed_user(u.clone()).await;
    store
        .revoke_by_id("tokB", NOW_SECS, NOW_SECS + 60)
        .await
        .unwrap();
    assert_eq!(
        store.put_token(&token("tokB"), &verified(&u)).await,
        Err(StoreError::Conflict),
        "the first exchange's write, after the replay, stores no live token"
    );
}

pub(super) async fn only_the_code_s_client_and_verifier_see_a_replay(store: &impl ContractStore) {
    store.put_code(&code(5)).await.unwrap();
    let hash = [5; 32];
    let first = store
        .redeem_code(&claim(&hash, "cli", "challenge"), "tok1", NOW_SECS)
        .await;
    assert!(matches!(first.unwrap(), Redemption::Redeemed(_)));
    for (client, challenge) in [("other", "challenge"), ("cli", "other")] {
        let r = store
            .redeem_code(&claim(&hash, client, challenge), "t", NOW_SECS)
            .await
            .unwrap();
        assert_eq!(
            r,
            Redemption::Refused,
            "{client} {challenge}: no replay, no revocation"
        );
    }
    let retried = store
        .redeem_code(&claim(&hash, "cli", "challenge"), "tok1", NOW_SECS + 1)
        .await;
    assert!(
        matches!(retried.unwrap(), Redemption::Redeemed(_)),
        "a redemption retried after a lost answer (same token id) is still this exchange's"
    );
    let replay = store
        .redeem_code(&claim(&hash, "cli", "challenge"), "tok2", NOW_SECS + 1)
        .await;
    assert!(matches!(replay.unwrap(), Redemption::Replayed(_)));
}
