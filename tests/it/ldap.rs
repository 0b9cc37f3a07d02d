//! The LDAP directory against a real OpenLDAP `slapd`, started by `make test`
//! (scripts/ldap.sh, seeded from tests/ldap/seed.ldif): the contract, TLS both ways, and
//! what an operator's directory does on a bad day (down, silent, a rotated service
//! password, a connection the server closed between invocations).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use direct_oauth::directory::ldap::{BindPassword, LdapDirectory, LdapSettings};
use direct_oauth::directory::{Directory, DirectoryError, Verdict};
use ldap3::LdapConnAsync;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::directory_contract::{self, BUDGET, People};
use crate::moto::unique_name;

pub(crate) const SUFFIX: &str = "dc=example,dc=org";
const SERVICE_DN: &str = "cn=direct-oauth,ou=services,dc=example,dc=org";
const SERVICE_PASSWORD: &str = "service-secret";
const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
const ADMIN_PASSWORD: &str = "admin-secret";

/// The service password as a test gives it: `stale` first, the right one once asked
/// afresh; counts the fresh reads.
pub(crate) struct Password {
    stale: Option<&'static str>,
    fresh_reads: AtomicU32,
}

impl Password {
    fn right() -> Self {
        Password::rotated(None)
    }
    fn rotated(stale: Option<&'static str>) -> Self {
        Password {
            stale,
            fresh_reads: AtomicU32::new(0),
        }
    }
}

impl BindPassword for Password {
    async fn get(&self, fresh: bool) -> Result<String, DirectoryError> {
        if fresh {
            self.fresh_reads.fetch_add(1, Ordering::Relaxed);
        }
        Ok(match (fresh, self.stale) {
            (false, Some(stale)) => stale.into(),
            _ => SERVICE_PASSWORD.into(),
        })
    }
}

/// The slapd's URLs and CA, or `None` (skipped) outside `make test`; under `CI=true` a
/// missing slapd is a failure.
pub(crate) struct Slapd {
    pub(crate) url: String,
    ldaps_url: String,
    ca_pem: String,
}

pub(crate) fn slapd() -> Option<Slapd> {
    let url = std::env::var("LDAP_URL").ok();
    let Some(url) = url else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but LDAP_URL is not set: the LDAP tests cannot be skipped"
        );
        eprintln!("SKIPPED: LDAP_URL is not set; run `make test`");
        return None;
    };
    let ca_file = std::env::var("LDAP_CA_FILE").expect("LDAP_CA_FILE beside LDAP_URL");
    Some(Slapd {
        url,
        ldaps_url: std::env::var("LDAPS_URL").expect("LDAPS_URL beside LDAP_URL"),
        ca_pem: std::fs::read_to_string(ca_file).expect("the slapd's CA"),
    })
}

pub(crate) fn settings(url: &str) -> LdapSettings {
    LdapSettings {
        url: url.into(),
        starttls: false,
        ca_pem: None,
        bind_dn: SERVICE_DN.into(),
        user_base: format!("ou=people,{SUFFIX}"),
        user_filter: "(objectClass=inetOrgPerson)".into(),
        uid_attr: "uid".into(),
        id_attr: "entryUUID".into(),
        group_base: format!("ou=groups,{SUFFIX}"),
        group_filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
        group_name_attr: "cn".into(),
        timeout: Duration::from_secs(2),
    }
}

pub(crate) fn directory(settings: LdapSettings) -> LdapDirectory<Password> {
    LdapDirectory::new(settings, Password::right()).unwrap()
}

/// A connection bound as the directory's administrator.
pub(crate) async fn as_administrator(url: &str) -> ldap3::Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap
}

/// As the directory's administrator: adds a user with a password, or deletes one.
pub(crate) async fn admin(add: Option<&str>, dn: &str, url: &str) {
    let mut ldap = as_administrator(url).await;
    match add {
        Some(password) => {
            let uid = dn.split(',').next().unwrap().trim_start_matches("uid=");
            let attrs: Vec<(&str, HashSet<&str>)> = vec![
                ("objectClass", HashSet::from(["inetOrgPerson"])),
                ("uid", HashSet::from([uid])),
                ("cn", HashSet::from([uid])),
                ("sn", HashSet::from([uid])),
                ("userPassword", HashSet::from([password])),
            ];
            ldap.add(dn, attrs).await.unwrap().success().unwrap();
        }
        None => {
            ldap.delete(dn).await.unwrap().success().unwrap();
        }
    }
    let _ = ldap.unbind().await;
}

pub(crate) fn user_dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{SUFFIX}")
}

#[tokio::test]
async fn the_ldap_directory_holds_the_contract() {
    let Some(s) = slapd() else { return };
    let erin = unique_name("erin-");
    admin(Some("erin-password"), &user_dn(&erin), &s.url).await;
    let people = People {
        ignores_case: true,
        member: ("bob".into(), "bob-password".into()),
        member_groups: directory_contract::groups(&["ci", "developers"]),
        removable: (erin.clone(), "erin-password".into()),
    };
    let d = directory(settings(&s.url));
    directory_contract::holds(&d, &people, async |name| {
        admin(None, &user_dn(name), &s.url).await
    })
    .await;
}

