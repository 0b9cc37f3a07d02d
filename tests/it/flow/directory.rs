//! The flow with a directory: users from it get a local record at their first login and
//! then are held to it as the users table's users are; the directory's refusals and the
//! table's are one answer; a directory that cannot answer is an outage, never a failure.

use std::sync::atomic::AtomicBool;

use direct_oauth::directory::memory::MemoryDirectory;
use direct_oauth::directory::{Directory, DirectoryError, Standing, Verdict};
use direct_oauth::store::{Access, DirectoryLink, LookupReader};

use super::*;

/// The memory directory, which the test can take down; clones share it.
#[derive(Clone, Default)]
pub(crate) struct Unreliable {
    pub(super) inner: Arc<MemoryDirectory>,
    pub(crate) down: Arc<AtomicBool>,
    pub(super) asked: Arc<AtomicU32>,
}

impl Directory for Unreliable {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        within: Duration,
    ) -> Result<Verdict, DirectoryError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(DirectoryError::Unreachable("taken down by the test".into()));
        }
        self.inner.authenticate(username, password, within).await
    }

    async fn standing(&self, id: &str, within: Duration) -> Result<Standing, DirectoryError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(DirectoryError::Unreachable("taken down by the test".into()));
        }
        self.inner.standing(id, within).await
    }
}

/// Dora's link to the memory directory, as her first login makes it.
pub(super) fn dora_link() -> DirectoryLink {
    DirectoryLink {
        directory: "memory".into(),
        id: "mem-dora".into(),
    }
}

pub(super) type DirectoryFlow = Server<(
    Faulty<MemoryStore>,
    MemorySource,
    ManualClock,
    CountingRandom,
    CountingPasswords,
    Unreliable,
)>;

/// The demo store and whitelist, with passwords checked by a directory that holds dora
/// (a developer) and quinn (a Quay admin, the superuser group).
pub(super) fn with_directory() -> (DirectoryFlow, Faulty<MemoryStore>, Unreliable) {
    let (flow, store, directory, _) = directory_harness();
    (flow, store, directory)
}

/// [`with_directory`], and the flow's clock.
pub(super) fn directory_harness() -> (DirectoryFlow, Faulty<MemoryStore>, Unreliable, ManualClock) {
    let harness = flow();
    let store = harness.store().clone();
    let directory = Unreliable::default();
    directory
        .inner
        .put_user("dora", "dora-password", &["developers"]);
    directory
        .inner
        .put_user("quinn", "quinn-password", &["quay-admins"]);
    let config = Config::from_lookup(|_| None).unwrap();
    let mut settings = Settings::from(&config);
    settings.superuser_group = Some("quay-admins".into());
    let flow = Server::with_directory(
        store.clone(),
        harness.whitelist().clone(),
        harness.clock().clone(),
        CountingRandom::default(),
        harness.hasher().clone(),
        Some(directory.clone()),
        settings,
    );
    (flow, store, directory, harness.clock().clone())
}

#[tokio::test]
async fn a_directory_user_gets_a_token_and_a_local_record_at_the_first_login() {
    let (f, store, _) = with_directory();
    assert!(store.user("dora").is_none());
    let dora = basic("dora", "dora-password");
    for login in 1..=2 {
        let r = f.handle(&post(Some(&dora), GOOD_BODY)).await.response;
        assert_eq!(r.status(), 302, "login {login}: {}", r.body());
        assert_eq!(fragment(&r)[0].0, "access_token");
    }
    let record = store.user("dora").expect("a local record");
    assert_eq!(
        record,
        User::linked("dora", &dora_link(), NOW_MS),
        "enabled, no password, generation from the time it was made"
    );
    let tokens = store.tokens();
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens
            .iter()
            .all(|t| t.username == "dora" && t.user_generation == NOW_MS)
    );
}

