//! What only the DynamoDB adapter does, against moto's server (started by `make test`):
//! tables and TTL, item shapes, outages, operator functions. What every store does is in
//! `store_contract`.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use direct_oauth::random::OsRandom;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::memory::application;
use direct_oauth::store::{
    Application, ApplicationAdmin, FailureCounter, LookupReader, RefreshFamily, RefreshStore,
    StoreError, TokenAdmin, TokenReader, TokenRecord, TokenWriter, UserAdmin, Verified,
};
use direct_oauth::token::AccessToken;
use direct_oauth::token_check::{self, Denial};

use crate::moto;
use crate::store_contract::{app, token, user, verified};

/// A DynamoDB store on fresh tables in moto, and its client; `None` outside `make test`.
pub async fn store() -> Option<(DynamoStore, aws_sdk_dynamodb::Client)> {
    let sdk = moto::moto().await?;
    let client = direct_oauth::aws::dynamodb(&sdk, &Default::default());
    let store = DynamoStore::new(client.clone(), moto::unique_tables());
    store.create_tables().await.expect("tables created");
    Some((store, client))
}

#[tokio::test]
async fn init_is_idempotent_and_enables_ttl() {
    let Some((store, client)) = store().await else {
        return;
    };
    assert!(
        store.create_tables().await.unwrap().is_empty(),
        "second run creates nothing"
    );
    for table in [&store.tables().tokens, &store.tables().failed_logins] {
        let ttl = client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .unwrap();
        let d = ttl.time_to_live_description().unwrap();
        assert_eq!(
            d.time_to_live_status(),
            Some(&TimeToLiveStatus::Enabled),
            "{table}"
        );
        assert_eq!(d.attribute_name(), Some("expires_at"));
    }
}

#[tokio::test]
async fn put_user_and_application_refuse_to_overwrite() {
    let Some((store, _)) = store().await else {
        return;
    };
    store.put_user(&user("bob"), false).await.unwrap();
    assert_eq!(
        store.put_user(&user("bob"), false).await,
        Err(StoreError::Conflict)
    );
    let mut changed = user("bob");
    changed.enabled = false;
    store.put_user(&changed, true).await.unwrap();
    assert!(!store.get_user("bob").await.unwrap().unwrap().enabled);
}

#[tokio::test]
async fn a_token_item_holds_only_the_documented_attributes() {
    let Some((store, client)) = store().await else {
        return;
    };
    store.put_user(&user("alice"), false).await.unwrap();
    store
        .put_token(&token("id-1"), &verified(&user("alice")))
        .await
        .unwrap();
    // No token, no secret: only its id and the secret's hash.
    let item = client
        .get_item()
        .table_name(&store.tables().tokens)
        .key("token_id", AttributeValue::S("id-1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "client_epoch",
            "client_id",
            "expires_at",
            "issued_at",
            "scopes",
            "secret_sha256",
            "token_id",
            "user_generation",
            "username"
        ]
    );
}

/// alice's family for `cli`, every optional attribute set.
fn a_family() -> RefreshFamily {
    RefreshFamily {
        family_id: "fam-1".into(),
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into()],
        user_generation: 0,
        client_epoch: 0,
        jkt: Some("thumbprint".into()),
        current_hash: [2; 32],
        previous_hash: Some([1; 32]),
        created_at: 1_700_000_000,
        idle_until: 1_700_000_600,
        grace_until: 1_700_000_005,
        expires_at: 1_700_007_200,
        revoked_at: None,
        access_tokens: [("id-1".to_string(), 1_700_000_060)].into(),
    }
}

