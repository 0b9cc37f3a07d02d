//! Who an application may be granted tokens for (`app add|update --allow-user,
//! --allow-group`): decided at check 11, before a token or code exists.

use std::collections::BTreeSet;

use crate::identifier::login_key;

/// Who an application may get tokens for: anyone when both lists are empty, else the
/// users named and the members of the groups named (a directory's groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

impl Access {
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    /// Whether `username`, in `groups`, may be granted tokens by the application. A name
    /// on the list is any spelling of the user's ([`login_key`]): the list was typed by an
    /// operator, the name is the directory's.
    pub fn admits(&self, username: &str, groups: &BTreeSet<String>) -> bool {
        let key = login_key(username);
        self.is_open()
            || self.users.iter().any(|u| login_key(u) == key)
            || !self.groups.is_disjoint(groups)
    }
}
