//! The DynamoDB adapter against moto's server (started by `make test`).

mod common;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::{
    AfterLogin, Application, Directory, FailureCounter, StoreError, TokenReader, TokenRecord,
    TokenRevoker, TokenWriter, User,
};

async fn store() -> Option<(DynamoStore, aws_sdk_dynamodb::Client)> {
    let sdk = common::moto().await?;
    let client = direct_oauth::aws::dynamodb(&sdk, &Default::default());
    let store = DynamoStore::new(client.clone(), common::unique_tables());
    store.create_tables().await.expect("tables created");
    Some((store, client))
}

fn user(name: &str) -> User {
    User {
        username: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        enabled: true,
        superuser: false,
    }
}

fn token(id: &str) -> TokenRecord {
    TokenRecord {
        token_id: id.into(),
        secret_hash: [7; 32],
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into(), "org:admin".into()],
        issued_at: 1_700_000_000,
        expires_at: 1_700_000_060,
        revoked_at: None,
        user_disabled: false,
    }
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
async fn lookup_reads_application_user_and_failures_together() {
    let Some((store, _)) = store().await else {
        return;
    };
    let app = Application {
        client_id: "cli".into(),
        name: "Client".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
    };
    store.put_application(&app, false).await.unwrap();
    store.put_user(&user("alice"), false).await.unwrap();
    let got = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(got.application.as_ref(), Some(&app));
    assert_eq!(got.user, Some(user("alice")));
    assert_eq!(got.failed_logins, None);

    store.record_failure("alice", 1_000, 99).await.unwrap();
    let n = store.record_failure("alice", 2_000, 99).await.unwrap();
    assert_eq!((n.failures, n.last_failure_ms), (2, 2_000));
    let got = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(got.failed_logins.unwrap().failures, 2);

    let none = store.lookup("nope", Some("nobody")).await.unwrap();
    assert_eq!(
        (none.application, none.user, none.failed_logins),
        (None, None, None)
    );
    let app_only = store.lookup("cli", None).await.unwrap();
    assert!(app_only.application.is_some() && app_only.user.is_none());
}

#[tokio::test]
async fn failures_are_counted_for_unknown_names_too() {
    let Some((store, _)) = store().await else {
        return;
    };
    store.record_failure("ghost", 5, 99).await.unwrap();
    assert_eq!(
        store
            .get_failed_logins("ghost")
            .await
            .unwrap()
            .unwrap()
            .failures,
        1
    );
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
async fn token_writes_never_overwrite() {
    let Some((store, client)) = store().await else {
        return;
    };
    store
        .put_token(&token("id-1"), &AfterLogin::default())
        .await
        .unwrap();
    let mut other = token("id-1");
    other.username = "mallory".into();
    assert_eq!(
        store.put_token(&other, &AfterLogin::default()).await,
        Err(StoreError::Conflict)
    );
    let with_reset = AfterLogin {
        reset_failures: true,
        new_password_hash: None,
    };
    assert_eq!(
        store.put_token(&other, &with_reset).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.get_token("id-1").await.unwrap().unwrap(),
        token("id-1")
    );

    // The stored item holds exactly the documented attributes: no token, no secret.
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
            "client_id",
            "expires_at",
            "issued_at",
            "scopes",
            "secret_sha256",
            "token_id",
            "username"
        ]
    );
}

#[tokio::test]
async fn a_login_resets_failures_and_upgrades_the_hash_with_the_token() {
    let Some((store, _)) = store().await else {
        return;
    };
    store.put_user(&user("alice"), false).await.unwrap();
    store.record_failure("alice", 1, 99).await.unwrap();
    let after = AfterLogin {
        reset_failures: true,
        new_password_hash: Some("$argon2id$new".into()),
    };
    store.put_token(&token("id-2"), &after).await.unwrap();
    assert_eq!(store.get_failed_logins("alice").await.unwrap(), None);
    assert_eq!(
        store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
    assert!(store.get_token("id-2").await.unwrap().is_some());
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_unavailable_not_a_panic() {
    let Some((reachable, _)) = store().await else {
        return;
    };
    let sdk = common::moto().await.unwrap();
    // The same tables, which exist, through an endpoint that does not answer.
    let store = DynamoStore::new(
        common::unreachable_dynamodb(&sdk),
        reachable.tables().clone(),
    );
    assert!(reachable.lookup("cli", Some("alice")).await.is_ok());
    let err = store.lookup("cli", Some("alice")).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .put_token(&token("x"), &AfterLogin::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.record_failure("alice", 1, 2).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_table_is_unavailable() {
    let Some(sdk) = common::moto().await else {
        return;
    };
    let store = DynamoStore::new(
        direct_oauth::aws::dynamodb(&sdk, &Default::default()),
        common::unique_tables(),
    );
    assert!(matches!(
        store.lookup("cli", None).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn revocation_needs_the_secret_and_happens_once() {
    let Some((store, _)) = store().await else {
        return;
    };
    store
        .put_token(&token("id-r"), &AfterLogin::default())
        .await
        .unwrap();
    assert!(
        !store.revoke_token("id-r", &[8; 32], 50).await.unwrap(),
        "wrong secret"
    );
    assert!(
        !store.revoke_token("nope", &[7; 32], 50).await.unwrap(),
        "unknown id"
    );
    assert!(store.revoke_token("id-r", &[7; 32], 50).await.unwrap());
    assert!(
        !store.revoke_token("id-r", &[7; 32], 60).await.unwrap(),
        "already revoked"
    );
    assert_eq!(
        store.get_token("id-r").await.unwrap().unwrap().revoked_at,
        Some(50)
    );
    assert!(store.get_token("nope").await.unwrap().is_none());
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
        store.put_token(&t, &AfterLogin::default()).await.unwrap();
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
    assert!(
        store
            .get_token("t-new")
            .await
            .unwrap()
            .unwrap()
            .user_disabled
    );
    assert!(
        !store
            .get_token("t-old")
            .await
            .unwrap()
            .unwrap()
            .user_disabled,
        "revoked tokens stay as they are"
    );
    assert!(store.set_user_enabled("alice", true).await.unwrap());
    assert!(
        !store
            .get_token("t-new")
            .await
            .unwrap()
            .unwrap()
            .user_disabled
    );
    assert!(!store.set_user_enabled("nobody", false).await.unwrap());

    assert!(
        store
            .set_password_hash("alice", "$argon2id$x")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_password_hash("nobody", "$argon2id$x")
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
            client_id: id.into(),
            name: id.into(),
            redirect_uris: vec!["https://a.example/cb".into()],
            scope_ceiling: None,
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