#[tokio::test]
async fn ldaps_and_starttls_trust_the_ca_they_are_given_and_no_other() {
    let Some(s) = slapd() else { return };
    let alice = ("alice", "alice-password");
    let with_ca = |url: &str, starttls: bool| LdapSettings {
        starttls,
        ca_pem: Some(s.ca_pem.clone()),
        ..settings(url)
    };
    for (case, settings) in [
        ("ldaps://", with_ca(&s.ldaps_url, false)),
        ("StartTLS", with_ca(&s.url, true)),
    ] {
        let verdict = directory(settings)
            .authenticate(alice.0, alice.1, BUDGET)
            .await;
        let want = directory_contract::groups(&["quay-admins"]);
        let Ok(Verdict::Accepted { groups, identity }) = verdict else {
            panic!("{case}: {verdict:?}");
        };
        assert_eq!(
            (groups, identity.username.as_str()),
            (want, "alice"),
            "{case}"
        );
    }
    // The system's roots do not include the throw-away CA: no answer, and no refusal.
    let untrusted = directory(settings(&s.ldaps_url));
    let err = untrusted.authenticate(alice.0, alice.1, BUDGET).await;
    assert!(
        matches!(err, Err(DirectoryError::Unreachable(_))),
        "{err:?}"
    );
    assert!(
        LdapDirectory::new(
            LdapSettings {
                ca_pem: Some("not a certificate".into()),
                ..settings(&s.url)
            },
            Password::right()
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_directory_that_is_down_or_silent_is_an_outage_within_the_budget() {
    let Some(_) = slapd() else { return };
    let down = directory(settings("ldap://127.0.0.1:9"));
    let err = down.authenticate("alice", "alice-password", BUDGET).await;
    assert!(
        matches!(err, Err(DirectoryError::Unreachable(_))),
        "{err:?}"
    );
    // A server that accepts the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            kept.push(stream);
        }
    });
    let d = directory(settings(&url));
    let budget = Duration::from_millis(500);
    let err = d.authenticate("alice", "alice-password", budget).await;
    assert!(
        matches!(
            err,
            Err(DirectoryError::TimedOut(_) | DirectoryError::Unreachable(_))
        ),
        "{err:?}"
    );
    held.abort();
}

#[tokio::test]
async fn a_rotated_service_password_is_read_again_and_a_wrong_one_is_the_operators() {
    let Some(s) = slapd() else { return };
    let rotated = LdapDirectory::new(settings(&s.url), Password::rotated(Some("old"))).unwrap();
    let verdict = rotated
        .authenticate("alice", "alice-password", BUDGET)
        .await;
    assert!(
        matches!(verdict, Ok(Verdict::Accepted { .. })),
        "{verdict:?}"
    );
    let mut wrong = settings(&s.url);
    wrong.bind_dn = format!("cn=nobody,ou=services,{SUFFIX}");
    let err = directory(wrong)
        .authenticate("alice", "alice-password", BUDGET)
        .await;
    assert!(
        matches!(err, Err(DirectoryError::Misconfigured(_))),
        "{err:?}"
    );
}

/// A relay to the slapd whose connections the test can cut, as a server or a NAT does
/// to an idle connection while a Lambda instance is frozen.
struct Relay {
    url: String,
    connections: std::sync::Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn to(upstream: &str) -> Relay {
        let target = upstream.trim_start_matches("ldap://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        let connections = std::sync::Arc::new(Mutex::new(Vec::new()));
        let kept = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                kept.lock().unwrap().push(tokio::spawn(async move {
                    let mut server = TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }));
            }
        });
        Relay {
            url,
            connections,
            accept,
        }
    }

    fn cut(&self) -> usize {
        let cut: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        cut.iter().for_each(JoinHandle::abort);
        cut.len()
    }
}

#[tokio::test]
async fn connections_are_kept_between_logins_and_made_again_when_cut() {
    let Some(s) = slapd() else { return };
    let relay = Relay::to(&s.url).await;
    let d = directory(settings(&relay.url));
    for _ in 0..3 {
        let verdict = d.authenticate("alice", "alice-password", BUDGET).await;
        assert!(matches!(verdict, Ok(Verdict::Accepted { .. })));
    }
    assert_eq!(
        relay.cut(),
        2,
        "one search connection and one bind connection, kept"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let verdict = d.authenticate("alice", "alice-password", BUDGET).await;
    assert!(
        matches!(verdict, Ok(Verdict::Accepted { .. })),
        "{verdict:?}"
    );
    let wrong = d.authenticate("alice", "wrong", BUDGET).await;
    assert_eq!(wrong, Ok(Verdict::Refused));
    relay.accept.abort();
}