/// A refresh family's item: only its hashes, never a refresh token; and its entry under its
/// person: its client and end. As docs/data.md lists them.
#[tokio::test]
async fn a_refresh_family_s_items_hold_only_the_documented_attributes() {
    let Some((store, client)) = store().await else {
        return;
    };
    store.put_user(&user("alice"), false).await.unwrap();
    let family = a_family();
    let alice = Verified {
        password_hash: None,
        ..verified(&user("alice"))
    };
    store
        .write_family(&family, None, &token("id-1"), &alice)
        .await
        .unwrap();
    store.revoke_family("fam-1", 1_700_000_010).await.unwrap();
    let get = |table: &str, key: Vec<(&str, &str)>| {
        let mut req = client.get_item().table_name(table);
        for (name, value) in key {
            req = req.key(name, AttributeValue::S(value.into()));
        }
        async move { req.send().await.unwrap().item.unwrap() }
    };
    let names = |item: &std::collections::HashMap<String, AttributeValue>| {
        let mut names: Vec<String> = item.keys().cloned().collect();
        names.sort();
        names
    };
    let item = get(&store.tables().refresh_tokens, vec![("family_id", "fam-1")]).await;
    assert_eq!(
        names(&item),
        [
            "access_tokens",
            "client_epoch",
            "client_id",
            "created_at",
            "current_sha256",
            "dpop_jkt",
            "expires_at",
            "family_id",
            "grace_until",
            "idle_until",
            "previous_sha256",
            "revoked_at",
            "scopes",
            "user_generation",
            "username"
        ]
    );
    let key = vec![("username", "alice"), ("token_id", ":refresh:fam-1")];
    let entry = get(&store.tables().user_tokens, key).await;
    assert_eq!(
        names(&entry),
        ["client_id", "expires_at", "token_id", "username"]
    );
    assert_eq!(entry["expires_at"], AttributeValue::N("1700007200".into()));
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_unavailable_not_a_panic() {
    let Some((reachable, _)) = store().await else {
        return;
    };
    let sdk = moto::moto().await.unwrap();
    // The same tables, which exist, through an endpoint that does not answer.
    let store = DynamoStore::new(moto::unreachable_dynamodb(&sdk), reachable.tables().clone());
    assert!(reachable.lookup("cli", Some("alice")).await.is_ok());
    let err = store.lookup("cli", Some("alice")).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .put_token(&token("x"), &verified(&user("alice")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let lease = direct_oauth::store::Lease {
        id: "a".into(),
        until_ms: 2,
    };
    let failure = direct_oauth::store::Failure {
        now_ms: 1,
        forgiven: 0,
        next_attempt_ms: 2,
        expires_at: 3,
    };
    let err = store
        .record_failure("alice", &lease, &failure)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_table_is_unavailable() {
    let Some(sdk) = moto::moto().await else {
        return;
    };
    let client = direct_oauth::aws::dynamodb(&sdk, &Default::default());
    // The same client reaches moto, so the error below is the missing table's, not a
    // refused connection's.
    client.list_tables().send().await.expect("moto answers");
    let store = DynamoStore::new(client, moto::unique_tables());
    match store.lookup("cli", None).await {
        Err(StoreError::Unavailable(why)) => assert!(
            why.contains("ResourceNotFoundException"),
            "the table's absence, not another failure: {why}"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn ending_a_users_tokens_reaches_every_token_and_every_login_in_flight() {
    let Some((store, _)) = store().await else {
        return;
    };
    let alice = user("alice");
    store.put_user(&alice, false).await.unwrap();
    // Two logins read alice; one writes its token now, the other after the revocation.
    let as_read = verified(&alice);
    store.put_token(&token("t-1"), &as_read).await.unwrap();
    assert_eq!(store.user_token_ids("alice").await.unwrap(), ["t-1"]);
    assert_eq!(
        store.revoke_user_tokens("alice", 77).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.put_token(&token("t-2"), &as_read).await,
        Err(StoreError::UserChanged),
        "the login in flight read the old generation"
    );
    assert_eq!(
        store.get_token("t-1").await.unwrap().unwrap().revoked_at,
        Some(77)
    );
    assert!(store.get_token("t-2").await.unwrap().is_none());
    assert_eq!(store.revoke_user_tokens("nobody", 77).await.unwrap(), None);

    // The same for disable, and a password reset.
    let fresh = store.get_user("alice").await.unwrap().unwrap();
    store
        .put_token(&token("t-3"), &verified(&fresh))
        .await
        .unwrap();
    assert!(store.set_user_enabled("alice", false).await.unwrap());
    assert!(store.set_user_enabled("alice", true).await.unwrap());
    let enabled = store.get_user("alice").await.unwrap().unwrap();
    assert!(
        store
            .set_password_hash("alice", "$argon2id$new", false)
            .await
            .unwrap()
    );
    assert_eq!(
        store.put_token(&token("t-4"), &verified(&enabled)).await,
        Err(StoreError::UserChanged),
        "verified the old password"
    );
}

/// A real token for `user` as it is now, stored as a login would store it.
async fn issue(store: &DynamoStore, username: &str) -> AccessToken {
    let user = store.get_user(username).await.unwrap().expect("the user");
    let presented = AccessToken::generate(&OsRandom).unwrap();
    let record = TokenRecord {
        secret_hash: presented.secret_hash(),
        user_generation: user.generation,
        client_epoch: 0,
        username: username.into(),
        ..token(presented.id())
    };
    store.put_token(&record, &verified(&user)).await.unwrap();
    presented
}

/// What a check says of a token now, reading the token and then its user, as the
/// authorizer does.
async fn verdict(store: &DynamoStore, presented: &AccessToken) -> Result<(), Denial> {
    let now = token("-").issued_at;
    let checked = token_check::check(store, presented, None, now).await;
    checked.unwrap().map(|_| ())
}

#[tokio::test]
async fn disable_and_voids_are_one_write_to_the_user_that_every_check_reads() {
    let Some((store, _)) = store().await else {
        return;
    };
    store.put_application(&app(), false).await.unwrap();
    store.put_user(&user("alice"), false).await.unwrap();
    let first = issue(&store, "alice").await;
    assert_eq!(verdict(&store, &first).await, Ok(()));
    let unmarked = |s: &DynamoStore, t: &AccessToken| {
        let (s, id) = (s.clone(), t.id().to_string());
        async move {
            s.get_token(&id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none()
        }
    };

    // Disabled: refused with no write to the token; enabled: good again.
    assert!(store.set_user_enabled("alice", false).await.unwrap());
    assert_eq!(verdict(&store, &first).await, Err(Denial::UserDisabled));
    assert!(unmarked(&store, &first).await);
    assert!(store.set_user_enabled("alice", true).await.unwrap());
    assert_eq!(verdict(&store, &first).await, Ok(()));

    // A reset that revokes voids the token in its one write, with no mark on the token;
    // a login after it, under the raised generation, gets a good token.
    assert!(
        store
            .set_password_hash("alice", "$argon2id$n", true)
            .await
            .unwrap()
    );
    assert!(unmarked(&store, &first).await);
    assert_eq!(verdict(&store, &first).await, Err(Denial::Revoked));
    let after = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(after.tokens_from, after.generation);
    let second = issue(&store, "alice").await;
    assert_eq!(verdict(&store, &second).await, Ok(()));

    // A reset that keeps the tokens raises the generation (logins in flight die) only.
    assert!(
        store
            .set_password_hash("alice", "$argon2id$k", false)
            .await
            .unwrap()
    );
    assert_eq!(verdict(&store, &second).await, Ok(()));
    // Revoking all voids it in the first write too.
    assert_eq!(store.revoke_user_tokens("alice", 5).await.unwrap(), Some(2));
    assert_eq!(verdict(&store, &second).await, Err(Denial::Revoked));
}

#[tokio::test]
async fn the_bcrypt_marker_only_rises_and_goes_with_the_last_hash() {
    let Some((store, _)) = store().await else {
        return;
    };
    let quay = direct_oauth::store::User {
        password_hash: "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234".into(),
        ..user("quay")
    };
    store.put_user(&quay, false).await.unwrap();
    store.mark_bcrypt_in_use(12).await.unwrap();
    store.mark_bcrypt_in_use(10).await.unwrap();
    let cost = |s: &DynamoStore| {
        let s = s.clone();
        async move { s.lookup("cli", Some("x")).await.unwrap().bcrypt_cost }
    };
    assert_eq!(cost(&store).await, Some(12), "never lowered");
    assert_eq!(store.retire_bcrypt_marker().await.unwrap(), 1);
    assert_eq!(cost(&store).await, Some(12), "kept while a hash remains");
    store
        .set_password_hash("quay", "$argon2id$x", false)
        .await
        .unwrap();
    assert_eq!(store.retire_bcrypt_marker().await.unwrap(), 0);
    assert_eq!(cost(&store).await, None, "gone with the last one");
}

#[tokio::test]
async fn operators_list_revoke_and_disable() {
    let Some((store, _)) = store().await else {
        return;
    };
    store.put_user(&user("alice"), false).await.unwrap();
    for (id, issued) in [("t-old", 10), ("t-new", 20)] {
        let mut t = token(id);
        t.issued_at = issued;
        store
            .put_token(&t, &verified(&user("alice")))
            .await
            .unwrap();
    }
    let listed: Vec<String> = store
        .list_tokens_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.token_id)
        .collect();
    assert_eq!(listed, ["t-new", "t-old"], "newest first");

    assert!(store.revoke_token_by_id("t-old", 99).await.unwrap());
    assert!(!store.revoke_token_by_id("t-old", 99).await.unwrap());
    assert!(!store.revoke_token_by_id("missing", 99).await.unwrap());

    assert!(store.set_user_enabled("alice", false).await.unwrap());
    assert!(!store.get_user("alice").await.unwrap().unwrap().enabled);
    assert!(store.set_user_enabled("alice", true).await.unwrap());
    assert!(store.get_user("alice").await.unwrap().unwrap().enabled);
    assert!(!store.set_user_enabled("nobody", false).await.unwrap());

    assert!(
        store
            .set_password_hash("alice", "$argon2id$x", false)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_password_hash("nobody", "$argon2id$x", true)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn applications_are_listed_and_removed() {
    let Some((store, _)) = store().await else {
        return;
    };
    for id in ["b-app", "a-app"] {
        let app = Application {
            redirect_uris: vec!["https://a.example/cb".into()],
            ..application(id)
        };
        store.put_application(&app, false).await.unwrap();
    }
    let ids: Vec<String> = store
        .list_applications()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.client_id)
        .collect();
    assert_eq!(ids, ["a-app", "b-app"]);
    assert!(store.delete_application("a-app").await.unwrap());
    assert!(!store.delete_application("a-app").await.unwrap());
    assert!(store.get_application("a-app").await.unwrap().is_none());
}
