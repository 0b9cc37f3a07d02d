//! What an entry says: who the person is (the login name as stored, the immutable id),
//! whether the directory locked them, and the filter for their groups.

use ldap3::{SearchEntry, ldap_escape};
use tracing::warn;

use super::LdapSettings;
use crate::directory::Identity;
use crate::identifier::login_key;
use crate::secret::hex;

/// What says an entry may not sign in: a password policy's lockout (OpenLDAP's ppolicy,
/// operational, so asked for by name), Active Directory's account flags, 389/Red Hat
/// Directory Server's lock.
pub(super) const LOCKED_TIME: &str = "pwdAccountLockedTime";
pub(super) const ACCOUNT_CONTROL: &str = "userAccountControl";
pub(super) const ACCOUNT_LOCK: &str = "nsAccountLock";

/// RFC 4511's noSuchObject: the search's base is gone.
pub(super) const NO_SUCH_OBJECT: u32 = 32;

/// An id that is a DN (an entry without the id attribute is known by its DN): ids such
/// as `entryUUID` or hex never hold `=`.
pub(super) fn is_dn(id: &str) -> bool {
    id.contains('=')
}

/// A hex id as a filter's binary value (`\ab\cd...`), as Active Directory's `objectGUID`
/// is matched; anything not hex is escaped as text.
pub(super) fn binary_value(hex_id: &str) -> String {
    let bytes = hex_id.as_bytes();
    if !bytes.len().is_multiple_of(2) || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return ldap_escape(hex_id).into_owned();
    }
    bytes
        .chunks(2)
        .map(|pair| format!("\\{}", String::from_utf8_lossy(pair)))
        .collect()
}

/// A user's entry, as the search found it.
pub(super) struct Entry {
    pub(super) dn: String,
    pub(super) identity: Identity,
}

impl Entry {
    /// The login name is the attribute's value as stored: of several, the one the typed
    /// name matches (as the directory matched it); the id is the id attribute's (hex when
    /// binary, as Active Directory's `objectGUID`), else the DN.
    pub(super) fn read(mut entry: SearchEntry, typed: &str, s: &LdapSettings) -> Entry {
        let names = take(&mut entry, &s.uid_attr);
        let wanted = login_key(typed);
        let username = match names.iter().find(|n| login_key(n) == wanted) {
            Some(name) => name.clone(),
            None => {
                warn!(
                    attribute = %s.uid_attr,
                    "the entry's login attribute is not readable by the service account; \
                     the name as typed stands for it"
                );
                names
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| typed.trim().into())
            }
        };
        let id = take(&mut entry, &s.id_attr)
            .into_iter()
            .next()
            .or_else(|| take_binary(&mut entry, &s.id_attr).map(|b| hex(&b)))
            .unwrap_or_else(|| entry.dn.clone());
        Entry {
            dn: entry.dn,
            identity: Identity { username, id },
        }
    }
}

/// An attribute's values, its name matched without regard to case (a server answers in
/// its own spelling: `entryUUID` for `entryuuid`).
pub(super) fn take(entry: &mut SearchEntry, attr: &str) -> Vec<String> {
    let name = entry
        .attrs
        .keys()
        .find(|k| k.eq_ignore_ascii_case(attr))
        .cloned();
    name.and_then(|n| entry.attrs.remove(&n))
        .unwrap_or_default()
}

fn take_binary(entry: &mut SearchEntry, attr: &str) -> Option<Vec<u8>> {
    let name = entry
        .bin_attrs
        .keys()
        .find(|k| k.eq_ignore_ascii_case(attr))
        .cloned()?;
    entry.bin_attrs.remove(&name)?.into_iter().next()
}

/// The group filter for a user: `{dn}` and `{uid}` replaced in one pass over the
/// template, so a DN that itself contains `{uid}` is never rewritten.
pub(super) fn group_filter(template: &str, dn: &str, uid: &str) -> String {
    let mut out = String::with_capacity(template.len() + dn.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{dn}") {
            out.push_str(&ldap_escape(dn));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{uid}") {
            out.push_str(&ldap_escape(uid));
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_id_is_matched_byte_by_byte() {
        assert_eq!(binary_value("0aFF"), "\\0a\\FF");
        assert_eq!(binary_value("x*"), "x\\2a");
        assert!(is_dn("uid=a,ou=people,dc=x") && !is_dn("6f1c-42"));
    }

    #[test]
    fn dn_and_uid_are_replaced_in_one_pass() {
        let filter = "(|(member={dn})(memberUid={uid}))";
        // A DN holding "{uid}" (legal in an RDN value) is not rewritten by the second
        // placeholder's replacement.
        let dn = "cn=a{uid}b,ou=people,dc=example,dc=org";
        let got = group_filter(filter, dn, "felix");
        assert_eq!(
            got,
            "(|(member=cn=a{uid}b,ou=people,dc=example,dc=org)(memberUid=felix))"
        );
        assert_eq!(
            group_filter("(memberUid={uid})", "x", "a*b"),
            "(memberUid=a\\2ab)"
        );
        assert_eq!(group_filter("({x}={dn})", "d", "u"), "({x}=d)");
    }
}
