//! A directory in memory, for the flow's tests: users with passwords and groups, found
//! by any spelling of their name (as LDAP's `caseIgnoreMatch` finds them). It passes the
//! same contract suite as the LDAP and Cognito adapters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::{Directory, DirectoryError, Identity, Verdict};
use crate::identifier::login_key;

struct Person {
    identity: Identity,
    password: String,
    groups: BTreeSet<String>,
}

/// People by the key of their name.
#[derive(Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<String, Person>>,
}

impl MemoryDirectory {
    /// Adds (or replaces) a user with its password and groups; its immutable id is
    /// `mem-` and the name as given.
    pub fn put_user(&self, username: &str, password: &str, groups: &[&str]) {
        let person = Person {
            identity: Identity {
                username: username.into(),
                id: format!("mem-{username}"),
            },
            password: password.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        self.lock().insert(login_key(username), person);
    }

    /// Takes a user out of the directory.
    pub fn remove_user(&self, username: &str) {
        self.lock().remove(&login_key(username));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Person>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Directory for MemoryDirectory {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        _within: Duration,
    ) -> Result<Verdict, DirectoryError> {
        Ok(match self.lock().get(&login_key(username)) {
            Some(p) if !password.is_empty() && p.password == password => Verdict::Accepted {
                identity: p.identity.clone(),
                groups: p.groups.clone(),
            },
            _ => Verdict::Refused,
        })
    }
}
