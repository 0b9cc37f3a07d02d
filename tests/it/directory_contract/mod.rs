//! One contract for every directory: the memory fake always, LDAP against the `slapd`
//! that `make test` starts (`ldap`), Cognito against moto (`cognito`). What the flow
//! builds on: a right password is accepted with the user's groups; a wrong one, an
//! unknown name, an empty password and a removed user are one refusal; a name is never
//! read as a query.

use std::collections::BTreeSet;
use std::time::Duration;

use direct_oauth::directory::memory::MemoryDirectory;
use direct_oauth::directory::{Directory, Verdict};
use direct_oauth::identifier::login_key;

pub const BUDGET: Duration = Duration::from_secs(5);

/// Who the directory under test holds: a member of some groups, and a user the test may
/// take out of the directory.
pub struct People {
    pub member: (String, String),
    /// Whether the directory ignores case and surrounding spaces in a name (LDAP's
    /// `caseIgnoreMatch`; a Cognito pool with `CaseSensitive=false`, which moto is not).
    pub ignores_case: bool,
    pub member_groups: BTreeSet<String>,
    pub removable: (String, String),
}

pub fn groups(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|g| g.to_string()).collect()
}

/// The whole contract; `remove` takes a user out of the directory.
pub async fn holds<D: Directory>(d: &D, people: &People, remove: impl AsyncFnOnce(&str)) {
    let (name, password) = &people.member;
    let check = async |n: &str, p: &str| d.authenticate(n, p, BUDGET).await.unwrap();
    let Verdict::Accepted { identity, groups } = check(name, password).await else {
        panic!("the right password is accepted");
    };
    assert_eq!(groups, people.member_groups, "with the user's groups");
    assert_eq!(
        login_key(&identity.username),
        login_key(name),
        "the directory's own name for the user"
    );
    assert!(!identity.id.is_empty(), "and an id that stays the person's");
    // Every spelling the directory accepts is the one person it holds: its own name and
    // id, never the name as typed.
    let mut shouted = name.to_uppercase();
    shouted.insert(0, ' ');
    let capitalised = name[..1].to_uppercase() + &name[1..] + " ";
    for spelling in [shouted, capitalised] {
        match check(&spelling, password).await {
            Verdict::Accepted { identity: i, .. } => assert_eq!(i, identity, "{spelling:?}"),
            Verdict::Refused => assert!(!people.ignores_case, "{spelling:?} is refused"),
        }
    }
    let wrong = format!("{password}x");
    // Names that an unescaped LDAP filter would read as the member's.
    let wildcard = format!("{}*", &name[..name.len() - 1]);
    let filter = format!("{name})(uid={name}");
    for (n, p, case) in [
        (name.as_str(), wrong.as_str(), "a wrong password"),
        (name.as_str(), "", "an empty password"),
        ("nobody-of-that-name", password.as_str(), "an unknown name"),
        (
            wildcard.as_str(),
            password.as_str(),
            "a wildcard for a name",
        ),
        (filter.as_str(), password.as_str(), "a filter for a name"),
    ] {
        assert_eq!(check(n, p).await, Verdict::Refused, "{case}");
    }
    let (gone, gone_password) = &people.removable;
    assert!(matches!(
        check(gone, gone_password).await,
        Verdict::Accepted { .. }
    ));
    remove(gone).await;
    assert_eq!(
        check(gone, gone_password).await,
        Verdict::Refused,
        "a user taken out of the directory"
    );
}

#[tokio::test]
async fn the_memory_directory_holds_the_contract() {
    let d = MemoryDirectory::default();
    d.put_user("dana", "dana-password", &["ci", "developers"]);
    d.put_user("erin", "erin-password", &[]);
    let people = People {
        member: ("dana".into(), "dana-password".into()),
        ignores_case: true,
        member_groups: groups(&["ci", "developers"]),
        removable: ("erin".into(), "erin-password".into()),
    };
    holds(&d, &people, async |name| d.remove_user(name)).await;
}