#[tokio::test]
async fn wrong_unknown_empty_removed_and_disabled_answer_alike_and_count() {
    let (f, store, directory) = with_directory();
    directory.inner.put_user("erin", "erin-password", &[]);
    directory.inner.put_user("ivy", "ivy-password", &[]);
    store.put_user(User {
        enabled: false,
        ..User::linked("dora", &dora_link(), 0)
    });
    let r = f
        .handle(&post(Some(&basic("erin", "erin-password")), GOOD_BODY))
        .await;
    assert_eq!(
        r.response.status(),
        302,
        "erin can log in before her removal"
    );
    directory.inner.remove_user("erin");
    let cases = [
        ("quinn", "wrong"),
        ("nobody", "quinn-password"),
        ("ivy", ""),
        ("erin", "erin-password"),
        ("dora", "dora-password"),
        // A users-table user is no directory user: the table's hashes are not asked.
        ("username", "passwordhere"),
    ];
    let tokens_before = store.tokens().len();
    let mut bodies = BTreeSet::new();
    for (name, password) in cases {
        let r = f
            .handle(&post(Some(&basic(name, password)), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 401, "{name}");
        assert_eq!(json(&r)["error"], "access_denied", "{name}");
        bodies.insert(r.body().clone());
        let counted = store.failed_logins(name).map(|c| c.failures);
        assert_eq!(counted, Some(1), "{name}: the failure is counted");
    }
    assert_eq!(bodies.len(), 1, "one answer for all: {bodies:?}");
    assert_eq!(store.tokens().len(), tokens_before, "no token");
}

#[tokio::test]
async fn a_directory_that_cannot_answer_is_503_with_no_token_and_no_failure_counted() {
    let (f, store, directory) = with_directory();
    directory.down.store(true, Ordering::SeqCst);
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 503, "{}", r.body());
    assert_eq!(json(&r)["error"], "temporarily_unavailable");
    assert!(store.tokens().is_empty());
    assert!(store.user("dora").is_none(), "no local record either");
    let counted = store.failed_logins("dora").map_or(0, |c| c.failures);
    assert_eq!(
        counted, 0,
        "the directory's trouble is not the user's failure"
    );
    assert_eq!(store.lease("dora"), None, "the name is free again");
    directory.down.store(false, Ordering::SeqCst);
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302, "{}", r.body());
}

#[tokio::test]
async fn the_back_off_stands_in_front_of_the_directory() {
    let (f, _, directory) = with_directory();
    let wrong = basic("quinn", "wrong");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            f.handle(&post(Some(&wrong), GOOD_BODY))
                .await
                .response
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [401, 429, 429],
        "held back without asking the directory"
    );
    assert_eq!(directory.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_superuser_group_grants_super_user_and_others_are_denied_it() {
    let (f, _, _) = with_directory();
    let body = "client_id=some_client_id&scope=super:user repo:read";
    let r = f
        .handle(&post(Some(&basic("quinn", "quinn-password")), body))
        .await
        .response;
    assert_eq!(
        fragment(&r)[0].0,
        "access_token",
        "{:?}",
        header(&r, "location")
    );
    let r = f
        .handle(&post(Some(&basic("dora", "dora-password")), body))
        .await
        .response;
    assert_eq!(
        fragment(&r)[0],
        ("error".to_string(), "access_denied".to_string())
    );
}

#[tokio::test]
async fn an_application_open_to_some_refuses_the_others_before_a_token_exists() {
    let (f, store, directory) = with_directory();
    directory.inner.put_user("cid", "cid-password", &["ci"]);
    let mut app = store
        .lookup(CLIENT, None)
        .await
        .unwrap()
        .application
        .unwrap();
    app.access = Access {
        users: ["quinn".to_string()].into(),
        groups: ["ci".to_string()].into(),
    };
    store.put_application(app);
    for (name, password, granted) in [
        ("cid", "cid-password", true),
        ("quinn", "quinn-password", true),
        ("dora", "dora-password", false),
    ] {
        let r = f
            .handle(&post(Some(&basic(name, password)), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 302, "{name}");
        let first = fragment(&r)[0].clone();
        if granted {
            assert_eq!(first.0, "access_token", "{name}");
        } else {
            assert_eq!(first, ("error".into(), "access_denied".into()), "{name}");
        }
    }
    let parties: BTreeSet<String> = store.tokens().into_iter().map(|t| t.username).collect();
    assert_eq!(parties, ["cid".to_string(), "quinn".to_string()].into());
}
