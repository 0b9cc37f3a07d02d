//! `user sync` over the memory store and directory: the records of people gone or locked
//! in the directory, and records made under another spelling before names were kept in
//! normal form, are disabled (their tokens void), a line each; a second run, or two at
//! once, change nothing more; a dry run writes nothing; a run that would disable most of
//! what it checked stops unless forced; a directory that cannot answer disables nobody.

use std::sync::atomic::Ordering;

use direct_oauth::directory::memory::MemoryDirectory;
use direct_oauth::offboarding::{self, Change, Options, SyncError, Why};
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::memory::user;
use direct_oauth::store::{DirectoryLink, LinkedUsers, User};

const NAMES: [&str; 8] = ["dora", "erin", "fay", "gus", "hal", "ida", "jo", "kit"];

fn link(name: &str) -> DirectoryLink {
    DirectoryLink {
        directory: "memory".into(),
        id: format!("mem-{name}"),
    }
}

/// Eight people with local records (more than a page), and a record of the users table.
fn people() -> (MemoryStore, MemoryDirectory) {
    let store = MemoryStore::default();
    let directory = MemoryDirectory::default();
    for name in NAMES {
        directory.put_user(name, "pw", &[]);
        store.put_user(User::linked(name, &link(name), 0));
    }
    store.put_user(User {
        password_hash: "$argon2id$...".into(),
        ..user("table-user")
    });
    (store, directory)
}

fn change(name: &str, why: Why) -> Change {
    Change {
        username: name.into(),
        id: Some(format!("mem-{name}")),
        why,
    }
}

#[tokio::test]
async fn the_gone_and_the_locked_are_disabled_once_and_the_rest_left_alone() {
    let (store, directory) = people();
    directory.remove_user("erin");
    directory.lock_user("hal");
    let report = offboarding::sync(&store, &directory, Options::default())
        .await
        .unwrap();
    assert_eq!(report.checked, 8, "every linked record, across pages");
    assert_eq!(
        report.changes,
        vec![change("erin", Why::Gone), change("hal", Why::Locked)]
    );
    for (name, enabled, generation) in [("dora", true, 0), ("erin", false, 1), ("hal", false, 1)] {
        let u = store.user(name).unwrap();
        assert_eq!((u.enabled, u.generation), (enabled, generation), "{name}");
    }
    assert!(
        store.user("table-user").unwrap().enabled,
        "not a directory's"
    );
    let again = offboarding::sync(&store, &directory, Options::default())
        .await
        .unwrap();
    assert_eq!((again.checked, again.changes.len()), (6, 0), "idempotent");
}

#[tokio::test]
async fn records_of_other_spellings_from_before_are_disabled_and_others_adopted_later() {
    let (store, directory) = people();
    let unlinked = |name: &str| User {
        link: None,
        ..User::linked(name, &link(name), 0)
    };
    // What a login as `DORA` or ` dora` made before names were kept in normal form.
    store.put_user(unlinked("DORA"));
    store.put_user(unlinked(" dora"));
    store.put_user(unlinked("lee")); // normal form: its person's next login adopts it
    let report = offboarding::sync(&store, &directory, Options::default())
        .await
        .unwrap();
    let disabled: Vec<(String, Why)> = report
        .changes
        .into_iter()
        .map(|c| (c.username, c.why))
        .collect();
    assert_eq!(
        disabled,
        [
            (" dora".to_string(), Why::AnotherSpelling),
            ("DORA".to_string(), Why::AnotherSpelling)
        ]
    );
    assert!(!store.user("DORA").unwrap().enabled);
    assert!(store.user("lee").unwrap().enabled);
}

#[tokio::test]
async fn two_runs_at_once_report_each_change_once() {
    let (store, directory) = people();
    directory.remove_user("dora");
    directory.remove_user("gus");
    let (a, b) = tokio::join!(
        offboarding::sync(&store, &directory, Options::default()),
        offboarding::sync(&store, &directory, Options::default())
    );
    let mut names: Vec<String> = [a.unwrap(), b.unwrap()]
        .into_iter()
        .flat_map(|r| r.changes)
        .map(|c| c.username)
        .collect();
    names.sort();
    assert_eq!(names, ["dora", "gus"]);
}

#[tokio::test]
async fn a_dry_run_lists_and_writes_nothing() {
    let (store, directory) = people();
    directory.remove_user("fay");
    let dry = Options {
        dry_run: true,
        force: false,
    };
    let report = offboarding::sync(&store, &directory, dry).await.unwrap();
    assert_eq!(report.changes, vec![change("fay", Why::Gone)]);
    assert!(store.user("fay").unwrap().enabled);
}

#[tokio::test]
async fn a_run_that_would_disable_most_stops_unless_forced() {
    // A wrong setting (another id attribute, a base an ACL now hides) makes everyone look
    // gone: that must not disable everyone.
    let (store, _) = people();
    let empty = MemoryDirectory::default();
    let err = offboarding::sync(&store, &empty, Options::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SyncError::TooMany {
            would: 8,
            checked: 8
        }
    );
    assert!(NAMES.iter().all(|n| store.user(n).unwrap().enabled));
    let forced = Options {
        dry_run: false,
        force: true,
    };
    let report = offboarding::sync(&store, &empty, forced).await.unwrap();
    assert_eq!(report.changes.len(), 8);
}

#[tokio::test]
async fn a_record_relinked_to_another_person_meanwhile_is_left_alone() {
    let (store, _) = people();
    // Between the page and the write, the name went to another person of the directory.
    store.put_user(User::linked("fay", &link("fay-2"), 0));
    let disabled = store.disable_linked("fay", &link("fay")).await.unwrap();
    assert!(!disabled, "the write is conditional on the person");
    assert!(store.user("fay").unwrap().enabled);
}

#[tokio::test]
async fn a_directory_that_cannot_answer_disables_nobody() {
    use crate::flow::directory::Unreliable;
    let (store, _) = people();
    let directory = Unreliable::default();
    directory.down.store(true, Ordering::SeqCst);
    let err = offboarding::sync(&store, &directory, Options::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Directory(_)), "{err:?}");
    assert!(store.user("dora").unwrap().enabled);
}
