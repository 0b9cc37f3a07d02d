//! `user sync` against the real slapd: a person found by `entryUUID` (or by the DN), and
//! known locked by an administrator or by the seed's password policy, or gone.

use std::collections::HashSet;

use direct_oauth::directory::ldap::LdapSettings;
use direct_oauth::directory::{Directory, DirectoryError, Standing, Verdict};

use crate::directory_contract::BUDGET;
use crate::ldap::{SUFFIX, admin, as_administrator, directory, settings, slapd, user_dn};
use crate::moto::unique_name;

/// As the administrator: replaces one attribute of an entry.
async fn admin_set(dn: &str, attr: &str, value: &str, url: &str) {
    let mut ldap = as_administrator(url).await;
    let modification = ldap3::Mod::Replace(attr, HashSet::from([value]));
    ldap.modify(dn, vec![modification])
        .await
        .unwrap()
        .success()
        .unwrap();
    let _ = ldap.unbind().await;
}

#[tokio::test]
async fn a_person_is_found_by_entry_uuid_and_known_locked_or_gone() {
    let Some(s) = slapd() else { return };
    let d = directory(settings(&s.url));
    let name = unique_name("sync-");
    let dn = user_dn(&name);
    admin(Some("sync-password"), &dn, &s.url).await;
    let Ok(Verdict::Accepted { identity, .. }) = d
        .authenticate(&name.to_uppercase(), "sync-password", BUDGET)
        .await
    else {
        panic!("the new user signs in");
    };
    assert_eq!(identity.username, name, "the entry's own spelling");
    assert!(
        !identity.id.contains('='),
        "entryUUID, not the DN: {}",
        identity.id
    );
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Active));
    // An administrator's lock (ppolicy's pwdAccountLockedTime).
    admin_set(&dn, "pwdAccountLockedTime", "000001010000Z", &s.url).await;
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Locked));
    admin(None, &dn, &s.url).await;
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Gone));
    // An entry known by its DN (no id attribute) is looked up by it.
    let by_dn = directory(LdapSettings {
        id_attr: "no-such-attribute".into(),
        ..settings(&s.url)
    });
    let Ok(Verdict::Accepted { identity, .. }) =
        by_dn.authenticate("bob", "bob-password", BUDGET).await
    else {
        panic!("bob signs in");
    };
    assert_eq!(identity.id, format!("dn:{}", user_dn("bob")));
    assert_eq!(
        by_dn.standing(&identity.id, BUDGET).await,
        Ok(Standing::Active)
    );
    assert_eq!(
        by_dn
            .standing(&format!("dn:{}", user_dn("nobody-here")), BUDGET)
            .await,
        Ok(Standing::Gone)
    );
}

#[tokio::test]
async fn a_lockout_by_failed_binds_is_no_offboarding_but_an_administrator_s_lock_is() {
    let Some(s) = slapd() else { return };
    let d = directory(settings(&s.url));
    let name = unique_name("locked-");
    let dn = user_dn(&name);
    admin(Some("right-password"), &dn, &s.url).await;
    let policy = format!("cn=lockout,ou=policies,{SUFFIX}");
    admin_set(&dn, "pwdPolicySubentry", &policy, &s.url).await;
    let Ok(Verdict::Accepted { identity, .. }) =
        d.authenticate(&name, "right-password", BUDGET).await
    else {
        panic!("signs in before the lockout");
    };
    for _ in 0..5 {
        let wrong = d.authenticate(&name, "wrong", BUDGET).await;
        assert_eq!(wrong, Ok(Verdict::Refused));
    }
    assert_eq!(
        d.authenticate(&name, "right-password", BUDGET).await,
        Ok(Verdict::Refused),
        "the directory locked the account after five failed binds"
    );
    // Anyone can cause that lockout (five wrong passwords), and it ends: user sync must
    // not turn it into a disabled record and revoked tokens.
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Active));
    admin_set(&dn, "pwdAccountLockedTime", "000001010000Z", &s.url).await;
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Locked));
}

#[tokio::test]
async fn a_missing_base_is_the_operator_s_trouble_never_everyone_gone() {
    let Some(s) = slapd() else { return };
    let d = directory(LdapSettings {
        user_base: format!("ou=nowhere,{SUFFIX}"),
        ..settings(&s.url)
    });
    let login = d.authenticate("bob", "bob-password", BUDGET).await;
    assert!(
        matches!(login, Err(DirectoryError::Misconfigured(_))),
        "503, never a refusal counted against bob: {login:?}"
    );
    let standing = d.standing("5a1f-not-looked-up", BUDGET).await;
    assert!(
        matches!(standing, Err(DirectoryError::Misconfigured(_))),
        "never Gone, or a sync would disable everyone: {standing:?}"
    );
}
