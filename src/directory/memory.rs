//! A directory in memory, for the flow's tests: users with passwords and groups, found
//! by any spelling of their name (as LDAP's `caseIgnoreMatch` finds them). It passes the
//! same contract suite as the LDAP and Cognito adapters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::{Directory, DirectoryError, Identity, Standing, Verdict};
use crate::identifier::login_key;

struct Person {
    identity: Identity,
    password: String,
    groups: BTreeSet<String>,
    /// Locked or disabled by the directory: refused, and `user sync` says so.
    locked: bool,
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
            locked: false,
        };
        self.lock().insert(login_key(username), person);
    }

    /// Locks a user (a password policy's lockout, or an administrator's).
    pub fn lock_user(&self, username: &str) {
        if let Some(p) = self.lock().get_mut(&login_key(username)) {
            p.locked = true;
        }
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
            Some(p) if !p.locked && !password.is_empty() && p.password == password => {
                Verdict::Accepted {
                    identity: p.identity.clone(),
                    groups: p.groups.clone(),
                }
            }
            _ => Verdict::Refused,
        })
    }

    async fn standing(&self, id: &str, _within: Duration) -> Result<Standing, DirectoryError> {
        let people = self.lock();
        Ok(match people.values().find(|p| p.identity.id == id) {
            Some(p) if p.locked => Standing::Locked,
            Some(_) => Standing::Active,
            None => Standing::Gone,
        })
    }
}
