//! An in-memory store for unit tests of the request flow. Not for production: nothing is
//! shared between processes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::{
    AfterLogin, Application, Directory, FailedLogins, FailureCounter, Lookup, StoreError,
    TokenReader, TokenRecord, TokenRevoker, TokenWriter, User,
};

/// The store's operations, for failing one of them on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Lookup,
    PutToken,
    GetToken,
    RevokeToken,
    RecordFailure,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Reads made through [`Directory::lookup`]; shared so that a test double elsewhere
    /// (a whitelist source, say) can see them as they happen.
    lookups: Arc<AtomicU32>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, User>,
    applications: HashMap<String, Application>,
    tokens: HashMap<String, TokenRecord>,
    failed_logins: HashMap<String, FailedLogins>,
    /// When set, every call fails as DynamoDB would during an outage.
    unavailable: bool,
    /// Operations that fail as during an outage while the others work: a write that fails
    /// after a good read, say.
    failing: HashSet<Operation>,
    /// Token writes to refuse with a conflict before accepting one.
    conflicts_to_inject: u32,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub fn put_user(&self, user: User) {
        self.with(|i| i.users.insert(user.username.clone(), user));
    }

    pub fn put_application(&self, app: Application) {
        self.with(|i| i.applications.insert(app.client_id.clone(), app));
    }

    pub fn user(&self, username: &str) -> Option<User> {
        self.with(|i| i.users.get(username).cloned())
    }

    pub fn put_token_record(&self, token: TokenRecord) {
        self.with(|i| i.tokens.insert(token.token_id.clone(), token));
    }

    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.with(|i| i.tokens.values().cloned().collect())
    }

    pub fn failed_logins(&self, username: &str) -> Option<FailedLogins> {
        self.with(|i| i.failed_logins.get(username).copied())
    }

    /// A live view of how many lookups this store has answered.
    pub fn lookup_counter(&self) -> Arc<AtomicU32> {
        self.lookups.clone()
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.with(|i| i.unavailable = unavailable);
    }

    /// Makes `operation` fail as during an outage (or work again), whatever the others do.
    pub fn set_failing(&self, operation: Operation, failing: bool) {
        self.with(|i| {
            if failing {
                i.failing.insert(operation);
            } else {
                i.failing.remove(&operation);
            }
        });
    }

    pub fn inject_conflicts(&self, n: u32) {
        self.with(|i| i.conflicts_to_inject = n);
    }

    fn check_available(i: &Inner, operation: Operation) -> Result<(), StoreError> {
        if i.unavailable || i.failing.contains(&operation) {
            Err(StoreError::Unavailable(
                "memory store set unavailable".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl Directory for MemoryStore {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.with(|i| {
            Self::check_available(i, Operation::Lookup)?;
            Ok(Lookup {
                application: i.applications.get(client_id).cloned(),
                user: username.and_then(|u| i.users.get(u).cloned()),
                failed_logins: username.and_then(|u| i.failed_logins.get(u).copied()),
            })
        })
    }
}

impl TokenWriter for MemoryStore {
    async fn put_token(&self, token: &TokenRecord, after: &AfterLogin) -> Result<(), StoreError> {
        self.with(|i| {
            Self::check_available(i, Operation::PutToken)?;
            if i.conflicts_to_inject > 0 {
                i.conflicts_to_inject -= 1;
                return Err(StoreError::Conflict);
            }
            if i.tokens.contains_key(&token.token_id) {
                return Err(StoreError::Conflict);
            }
            i.tokens.insert(token.token_id.clone(), token.clone());
            if after.reset_failures {
                i.failed_logins.remove(&token.username);
            }
            if let (Some(hash), Some(user)) =
                (&after.new_password_hash, i.users.get_mut(&token.username))
            {
                user.password_hash = hash.clone();
            }
            Ok(())
        })
    }
}

impl TokenReader for MemoryStore {
    async fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.with(|i| {
            Self::check_available(i, Operation::GetToken)?;
            Ok(i.tokens.get(token_id).cloned())
        })
    }
}

impl TokenRevoker for MemoryStore {
    async fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.with(|i| {
            Self::check_available(i, Operation::RevokeToken)?;
            match i.tokens.get_mut(token_id) {
                Some(t) if &t.secret_hash == secret_hash && t.revoked_at.is_none() => {
                    t.revoked_at = Some(now_secs);
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }
}

impl FailureCounter for MemoryStore {
    async fn record_failure(
        &self,
        username: &str,
        now_ms: u64,
        _expires_at: u64,
    ) -> Result<FailedLogins, StoreError> {
        self.with(|i| {
            Self::check_available(i, Operation::RecordFailure)?;
            let entry = i
                .failed_logins
                .entry(username.to_string())
                .or_insert(FailedLogins {
                    failures: 0,
                    last_failure_ms: now_ms,
                });
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure_ms = now_ms;
            Ok(*entry)
        })
    }
}
