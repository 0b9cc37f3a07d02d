//! Directory users' local records: made once, never over a record that is not theirs.

use direct_oauth::store::DirectoryLink;

use super::*;

/// A directory user's record is written once, by whichever login comes first, and never
/// replaces one that is there (an operator's, a disabled one, another person's); a record
/// with nothing of its own (made before records named their directory) is adopted; a
/// token then holds to it.
pub(super) async fn a_directory_user_is_linked_once_and_never_over_a_record(
    store: &impl ContractStore,
) {
    let link = |id: &str| DirectoryLink {
        directory: "ldap".into(),
        id: id.into(),
    };
    let linked = store.link_user("dora", &link("id-dora")).await.unwrap();
    assert_eq!(linked, User::linked("dora", &link("id-dora")));
    let dora = link("id-dora");
    let (a, b) = tokio::join!(
        store.link_user("dora", &dora),
        store.link_user("dora", &dora)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (linked.clone(), linked.clone()));
    // Another person who holds the name now gets the record as it is, to be refused.
    let other = store.link_user("dora", &link("id-other")).await.unwrap();
    assert_eq!(other, linked, "never relinked to another id");
    let disabled = User {
        enabled: false,
        generation: 4,
        ..User::linked("ned", &link("id-ned"))
    };
    store.seed_user(disabled.clone()).await;
    assert_eq!(
        store.link_user("ned", &link("id-ned")).await.unwrap(),
        disabled
    );
    // The users table's own user, or a superuser flag an operator set: never taken over.
    let own = user("olga");
    store.seed_user(own.clone()).await;
    assert_eq!(
        store.link_user("olga", &link("id-olga")).await.unwrap(),
        own
    );
    let flagged = User {
        password_hash: String::new(),
        superuser: true,
        ..user("pia")
    };
    store.seed_user(flagged.clone()).await;
    assert_eq!(
        store.link_user("pia", &link("id-pia")).await.unwrap(),
        flagged
    );
    // A record a login made before links were kept: adopted, everything else kept.
    let legacy = User {
        password_hash: String::new(),
        generation: 2,
        link: None,
        ..user("quin")
    };
    store.seed_user(legacy.clone()).await;
    assert_eq!(
        store.link_user("quin", &link("id-quin")).await.unwrap(),
        User {
            link: Some(link("id-quin")),
            ..legacy
        }
    );
    let held = verified(&linked);
    let held = Verified {
        password_hash: None,
        ..held
    };
    let t = TokenRecord {
        username: "dora".into(),
        ..token("id-linked")
    };
    store.put_token(&t, &held).await.unwrap();
}
