//! The operator's actions on client registrations (`store::operator::ApplicationAdmin`):
//! added once, removed, revoked by a new token epoch, and edited only over what the edit
//! read.

use direct_oauth::token_check::Denial;

use super::operator::{alice, issue, verdict};
use super::*;

/// Users and applications are added once; applications are listed and removed, and a
/// removed application's tokens are refused.
pub(super) async fn users_and_applications_are_added_once_and_removed(store: &impl ContractStore) {
    store.add_user(&user("alice")).await.unwrap();
    let other = User {
        superuser: true,
        ..user("alice")
    };
    assert_eq!(store.add_user(&other).await, Err(StoreError::Conflict));
    assert_eq!(store.get_user("alice").await.unwrap(), Some(user("alice")));
    let named = |id: &str| Application {
        client_id: id.into(),
        ..app()
    };
    for id in ["cli", "b-app", "a-app"] {
        store.add_application(&named(id)).await.unwrap();
    }
    let renamed = Application {
        name: "Taken".into(),
        ..app()
    };
    assert_eq!(
        store.add_application(&renamed).await,
        Err(StoreError::Conflict)
    );
    let ids: Vec<String> = store
        .list_applications()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.client_id)
        .collect();
    assert_eq!(ids, ["a-app", "b-app", "cli"]);
    let t = issue(store, "alice").await;
    assert_eq!(verdict(store, &t).await, Ok(()));
    assert!(store.delete_application("cli").await.unwrap());
    assert!(!store.delete_application("cli").await.unwrap());
    assert_eq!(verdict(store, &t).await, Err(Denial::ClientRemoved));
    assert_eq!(store.get_application_for_update("cli").await.unwrap(), None);
}

/// `token revoke --client`: a new epoch refuses every earlier token, in one write that an
/// edit which read the old epoch cannot undo.
pub(super) async fn revoking_a_client_s_tokens_raises_its_epoch(store: &impl ContractStore) {
    alice(store).await;
    let before = issue(store, "alice").await;
    let (read, version) = store
        .get_application_for_update("cli")
        .await
        .unwrap()
        .unwrap();
    assert!(store.revoke_client_tokens("cli").await.unwrap());
    let (now, raised) = store
        .get_application_for_update("cli")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.token_epoch, read.token_epoch + 1);
    assert!(raised > version, "an edit version raised with it");
    assert_eq!(verdict(store, &before).await, Err(Denial::Revoked));
    let after = issue(store, "alice").await;
    assert_eq!(
        verdict(store, &after).await,
        Ok(()),
        "issued under the new epoch"
    );
    assert_eq!(
        store.replace_application(&read, version).await,
        Err(StoreError::Conflict),
        "an edit that read the old epoch"
    );
    let kept = store.get_application_for_update("cli").await.unwrap();
    assert_eq!(kept.map(|(a, _)| a.token_epoch), Some(now.token_epoch));
    assert!(!store.revoke_client_tokens("nope").await.unwrap());
    assert!(!store.set_client_secret("nope", &[1; 32]).await.unwrap());
    assert_eq!(
        store.get_application_for_update("nope").await.unwrap(),
        None
    );
}

/// An edit is written only over what it read: of two edits from one read, one is stored
/// and the other is told [`StoreError::Conflict`]; a rotation or a removal meanwhile
/// makes an edit conflict too, and is kept.
pub(super) async fn of_two_edits_from_one_read_one_is_stored(store: &impl ContractStore) {
    store.seed_application(app()).await;
    let (read, version) = store
        .get_application_for_update("cli")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, app());
    let edit = |name: &str| Application {
        name: name.into(),
        ..read.clone()
    };
    let (one, two) = (edit("One"), edit("Two"));
    let (a, b) = tokio::join!(
        store.replace_application(&one, version),
        store.replace_application(&two, version)
    );
    let (stored, next) = store
        .get_application_for_update("cli")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next, version + 1);
    match (a, b) {
        (Ok(()), Err(StoreError::Conflict)) => assert_eq!(stored, one),
        (Err(StoreError::Conflict), Ok(())) => assert_eq!(stored, two),
        other => panic!("exactly one edit is stored: {other:?}"),
    }
    // A rotation between an edit's read and its write: the edit conflicts, the secret stays.
    assert!(store.set_client_secret("cli", &[3; 32]).await.unwrap());
    assert_eq!(
        store.replace_application(&edit("Three"), next).await,
        Err(StoreError::Conflict)
    );
    let (rotated, last) = store
        .get_application_for_update("cli")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.secret_hash, Some([3; 32]));
    assert_eq!(rotated.name, stored.name);
    // Read again, the edit is written.
    let again = Application {
        name: "Three".into(),
        ..rotated.clone()
    };
    store.replace_application(&again, last).await.unwrap();
    assert_eq!(
        store.get_application_for_update("cli").await.unwrap(),
        Some((again.clone(), last + 1))
    );
    assert!(store.delete_application("cli").await.unwrap());
    assert_eq!(
        store.replace_application(&again, last + 1).await,
        Err(StoreError::Conflict),
        "never brought back by an edit"
    );
    assert_eq!(store.get_application_for_update("cli").await.unwrap(), None);
}
