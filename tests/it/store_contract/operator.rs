//! The operator's actions on users and their tokens (`store::operator`): what disabling a
//! user, revoking a user's tokens and a password reset mean, judged by what a check then
//! says (the authorizer's own decision) and by what a login in flight can still write.
//! Client registrations are in `registrations`.

use direct_oauth::random::OsRandom;
use direct_oauth::token::AccessToken;
use direct_oauth::token_check::{self, Denial};

use super::*;

/// When the checks below are made: within every token's lifetime.
const CHECKED_AT: u64 = 1_700_000_030;

/// A token written as a login writes it, for the user as `read`, under the application's
/// epoch as it is now; what the write answered, and the token.
pub(super) async fn login(
    store: &impl ContractStore,
    read: &User,
    issued_at: u64,
) -> (Result<(), StoreError>, AccessToken) {
    let presented = AccessToken::generate(&OsRandom).unwrap();
    let epoch = store.lookup("cli", None).await.unwrap().application;
    let record = TokenRecord {
        secret_hash: presented.secret_hash(),
        user_generation: read.generation,
        client_epoch: epoch.map_or(0, |a| a.token_epoch),
        username: read.username.clone(),
        issued_at,
        expires_at: Some(issued_at + 60),
        ..token(presented.id())
    };
    (store.put_token(&record, &verified(read)).await, presented)
}

/// A token of `username` as the user is now, which the store accepted.
pub(super) async fn issue(store: &impl ContractStore, username: &str) -> AccessToken {
    let now = store.get_user(username).await.unwrap().expect("the user");
    let (written, presented) = login(store, &now, token("-").issued_at).await;
    written.expect("the token written");
    presented
}

/// What a check says of a token now: the record, then its user and application.
pub(super) async fn verdict(
    store: &impl ContractStore,
    presented: &AccessToken,
) -> Result<(), Denial> {
    let checked = token_check::check(store, presented, None, CHECKED_AT).await;
    checked.unwrap().map(|_| ())
}

pub(super) async fn alice(store: &impl ContractStore) -> User {
    store.seed_application(app()).await;
    store.seed_user(user("alice")).await;
    store.get_user("alice").await.unwrap().unwrap()
}

/// A disable is one write to the user: its tokens are refused at their next check (not
/// marked), a login that read it before writes nothing; an enable brings back the tokens
/// that were never voided, but not the login in flight across it.
pub(super) async fn a_disable_refuses_the_user_s_tokens_and_logins_in_flight(
    store: &impl ContractStore,
) {
    let read = alice(store).await;
    let before = issue(store, "alice").await;
    assert_eq!(verdict(store, &before).await, Ok(()));
    assert!(store.set_user_enabled("alice", false).await.unwrap());
    let disabled = store.get_user("alice").await.unwrap().unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.generation, read.generation + 1, "raised");
    assert_eq!(disabled.tokens_from, read.tokens_from, "not voided");
    assert_eq!(verdict(store, &before).await, Err(Denial::UserDisabled));
    let (written, in_flight) = login(store, &read, token("-").issued_at).await;
    assert_eq!(written, Err(StoreError::UserChanged));
    assert_eq!(store.get_token(in_flight.id()).await.unwrap(), None);
    let (written, _) = login(store, &disabled, token("-").issued_at).await;
    assert_eq!(written, Err(StoreError::UserChanged), "disabled");

    assert!(store.set_user_enabled("alice", true).await.unwrap());
    let enabled = store.get_user("alice").await.unwrap().unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.generation, disabled.generation + 1);
    assert_eq!(verdict(store, &before).await, Ok(()), "never voided");
    let (written, _) = login(store, &disabled, token("-").issued_at).await;
    assert_eq!(written, Err(StoreError::UserChanged), "read while disabled");
    assert!(!store.set_user_enabled("nobody", false).await.unwrap());
    assert_eq!(store.get_user("nobody").await.unwrap(), None, "not made");
}

