//! What an entry says: who the person is (the login name as stored, the immutable id),
//! whether the directory locked them, and the filter for their groups.

use ldap3::{SearchEntry, ldap_escape};

use super::LdapSettings;
use crate::directory::{DirectoryError, Identity};
use crate::identifier::login_key;
use crate::secret::hex;

/// What says an entry may not sign in: a password policy's lockout (OpenLDAP's ppolicy,
/// operational, so asked for by name), Active Directory's account flags, 389/Red Hat
/// Directory Server's lock.
pub(super) const LOCKED_TIME: &str = "pwdAccountLockedTime";
/// ppolicy's value for an account an administrator locked (draft-behera-ldap-password-
/// policy §5.3.3): it never unlocks by itself. Any other time is a lockout by failed binds.
pub(super) const ADMIN_LOCK: &str = "000001010000Z";
pub(super) const ACCOUNT_CONTROL: &str = "userAccountControl";
pub(super) const ACCOUNT_LOCK: &str = "nsAccountLock";

/// RFC 4511's noSuchObject: the search's base is gone.
pub(super) const NO_SUCH_OBJECT: u32 = 32;

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
    /// Who the entry is. The login name is the attribute's value as stored: of several
    /// (aliases), the first in normal-form order, whatever was typed, so every alias is
    /// one person; an entry whose login attribute the service account cannot read is the
    /// operator's problem (503), never the name as typed. The id is the id attribute's
    /// value (Active Directory's binary `objectGUID` as hex), else `dn:` and the DN.
    pub(super) fn read(mut entry: SearchEntry, s: &LdapSettings) -> Result<Entry, DirectoryError> {
        let mut names = take(&mut entry, &s.uid_attr);
        names.sort_by_key(|n| login_key(n));
        let Some(username) = names.into_iter().next() else {
            return Err(DirectoryError::Misconfigured(format!(
                "the entry's {} is not readable by the service account",
                s.uid_attr
            )));
        };
        let id = if is_binary_id(&s.id_attr) {
            let text = take(&mut entry, &s.id_attr).into_iter().next();
            text.map(String::into_bytes)
                .or_else(|| take_binary(&mut entry, &s.id_attr))
                .map(|bytes| hex(&bytes))
        } else {
            take(&mut entry, &s.id_attr).into_iter().next()
        };
        let id = id.unwrap_or_else(|| format!("{DN_ID}{}", entry.dn));
        Ok(Entry {
            dn: entry.dn,
            identity: Identity { username, id },
        })
    }
}

/// An id that is an entry's DN (an entry without the id attribute) starts so.
pub(super) const DN_ID: &str = "dn:";

/// Active Directory's `objectGUID` is sixteen bytes, kept as hex whatever they look like.
pub(super) fn is_binary_id(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("objectGUID")
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
