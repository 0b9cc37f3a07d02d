//! The store's contract, written once: what the flow and the authorizer rely on from any
//! store. Every case runs on `MemoryStore` (always) and on the DynamoDB store against moto
//! (skipped outside `make test`, failing under `CI=true`), so the fake the flow tests use
//! cannot drift from the real adapter.

use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::{
    AfterLogin, Application, Directory, FailureCounter, StoreError, TokenReader, TokenRecord,
    TokenRevoker, TokenWriter, User,
};

/// A store under test: the ports, plus a way to seed what operators write.
pub trait ContractStore:
    Directory + TokenWriter + TokenReader + TokenRevoker + FailureCounter
{
    async fn seed_user(&self, user: User);
    async fn seed_application(&self, app: Application);
}

impl ContractStore for MemoryStore {
    async fn seed_user(&self, user: User) {
        self.put_user(user);
    }
    async fn seed_application(&self, app: Application) {
        self.put_application(app);
    }
}

impl ContractStore for DynamoStore {
    async fn seed_user(&self, user: User) {
        self.put_user(&user, true).await.expect("user written");
    }
    async fn seed_application(&self, app: Application) {
        self.put_application(&app, true)
            .await
            .expect("application written");
    }
}

pub fn user(name: &str) -> User {
    User {
        username: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        enabled: true,
        superuser: false,
    }
}

pub fn token(id: &str) -> TokenRecord {
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

fn app() -> Application {
    Application {
        client_id: "cli".into(),
        name: "Client".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
    }
}

async fn lookup_reads_application_user_and_failures_together(store: &impl ContractStore) {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    let got = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(got.application, Some(app()));
    assert_eq!(got.user, Some(user("alice")));
    assert_eq!(got.failed_logins, None);

    store.record_failure("alice", 1_000, 99).await.unwrap();
    let got = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(got.failed_logins.map(|f| f.failures), Some(1));

    let none = store.lookup("nope", Some("nobody")).await.unwrap();
    assert_eq!(
        (none.application, none.user, none.failed_logins),
        (None, None, None)
    );
    let app_only = store.lookup("cli", None).await.unwrap();
    assert!(app_only.application.is_some() && app_only.user.is_none());
    assert!(
        app_only.failed_logins.is_none(),
        "no name, no failed-login read"
    );
}

async fn failures_count_up_for_any_name(store: &impl ContractStore) {
    let first = store.record_failure("ghost", 1_000, 99).await.unwrap();
    assert_eq!((first.failures, first.last_failure_ms), (1, 1_000));
    let second = store.record_failure("ghost", 2_000, 99).await.unwrap();
    assert_eq!((second.failures, second.last_failure_ms), (2, 2_000));
    let seen = store.lookup("cli", Some("ghost")).await.unwrap();
    assert_eq!(
        seen.failed_logins,
        Some(second),
        "unknown names are counted"
    );
    assert!(seen.user.is_none());
}

async fn token_writes_never_overwrite(store: &impl ContractStore) {
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
        Err(StoreError::Conflict),
        "also when the write is a transaction"
    );
    assert_eq!(store.get_token("id-1").await.unwrap(), Some(token("id-1")));
    assert_eq!(store.get_token("id-2").await.unwrap(), None);
}

async fn a_login_resets_failures_and_upgrades_the_hash_with_the_token(store: &impl ContractStore) {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    store.record_failure("alice", 1, 99).await.unwrap();
    let after = AfterLogin {
        reset_failures: true,
        new_password_hash: Some("$argon2id$new".into()),
    };
    store.put_token(&token("id-2"), &after).await.unwrap();
    let seen = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(seen.failed_logins, None);
    assert_eq!(seen.user.unwrap().password_hash, "$argon2id$new");
    assert!(store.get_token("id-2").await.unwrap().is_some());
}

async fn a_token_conflict_changes_nothing_else(store: &impl ContractStore) {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    store.record_failure("alice", 1, 99).await.unwrap();
    store
        .put_token(&token("id-3"), &AfterLogin::default())
        .await
        .unwrap();
    let after = AfterLogin {
        reset_failures: true,
        new_password_hash: Some("$argon2id$new".into()),
    };
    assert_eq!(
        store.put_token(&token("id-3"), &after).await,
        Err(StoreError::Conflict)
    );
    let seen = store.lookup("cli", Some("alice")).await.unwrap();
    assert!(seen.failed_logins.is_some(), "no reset without a token");
    assert_eq!(
        seen.user.unwrap().password_hash,
        user("alice").password_hash
    );
}

async fn revocation_needs_the_secret_and_happens_once(store: &impl ContractStore) {
    store
        .put_token(&token("id-r"), &AfterLogin::default())
        .await
        .unwrap();
    assert!(
        !store.revoke_token("id-r", &[8; 32], 50).await.unwrap(),
        "wrong secret"
    );
    assert_eq!(
        store.get_token("id-r").await.unwrap().unwrap().revoked_at,
        None
    );
    assert!(
        !store.revoke_token("nope", &[7; 32], 50).await.unwrap(),
        "unknown id"
    );
    assert!(
        store.get_token("nope").await.unwrap().is_none(),
        "not created"
    );
    assert!(store.revoke_token("id-r", &[7; 32], 50).await.unwrap());
    assert!(
        !store.revoke_token("id-r", &[7; 32], 60).await.unwrap(),
        "already revoked"
    );
    assert_eq!(
        store.get_token("id-r").await.unwrap().unwrap().revoked_at,
        Some(50),
        "the first revocation's time stays"
    );
}

/// Each case, once per store.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&super::MemoryStore::default()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some((store, _)) = crate::dynamodb::store().await else {
                        return;
                    };
                    super::$case(&store).await;
                }
            )*
        }
    };
}

contract!(
    lookup_reads_application_user_and_failures_together,
    failures_count_up_for_any_name,
    token_writes_never_overwrite,
    a_login_resets_failures_and_upgrades_the_hash_with_the_token,
    a_token_conflict_changes_nothing_else,
    revocation_needs_the_secret_and_happens_once,
);
