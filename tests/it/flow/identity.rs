//! One person, one identity: every spelling of a name that the directory (or the users
//! table's rule) takes for one person reaches one record, one back-off and one set of
//! tokens; a directory login never takes over a record that is not that person's.

use super::directory::{directory_harness, dora_link, with_directory};
use super::*;
use direct_oauth::store::{Access, DirectoryLink, LookupReader};

/// Spellings LDAP's `caseIgnoreMatch` (and a case-insensitive Cognito pool) take for
/// `dora`, and a decomposed Unicode one for `zoë`.
const SPELLINGS: [&str; 5] = ["DORA", "Dora", "dora ", " dora", "dOra"];

#[tokio::test]
async fn a_disabled_directory_user_stays_disabled_under_every_spelling() {
    let (f, store, _, clock) = directory_harness();
    store.put_user(User {
        enabled: false,
        ..User::linked("dora", &dora_link(), 0)
    });
    for spelling in SPELLINGS.into_iter().chain(["dora"]) {
        let r = f
            .handle(&post(Some(&basic(spelling, "dora-password")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 401, "{spelling:?}: {}", r.body());
        // Each spelling waits out the last one's window: one counter for them all.
        clock.advance_ms(3_600_000);
    }
    assert!(store.tokens().is_empty(), "no token for any spelling");
    for spelling in SPELLINGS {
        assert!(
            store.user(spelling).is_none(),
            "no record made for {spelling:?}"
        );
    }
    // Counted under the one key (the count decays across the hours waited).
    assert!(store.failed_logins("dora").is_some());
    for spelling in SPELLINGS {
        assert!(store.failed_logins(spelling).is_none(), "{spelling:?}");
    }
}

#[tokio::test]
async fn every_spelling_gets_the_directory_s_own_user_and_record() {
    let (f, store, directory) = with_directory();
    directory.inner.put_user("Zo\u{eb}", "zoe-password", &[]);
    for spelling in SPELLINGS {
        let r = f
            .handle(&post(Some(&basic(spelling, "dora-password")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 302, "{spelling:?}: {}", r.body());
    }
    let r = f
        .handle(&post(Some(&basic("zoe\u{308}", "zoe-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302, "a decomposed spelling: {}", r.body());
    let parties: BTreeSet<String> = store.tokens().into_iter().map(|t| t.username).collect();
    assert_eq!(parties, ["dora".to_string(), "zo\u{eb}".to_string()].into());
    assert_eq!(
        store.user("dora"),
        Some(User::linked("dora", &dora_link(), NOW_MS))
    );
    let zoe = DirectoryLink {
        directory: "memory".into(),
        id: "mem-Zo\u{eb}".into(),
    };
    assert_eq!(
        store.user("zo\u{eb}"),
        Some(User::linked("zo\u{eb}", &zoe, NOW_MS))
    );
}

#[tokio::test]
async fn a_spray_over_spellings_reaches_the_directory_once() {
    let (f, store, directory, clock) = directory_harness();
    let mut statuses = Vec::new();
    for spelling in SPELLINGS.into_iter().chain(["DoRa", "doRA", "dORA"]) {
        let r = f
            .handle(&post(Some(&basic(spelling, "wrong")), GOOD_BODY))
            .await
            .response;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 429, 429, 429, 429, 429, 429, 429]);
    assert_eq!(
        directory.asked.load(Ordering::SeqCst),
        1,
        "one bind for eight spellings"
    );
    assert_eq!(store.failed_logins("dora").map(|c| c.failures), Some(1));
    // The real user, once the window is over, still gets in.
    clock.advance_ms(3_600_000);
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302, "{}", r.body());
}

#[tokio::test]
async fn a_login_never_takes_over_a_record_that_is_not_the_person_s() {
    let (f, store, directory) = with_directory();
    // quinn's name is held by the users table's own user (a password of its own); pia's
    // by a record with an operator's superuser flag; rex's by another person of the
    // directory who had the name before (another id).
    let hashed = store.user("username").unwrap().password_hash;
    for (name, user) in [
        (
            "quinn",
            User {
                password_hash: hashed,
                ..User::linked("quinn", &dora_link(), 0)
            },
        ),
        (
            "pia",
            User {
                superuser: true,
                link: None,
                ..User::linked("pia", &dora_link(), 0)
            },
        ),
        (
            "rex",
            User::linked(
                "rex",
                &DirectoryLink {
                    directory: "memory".into(),
                    id: "mem-rex-who-left".into(),
                },
                0,
            ),
        ),
    ] {
        let user = User {
            link: user.link.filter(|_| name == "rex"),
            ..user
        };
        store.put_user(user);
        directory.inner.put_user(name, "right", &[]);
    }
    for name in ["quinn", "pia", "rex"] {
        let r = f
            .handle(&post(Some(&basic(name, "right")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 401, "{name}: {}", r.body());
        assert_eq!(json(&r)["error"], "access_denied");
    }
    assert!(store.tokens().is_empty());
    assert!(store.user("pia").unwrap().link.is_none(), "not adopted");
}

#[tokio::test]
async fn a_superuser_flag_on_a_local_record_grants_nothing() {
    let (f, store, _) = with_directory();
    store.put_user(User {
        superuser: true,
        ..User::linked("dora", &dora_link(), 0)
    });
    let body = "client_id=some_client_id&scope=super:user";
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), body))
        .await
        .response;
    assert_eq!(
        fragment(&r)[0],
        ("error".to_string(), "access_denied".to_string()),
        "super:user comes from the superuser group alone"
    );
}

#[tokio::test]
async fn an_allow_list_names_the_person_in_any_spelling() {
    let (f, store, _) = with_directory();
    let mut app = store
        .lookup(CLIENT, None)
        .await
        .unwrap()
        .application
        .unwrap();
    app.access = Access {
        users: ["Dora ".to_string()].into(),
        groups: BTreeSet::new(),
    };
    store.put_application(app);
    let r = f
        .handle(&post(Some(&basic("DORA", "dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(
        fragment(&r)[0].0,
        "access_token",
        "{:?}",
        header(&r, "location")
    );
}

#[tokio::test]
async fn the_users_table_takes_every_spelling_of_its_own_names() {
    let f = flow();
    for spelling in ["USERNAME", " username", "UserName "] {
        let r = f
            .handle(&post(Some(&basic(spelling, "passwordhere")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 302, "{spelling:?}: {}", r.body());
    }
    let parties: BTreeSet<String> = f.store().tokens().into_iter().map(|t| t.username).collect();
    assert_eq!(parties, ["username".to_string()].into());
    // A disabled user is so under every spelling, and one back-off counts them all.
    for spelling in ["GONE", "gone "] {
        let r = f
            .handle(&post(Some(&basic(spelling, "passwordhere")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 401, "{spelling:?}");
        f.clock().advance_ms(3_600_000);
    }
    assert!(f.store().failed_logins("gone").is_some());
    assert!(f.store().failed_logins("GONE").is_none());
}

#[tokio::test]
async fn a_name_made_again_for_another_person_never_brings_the_old_tokens_back() {
    let (f, store, directory, clock) = directory_harness();
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302, "{}", r.body());
    let old = store.tokens().pop().expect("dora's token");
    // Dora leaves; an operator removes her record; another Dora joins the directory.
    store.remove_user("dora");
    directory.inner.remove_user("dora");
    directory.inner.put_user("dora", "new-dora-password", &[]);
    clock.advance_ms(1);
    let r = f
        .handle(&post(Some(&basic("dora", "new-dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302, "{}", r.body());
    let record = store.user("dora").unwrap();
    assert!(
        old.user_generation < record.tokens_from,
        "the first Dora's token is void for the record made again: {} < {}",
        old.user_generation,
        record.tokens_from
    );
}
