//! The store's contract, written once: what the flow and the authorizer rely on from any
//! store. Every case runs on `MemoryStore` (always) and on the DynamoDB store against moto
//! (skipped outside `make test`, failing under `CI=true`), so the fake the flow tests use
//! cannot drift from the real adapter.

mod api_tokens;
mod attempts;
mod codes;
mod devices;
mod linking;
mod one_time;
mod operator;
mod outages;
mod refresh;
mod registrations;
mod web_approval;
mod whitelist;

use api_tokens::*;
use attempts::*;
use codes::*;
use devices::*;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::{
    Access, Admission, Application, FailedLogins, Failure, Lease, StoreError, TokenRecord, User,
    Verified,
};
use linking::*;
use one_time::*;
use operator::*;
use outages::*;
use refresh::*;
use registrations::*;
use web_approval::*;

/// A store under test: the ports, plus a way to seed what operators write.
pub trait ContractStore:
    direct_oauth::store::Store
    + direct_oauth::store::TokenUse
    + direct_oauth::store::LinkedUsers
    + direct_oauth::store::UserAdmin
    + direct_oauth::store::TokenAdmin
    + direct_oauth::store::ApplicationAdmin
{
    async fn seed_user(&self, user: User);
    async fn seed_application(&self, app: Application);
    /// What `user import-quay` records: bcrypt hashes of up to `cost` remain.
    async fn seed_bcrypt_cost(&self, cost: u32);
    /// The bcrypt marker's steps, so a case can interleave an import with a settle.
    async fn mark_bcrypt(&self, cost: u32);
    async fn marker_version(&self) -> Option<u64>;
    async fn bcrypt_users(&self) -> u64;
    async fn remove_marker(&self, version: u64) -> bool;
    /// Another instance of the store, as another Lambda instance holds one: the same
    /// records, its own client.
    async fn another_instance(&self) -> Self
    where
        Self: Sized;
}

