//! Directory users' local records: made once, never over a record that is not theirs;
//! walked and disabled by `user sync`.

use direct_oauth::store::DirectoryLink;

use super::*;

/// A directory user's record is written once, by whichever login comes first, and never
/// relinked to another person; a token then holds to it.
pub(super) async fn a_directory_user_is_linked_once_and_never_over_a_record(
    store: &impl ContractStore,
) {
    let link = |id: &str| DirectoryLink {
        directory: "ldap".into(),
        id: id.into(),
    };
    let linked = store.link_user("dora", &link("id-dora"), 0).await.unwrap();
    assert_eq!(linked, User::linked("dora", &link("id-dora"), 0));
    let dora = link("id-dora");
    let (a, b) = tokio::join!(
        store.link_user("dora", &dora, 0),
        store.link_user("dora", &dora, 0)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (linked.clone(), linked.clone()));
    // Another person who holds the name now gets the record as it is, to be refused.
    let other = store.link_user("dora", &link("id-other"), 0).await.unwrap();
    assert_eq!(other, linked, "never relinked to another id");
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

/// A directory login never takes over a record that is there (a disabled one, the users
/// table's own, an operator's superuser): it gets it as it is, to be refused. A record
/// with nothing of its own (made before records named their directory) is adopted.
pub(super) async fn a_directory_login_takes_over_only_a_record_of_nobody_s(
    store: &impl ContractStore,
) {
    let link = |id: &str| DirectoryLink {
        directory: "ldap".into(),
        id: id.into(),
    };
    let disabled = User {
        enabled: false,
        generation: 4,
        ..User::linked("ned", &link("id-ned"), 0)
    };
    store.seed_user(disabled.clone()).await;
    assert_eq!(
        store.link_user("ned", &link("id-ned"), 0).await.unwrap(),
        disabled
    );
    // The users table's own user, or a superuser flag an operator set: never taken over.
    let own = user("olga");
    store.seed_user(own.clone()).await;
    assert_eq!(
        store.link_user("olga", &link("id-olga"), 0).await.unwrap(),
        own
    );
    let flagged = User {
        password_hash: String::new(),
        superuser: true,
        ..user("pia")
    };
    store.seed_user(flagged.clone()).await;
    assert_eq!(
        store.link_user("pia", &link("id-pia"), 0).await.unwrap(),
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
        store.link_user("quin", &link("id-quin"), 0).await.unwrap(),
        User {
            link: Some(link("id-quin")),
            generation: 3,
            tokens_from: 3,
            ..legacy
        },
        "adopted, and the tokens of whoever it was made for void"
    );
}

/// `user sync`'s reads and writes: every enabled record of one directory, page by page
/// (never another directory's, a disabled one or the users table's own), and a disable
/// that holds only for the person the record is still linked to, once.
pub(super) async fn a_sync_walks_the_linked_records_and_disables_one_person_once(
    store: &impl ContractStore,
) {
    let link = |directory: &str, id: &str| DirectoryLink {
        directory: directory.into(),
        id: id.into(),
    };
    for name in ["sa", "sb", "sc"] {
        store
            .seed_user(User::linked(name, &link("ldap", name), 0))
            .await;
    }
    store
        .seed_user(User::linked("sd", &link("cognito", "sd"), 0))
        .await;
    store
        .seed_user(User {
            enabled: false,
            ..User::linked("se", &link("ldap", "se"), 0)
        })
        .await;
    store.seed_user(user("sf")).await;
    let walk = async || {
        let (mut names, mut after) = (Vec::new(), None::<String>);
        loop {
            let (page, next) = store.linked_page("ldap", after.as_deref()).await.unwrap();
            names.extend(page.into_iter().map(|u| u.username));
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        names.sort();
        names
    };
    assert_eq!(walk().await, ["sa", "sb", "sc"]);
    let sa = link("ldap", "sa");
    let (a, b) = tokio::join!(
        store.disable_linked("sa", &sa),
        store.disable_linked("sa", &sa)
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|d| **d).count(), 1);
    let disabled = store.lookup("x", Some("sa")).await.unwrap().user.unwrap();
    assert_eq!((disabled.enabled, disabled.generation), (false, 1));
    assert!(
        !store
            .disable_linked("sb", &link("ldap", "another"))
            .await
            .unwrap(),
        "another person's id"
    );
    assert!(
        !store
            .disable_linked("sf", &link("ldap", "sf"))
            .await
            .unwrap()
    );
    assert_eq!(walk().await, ["sb", "sc"]);
}

/// The records of directory logins made before records remembered their directory (no
/// link, no password, no superuser flag): walked page by page, and each disabled once.
pub(super) async fn the_records_of_early_directory_logins_are_walked_and_disabled_once(
    store: &impl ContractStore,
) {
    let link = |directory: &str, id: &str| DirectoryLink {
        directory: directory.into(),
        id: id.into(),
    };
    store
        .seed_user(User::linked("sb", &link("ldap", "sb"), 0))
        .await;
    store.seed_user(user("sf")).await;
    // Records a directory login made before links were kept: no link, no password.
    for name in ["SG", "sh"] {
        let unlinked = User {
            link: None,
            ..User::linked(name, &link("ldap", name), 0)
        };
        store.seed_user(unlinked).await;
    }
    let (mut unlinked, mut after) = (Vec::new(), None::<String>);
    loop {
        let (page, next) = store.unlinked_page(after.as_deref()).await.unwrap();
        unlinked.extend(page.into_iter().map(|u| u.username));
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    unlinked.sort();
    assert_eq!(
        unlinked,
        ["SG", "sh"],
        "never a linked record or the table's own"
    );
    let (a, b) = tokio::join!(store.disable_unlinked("SG"), store.disable_unlinked("SG"));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|d| **d).count(), 1);
    assert!(
        !store.disable_unlinked("sb").await.unwrap(),
        "a linked record"
    );
    assert!(
        !store.disable_unlinked("sf").await.unwrap(),
        "the users table's own"
    );
}
