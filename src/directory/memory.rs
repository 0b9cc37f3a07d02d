//! A directory in memory, for the flow's tests: users with passwords and groups. It passes
//! the same contract suite as the LDAP and Cognito adapters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::{Directory, DirectoryError, Verdict};

#[derive(Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<String, (String, BTreeSet<String>)>>,
}

impl MemoryDirectory {
    /// Adds (or replaces) a user with its password and groups.
    pub fn put_user(&self, username: &str, password: &str, groups: &[&str]) {
        let groups = groups.iter().map(|g| g.to_string()).collect();
        self.lock()
            .insert(username.into(), (password.into(), groups));
    }

    /// Takes a user out of the directory.
    pub fn remove_user(&self, username: &str) {
        self.lock().remove(username);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, BTreeSet<String>)>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Directory for MemoryDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        _within: Duration,
    ) -> Result<Verdict, DirectoryError> {
        Ok(match self.lock().get(username) {
            Some((p, groups)) if !password.is_empty() && p == password => Verdict::Accepted {
                groups: groups.clone(),
            },
            _ => Verdict::Refused,
        })
    }
}
