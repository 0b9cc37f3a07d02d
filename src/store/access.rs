//! Who an application may be granted tokens for (`app add|update --allow-user,
//! --allow-group`): decided at check 11, before a token or code exists.

use std::collections::BTreeSet;

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

    /// Whether `username`, in `groups`, may be granted tokens by the application.
    pub fn admits(&self, username: &str, groups: &BTreeSet<String>) -> bool {
        self.is_open() || self.users.contains(username) || !self.groups.is_disjoint(groups)
    }
}
