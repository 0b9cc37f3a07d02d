//! `user sync` over the memory store and directory: the records of people gone or locked
//! in the directory are disabled (their tokens void), a line each; a second run, or two
//! at once, change nothing more; a directory that cannot answer disables nobody.

use std::sync::atomic::Ordering;

use direct_oauth::directory::Standing;
use direct_oauth::directory::memory::MemoryDirectory;
use direct_oauth::offboarding::{self, Change, SyncError};
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::{DirectoryLink, User};

fn link(name: &str) -> DirectoryLink {
    DirectoryLink {
        directory: "memory".into(),
        id: format!("mem-{name}"),
    }
}

/// Five people with local records (more than a page), and a record of the users table.
fn people() -> (MemoryStore, MemoryDirectory) {
    let store = MemoryStore::default();
    let directory = MemoryDirectory::default();
    for name in ["dora", "erin", "fay", "gus", "hal"] {
        directory.put_user(name, "pw", &[]);
        store.put_user(User::linked(name, &link(name), 0));
    }
    store.put_user(User {
        username: "table-user".into(),
        password_hash: "$argon2id$...".into(),
        enabled: true,
        superuser: false,
        generation: 0,
        tokens_from: 0,
        link: None,
    });
    (store, directory)
}

#[tokio::test]
async fn the_gone_and_the_locked_are_disabled_once_and_the_rest_left_alone() {
    let (store, directory) = people();
    directory.remove_user("erin");
    directory.lock_user("hal");
    let report = offboarding::sync(&store, &directory).await.unwrap();
    assert_eq!(report.checked, 5, "every linked record, across pages");
    assert_eq!(
        report.changes,
        vec![
            Change {
                username: "erin".into(),
                id: "mem-erin".into(),
                standing: Standing::Gone
            },
            Change {
                username: "hal".into(),
                id: "mem-hal".into(),
                standing: Standing::Locked
            },
        ]
    );
    for (name, enabled, generation) in [("dora", true, 0), ("erin", false, 1), ("hal", false, 1)] {
        let u = store.user(name).unwrap();
        assert_eq!((u.enabled, u.generation), (enabled, generation), "{name}");
    }
    assert!(
        store.user("table-user").unwrap().enabled,
        "not a directory's"
    );
    let again = offboarding::sync(&store, &directory).await.unwrap();
    assert_eq!((again.checked, again.changes.len()), (3, 0), "idempotent");
}

#[tokio::test]
async fn two_runs_at_once_report_each_change_once() {
    let (store, directory) = people();
    directory.remove_user("dora");
    directory.remove_user("gus");
    let (a, b) = tokio::join!(
        offboarding::sync(&store, &directory),
        offboarding::sync(&store, &directory)
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
async fn a_record_relinked_to_another_person_meanwhile_is_left_alone() {
    let (store, directory) = people();
    directory.remove_user("fay");
    // Between the page and the write, the name went to another person of the directory.
    store.put_user(User::linked("fay", &link("fay-2"), 0));
    let disabled = store_disable(&store, "fay", &link("fay")).await;
    assert!(!disabled, "the write is conditional on the person");
    assert!(store.user("fay").unwrap().enabled);
}

async fn store_disable(store: &MemoryStore, name: &str, l: &DirectoryLink) -> bool {
    use direct_oauth::store::LinkedUsers;
    store.disable_linked(name, l).await.unwrap()
}

#[tokio::test]
async fn a_directory_that_cannot_answer_disables_nobody() {
    use crate::flow::directory::Unreliable;
    let (store, _) = people();
    let directory = Unreliable::default();
    directory.down.store(true, Ordering::SeqCst);
    let err = offboarding::sync(&store, &directory).await.unwrap_err();
    assert!(matches!(err, SyncError::Directory(_)), "{err:?}");
    assert!(store.user("dora").unwrap().enabled);
}