impl ContractStore for MemoryStore {
    async fn seed_user(&self, user: User) {
        self.put_user(user);
    }
    async fn seed_application(&self, app: Application) {
        self.put_application(app);
    }
    async fn seed_bcrypt_cost(&self, cost: u32) {
        self.set_bcrypt_cost(Some(cost));
    }
    async fn mark_bcrypt(&self, cost: u32) {
        self.mark_bcrypt_in_use(cost);
    }
    async fn marker_version(&self) -> Option<u64> {
        self.bcrypt_marker_version()
    }
    async fn bcrypt_users(&self) -> u64 {
        self.count_bcrypt_users()
    }
    async fn remove_marker(&self, version: u64) -> bool {
        self.remove_bcrypt_marker(version)
    }
    async fn another_instance(&self) -> Self {
        self.clone()
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
    async fn seed_bcrypt_cost(&self, cost: u32) {
        self.mark_bcrypt_in_use(cost).await.expect("marker written");
    }
    async fn mark_bcrypt(&self, cost: u32) {
        self.mark_bcrypt_in_use(cost).await.expect("marker written");
    }
    async fn marker_version(&self) -> Option<u64> {
        self.bcrypt_marker_version().await.expect("marker read")
    }
    async fn bcrypt_users(&self) -> u64 {
        self.count_bcrypt_users().await.expect("users scanned")
    }
    async fn remove_marker(&self, version: u64) -> bool {
        self.remove_bcrypt_marker(version)
            .await
            .expect("marker removal")
    }
    async fn another_instance(&self) -> Self {
        // Its own configuration and client, so its own connections.
        let sdk = crate::moto::moto().await.expect("moto");
        let client = direct_oauth::aws::dynamodb(&sdk, &Default::default());
        DynamoStore::new(client, self.tables().clone())
    }
}

/// A user of the users table, with a password.
pub fn user(name: &str) -> User {
    User {
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        ..direct_oauth::store::memory::user(name)
    }
}

pub fn token(id: &str) -> TokenRecord {
    TokenRecord {
        secret_hash: [7; 32],
        scopes: vec!["repo:read".into(), "org:admin".into()],
        issued_at: 1_700_000_000,
        expires_at: Some(1_700_000_060),
        ..direct_oauth::store::memory::token_record(id, "alice", "cli")
    }
}

/// `alice` as a login verified her: what the token write holds her to.
pub fn verified(u: &User) -> Verified {
    Verified {
        username: u.username.clone(),
        password_hash: Some(u.password_hash.clone()),
        generation: u.generation,
        new_password_hash: None,
    }
}

pub(super) fn app() -> Application {
    Application {
        client_id: "cli".into(),
        name: "Client".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
        secret_hash: Some([9; 32]),
        introspect_any: false,
        token_epoch: 0,
        access: Access {
            users: ["quinn".to_string()].into(),
            groups: ["ci".to_string(), "quay-admins".to_string()].into(),
        },
        require_dpop: false,
        // Not the defaults, so a store that forgets them fails the round trip.
        implicit: true,
        device_grant: true,
        token_lifetime: Some(std::time::Duration::from_secs(3_600)),
        refresh: Some(direct_oauth::refresh::RefreshTerms {
            idle: std::time::Duration::from_secs(600),
            absolute: std::time::Duration::from_secs(7_200),
            grace: std::time::Duration::from_secs(5),
        }),
        api_tokens: direct_oauth::api_token::ApiTokenTerms {
            default_days: 7,
            max_days: 14,
            no_expiry: true,
            cap: 3,
        },
    }
}

pub(super) fn lease(id: &str, until_ms: u64) -> Lease {
    Lease {
        id: id.into(),
        until_ms,
    }
}

pub(super) const NOW: u64 = 1_000_000;
pub(super) const EXP: u64 = 99_999;

async fn lookup_reads_application_and_user_together(store: &impl ContractStore) {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    let got = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(got.application, Some(app()));
    assert_eq!(got.user, Some(user("alice")));
    let none = store.lookup("nope", Some("nobody")).await.unwrap();
    assert_eq!((none.application, none.user), (None, None));
    let app_only = store.lookup("cli", None).await.unwrap();
    assert!(app_only.application.is_some() && app_only.user.is_none());
    let user_only = store.lookup("", Some("alice")).await.unwrap();
    assert_eq!(
        (user_only.application, user_only.user),
        (None, Some(user("alice")))
    );
}

async fn the_bcrypt_marker_is_read_with_the_user(store: &impl ContractStore) {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    assert_eq!(
        store
            .lookup("cli", Some("alice"))
            .await
            .unwrap()
            .bcrypt_cost,
        None
    );
    store.seed_bcrypt_cost(12).await;
    let seen = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(
        (seen.bcrypt_cost, seen.user),
        (Some(12), Some(user("alice")))
    );
    let unknown = store.lookup("cli", Some("nobody")).await.unwrap();
    assert_eq!(
        (unknown.bcrypt_cost, unknown.user),
        (Some(12), None),
        "for any name"
    );
}

async fn token_writes_never_overwrite(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    store
        .put_token(&token("id-1"), &verified(&alice))
        .await
        .unwrap();
    let mut other = token("id-1");
    other.scopes = vec!["repo:admin".into()];
    assert_eq!(
        store.put_token(&other, &verified(&alice)).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_token("id-1").await.unwrap(), Some(token("id-1")));
    assert_eq!(store.get_token("id-2").await.unwrap(), None);
}

async fn a_token_is_read_with_the_user_and_application_it_names(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    store.seed_application(app()).await;
    store
        .put_token(&token("id-n"), &verified(&alice))
        .await
        .unwrap();
    let (record, parties) = store
        .token_and_parties("id-n", "alice", "cli")
        .await
        .unwrap();
    assert_eq!(record, Some(token("id-n")));
    assert_eq!(
        (parties.user, parties.application),
        (Some(alice), Some(app()))
    );
    // Whatever is missing reads as missing, the rest as it is.
    let (record, parties) = store
        .token_and_parties("id-none", "nobody", "cli")
        .await
        .unwrap();
    assert_eq!((record, parties.user), (None, None));
    assert_eq!(parties.application, Some(app()));
    let (record, parties) = store
        .token_and_parties("id-n", "alice", "gone")
        .await
        .unwrap();
    assert!(record.is_some() && parties.user.is_some() && parties.application.is_none());
}

async fn a_token_is_written_only_for_the_user_as_verified(store: &impl ContractStore) {
    let alice = user("alice");
    let as_read = verified(&alice);
    for (changed, why) in [
        (
            User {
                enabled: false,
                ..alice.clone()
            },
            "disabled",
        ),
        (
            User {
                password_hash: "$argon2id$other".into(),
                ..alice.clone()
            },
            "password reset",
        ),
        (
            User {
                generation: 1,
                ..alice.clone()
            },
            "tokens revoked",
        ),
    ] {
        store.seed_user(changed).await;
        assert_eq!(
            store.put_token(&token("id-x"), &as_read).await,
            Err(StoreError::UserChanged),
            "{why}"
        );
        assert_eq!(
            store.get_token("id-x").await.unwrap(),
            None,
            "{why}: nothing written"
        );
    }
    let gone = verified(&user("nobody"));
    assert_eq!(
        store.put_token(&token("id-y"), &gone).await,
        Err(StoreError::UserChanged),
        "a user that does not exist"
    );
}

async fn a_rehash_replaces_only_the_verified_hash(store: &impl ContractStore) {
    store.seed_application(app()).await;
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    let upgrade = Verified {
        new_password_hash: Some("$argon2id$new".into()),
        ..verified(&alice)
    };
    store.put_token(&token("id-2"), &upgrade).await.unwrap();
    let seen = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(seen.user.unwrap().password_hash, "$argon2id$new");
    // A second login that verified the old hash, after the upgrade (or a reset): no
    // token, and the hash stays.
    assert_eq!(
        store.put_token(&token("id-3"), &upgrade).await,
        Err(StoreError::UserChanged)
    );
    let seen = store.lookup("cli", Some("alice")).await.unwrap();
    assert_eq!(seen.user.unwrap().password_hash, "$argon2id$new");
    assert_eq!(store.get_token("id-3").await.unwrap(), None);
}

async fn revocation_needs_the_secret_and_happens_once(store: &impl ContractStore) {
    let alice = user("alice");
    store.seed_user(alice.clone()).await;
    store
        .put_token(&token("id-r"), &verified(&alice))
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
    lookup_reads_application_and_user_together,
    a_directory_user_is_linked_once_and_never_over_a_record,
    a_directory_login_takes_over_only_a_record_of_nobody_s,
    a_sync_walks_the_linked_records_and_disables_one_person_once,
    the_records_of_early_directory_logins_are_walked_and_disabled_once,
    a_session_is_written_once_read_used_and_ended,
    consent_is_remembered_per_person_and_application,
    many_creations_at_once_stay_under_the_cap,
    only_live_api_tokens_count_against_the_cap,
    an_api_token_is_revoked_by_its_owner_only,
    an_api_token_is_written_only_for_the_user_as_read,
    ending_access_revokes_one_application_s_tokens,
    a_use_is_recorded_once_per_interval,
    the_bcrypt_marker_is_read_with_the_user,
    one_attempt_per_name_is_admitted_at_a_time,
    an_admission_retried_after_a_lost_answer_is_still_admitted,
    a_failure_opens_a_window_and_is_counted,
    an_ended_lease_is_taken_and_its_old_holder_changes_nothing,
    failures_count_up_for_any_name,
    a_release_keeps_the_failures,
    decay_is_taken_off_before_a_failure_is_added,
    a_failure_whose_lease_was_lost_is_counted_and_leaves_the_new_lease,
    an_import_between_a_settle_s_read_and_its_removal_keeps_the_marker,
    token_writes_never_overwrite,
    a_token_is_read_with_the_user_and_application_it_names,
    a_token_is_written_only_for_the_user_as_verified,
    a_rehash_replaces_only_the_verified_hash,
    revocation_needs_the_secret_and_happens_once,
    a_family_is_started_once_and_reads_back,
    a_rotation_holds_to_the_live_token_as_read,
    a_family_is_written_only_for_the_user_as_read,
    a_family_s_revocation_ends_its_access_tokens_once,
    ending_access_ends_that_application_s_families_only,
    of_many_rotations_from_one_read_one_writes,
    an_outage_of_the_families_writes_nothing,
    a_code_is_written_once_and_redeemed_once,
    a_code_is_only_for_its_client_verifier_and_time,
    a_bound_code_is_only_for_its_key,
    two_redemptions_at_once_one_wins,
    of_many_redemptions_of_a_bound_code_only_its_key_wins,
    introspection_reads_the_client_and_the_token_at_once,
    a_replay_forbids_a_token_not_yet_written,
    only_the_code_s_client_and_verifier_see_a_replay,
    an_outage_fails_every_call_and_writes_nothing,
    a_failing_write_after_a_good_read_writes_nothing,
    a_token_write_whose_answer_is_lost_is_stored,
    a_redemption_whose_answer_is_lost_is_still_the_redemption,
    a_proof_is_used_once_until_its_time,
    of_many_uses_at_once_one_is_first,
    the_nonce_secret_is_one_for_every_instance,
    a_bound_token_and_a_dpop_only_application_read_back,
    a_disable_refuses_the_user_s_tokens_and_logins_in_flight,
    revoking_a_user_s_tokens_voids_those_before_and_not_those_after,
    a_password_reset_voids_tokens_only_when_asked,
    a_user_s_tokens_are_listed_newest_first_and_counted_while_live,
    users_and_applications_are_added_once_and_removed,
    revoking_a_client_s_tokens_raises_its_epoch,
    of_two_edits_from_one_read_one_is_stored,
    a_disable_amid_logins_leaves_no_token_working,
    a_user_revocation_amid_logins_voids_every_earlier_login_s_token,
    a_device_authorization_is_written_once_and_found_by_its_user_code,
    a_device_is_decided_once_and_only_while_live,
    of_polls_at_once_one_is_in_time,
    a_device_is_redeemed_once_and_only_when_approved,
    wrong_user_codes_are_counted_per_person_in_a_window,
);