/// `token revoke --user`: the tokens written before are void (and marked, for the
/// listings), a login in flight writes nothing, and a token written after works.
pub(super) async fn revoking_a_user_s_tokens_voids_those_before_and_not_those_after(
    store: &impl ContractStore,
) {
    let read = alice(store).await;
    let (first, second) = (issue(store, "alice").await, issue(store, "alice").await);
    assert_eq!(
        store.revoke_user_tokens("alice", 77).await.unwrap(),
        Some(2)
    );
    let after = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(after.generation, read.generation + 1);
    assert_eq!(after.tokens_from, after.generation, "earlier tokens void");
    for t in [&first, &second] {
        assert_eq!(verdict(store, t).await, Err(Denial::Revoked));
        let record = store.get_token(t.id()).await.unwrap().unwrap();
        assert_eq!(record.revoked_at, Some(77), "marked for the listings");
    }
    let (written, _) = login(store, &read, token("-").issued_at).await;
    assert_eq!(written, Err(StoreError::UserChanged), "in flight");
    let later = issue(store, "alice").await;
    assert_eq!(verdict(store, &later).await, Ok(()), "written after");
    assert_eq!(store.revoke_user_tokens("nobody", 77).await.unwrap(), None);
    assert_eq!(store.get_user("nobody").await.unwrap(), None, "not made");
}

/// A reset always ends the logins that verified the old password; it voids the tokens
/// in the same write only when asked, and the marks that follow are for the listings.
pub(super) async fn a_password_reset_voids_tokens_only_when_asked(store: &impl ContractStore) {
    let read = alice(store).await;
    let kept = issue(store, "alice").await;
    assert!(
        store
            .set_password_hash("alice", "$argon2id$kept", false)
            .await
            .unwrap()
    );
    let reset = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(reset.password_hash, "$argon2id$kept");
    assert_eq!(
        (reset.generation, reset.tokens_from),
        (read.generation + 1, read.tokens_from)
    );
    assert_eq!(verdict(store, &kept).await, Ok(()), "tokens kept");
    let (written, _) = login(store, &read, token("-").issued_at).await;
    assert_eq!(written, Err(StoreError::UserChanged), "the old password");

    assert!(
        store
            .set_password_hash("alice", "$argon2id$void", true)
            .await
            .unwrap()
    );
    let voided = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(voided.generation, reset.generation + 1);
    assert_eq!(voided.tokens_from, voided.generation);
    assert_eq!(verdict(store, &kept).await, Err(Denial::Revoked));
    let record = store.get_token(kept.id()).await.unwrap().unwrap();
    assert_eq!(record.revoked_at, None, "void by the one write, not marked");
    assert_eq!(store.mark_user_tokens_revoked("alice", 5).await.unwrap(), 1);
    assert_eq!(store.mark_user_tokens_revoked("alice", 6).await.unwrap(), 0);
    let after = issue(store, "alice").await;
    assert_eq!(verdict(store, &after).await, Ok(()));
    assert!(
        !store
            .set_password_hash("nobody", "$argon2id$x", true)
            .await
            .unwrap()
    );
    assert_eq!(store.get_user("nobody").await.unwrap(), None, "not made");
}

/// `token list`, `token revoke ID` and the count a reset asks about.
pub(super) async fn a_user_s_tokens_are_listed_newest_first_and_counted_while_live(
    store: &impl ContractStore,
) {
    let read = alice(store).await;
    let mut ids = Vec::new();
    for issued_at in [10, 30, 20] {
        let (written, t) = login(store, &read, issued_at).await;
        written.unwrap();
        ids.push(t.id().to_string());
    }
    let listed: Vec<String> = store
        .list_tokens_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.token_id)
        .collect();
    let newest_first = [&ids[1], &ids[2], &ids[0]].map(String::clone);
    assert_eq!(listed, newest_first);
    assert!(store.list_tokens_for_user("bob").await.unwrap().is_empty());
    // Each token lives 60 s from its issue: at 85 only the one issued at 30 is unexpired.
    assert_eq!(store.live_token_count("alice", 0).await.unwrap(), 3);
    assert_eq!(store.live_token_count("alice", 85).await.unwrap(), 1);
    assert!(store.revoke_token_by_id(&ids[0], 9).await.unwrap());
    assert!(!store.revoke_token_by_id(&ids[0], 9).await.unwrap(), "once");
    assert!(!store.revoke_token_by_id("missing", 9).await.unwrap());
    assert_eq!(store.get_token("missing").await.unwrap(), None, "not made");
    assert_eq!(store.live_token_count("alice", 0).await.unwrap(), 2);
    assert!(
        store
            .set_password_hash("alice", "$argon2id$n", true)
            .await
            .unwrap()
    );
    assert_eq!(store.live_token_count("alice", 0).await.unwrap(), 0, "void");
    assert_eq!(store.live_token_count("nobody", 0).await.unwrap(), 0);
}

/// How many logins run beside one operator action.
const LOGINS: usize = 16;

/// `LOGINS` logins (a read of the user, a few turns for others, the token write) with
/// `action` among them: each login's token, the user it read, and whether it was written.
async fn logins_amid<S: ContractStore>(
    store: &S,
    action: impl std::future::Future<Output = ()>,
) -> Vec<(AccessToken, User, bool)> {
    let logins = (0..LOGINS).map(|i| async move {
        let read = store.lookup("cli", Some("alice")).await.unwrap().user;
        let read = read.expect("alice");
        for _ in 0..i % 4 {
            tokio::task::yield_now().await;
        }
        let (written, t) = login(store, &read, token("-").issued_at).await;
        match written {
            Ok(()) => (t, read, true),
            Err(StoreError::UserChanged) => (t, read, false),
            Err(e) => panic!("a login's write: {e:?}"),
        }
    });
    let mut firsts: Vec<_> = logins.collect();
    let lasts = firsts.split_off(LOGINS / 2);
    let (firsts, (), lasts) = tokio::join!(
        futures::future::join_all(firsts),
        action,
        futures::future::join_all(lasts)
    );
    firsts.into_iter().chain(lasts).collect()
}

/// A disable amid logins: a token is written only for a login that read the user
/// enabled, and none works: refused at its write, or written before and refused at its
/// check.
pub(super) async fn a_disable_amid_logins_leaves_no_token_working(store: &impl ContractStore) {
    let before = alice(store).await;
    let disable = async {
        assert!(store.set_user_enabled("alice", false).await.unwrap());
    };
    let outcomes = logins_amid(store, disable).await;
    let user = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(
        (user.enabled, user.generation),
        (false, before.generation + 1)
    );
    for (t, read, written) in &outcomes {
        let stored = store.get_token(t.id()).await.unwrap();
        assert_eq!(stored.is_some(), *written, "stored iff the write said so");
        if *written {
            assert_eq!(
                read, &before,
                "written only for the user before the disable"
            );
        }
        assert_ne!(verdict(store, t).await, Ok(()), "no token works");
    }
}

/// `token revoke --user` amid logins: a login that read the user before it gets no
/// working token (refused at its write, or void under `tokens_from`); one that read it
/// after gets a working one.
pub(super) async fn a_user_revocation_amid_logins_voids_every_earlier_login_s_token(
    store: &impl ContractStore,
) {
    let before = alice(store).await;
    let revoke = async {
        assert!(
            store
                .revoke_user_tokens("alice", 5)
                .await
                .unwrap()
                .is_some()
        );
    };
    let outcomes = logins_amid(store, revoke).await;
    let user = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(user.tokens_from, before.generation + 1);
    for (t, read, written) in &outcomes {
        let stored = store.get_token(t.id()).await.unwrap();
        assert_eq!(stored.is_some(), *written, "stored iff the write said so");
        if read == &before {
            assert_ne!(
                verdict(store, t).await,
                Ok(()),
                "read before: void or refused"
            );
        } else {
            assert!(*written, "read after: written");
            assert_eq!(verdict(store, t).await, Ok(()), "read after: it works");
        }
    }
}
