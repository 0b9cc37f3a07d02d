//! An in-memory store for unit tests of the request flow (the `test-support` feature).
//! Not for production: nothing is shared between processes. Clones share one store, so a
//! test keeps a handle on what the flow it built writes. Outages and lost answers are not
//! here: tests wrap any store (this one or DynamoDB) in a fault-injecting double.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

mod admin;
mod authorized;
mod devices;
mod records;
mod refresh;
mod sessions;
mod users;
mod whitelist_claim;

pub use records::{application, token_record, user};

use super::{
    Admission, Application, ClientAndToken, CodeClaim, CodeRecord, CodeStore, FailedLogins,
    Failure, FailureCounter, Lease, Lookup, LookupReader, OneTimeValues, OwnerAndClient,
    Redemption, StoreError, TokenCanceller, TokenReader, TokenRecord, TokenRevoker, TokenWriter,
    User, Verified,
};

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

/// A failed-logins item: what DynamoDB keeps per username.
#[derive(Debug, Clone, Default)]
struct Counter {
    counts: Option<FailedLogins>,
    next_attempt_ms: u64,
    lease: Option<Lease>,
    /// When the record may be forgotten (DynamoDB's TTL), epoch seconds.
    expires_at: u64,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, User>,
    applications: HashMap<String, Application>,
    tokens: HashMap<String, TokenRecord>,
    codes: HashMap<[u8; 32], CodeRecord>,
    failed_logins: HashMap<String, Counter>,
    /// See [`Lookup::bcrypt_cost`].
    bcrypt_cost: Option<u32>,
    /// The marker's version, raised by every import that marks it (as in DynamoDB).
    bcrypt_version: u64,
    /// Token ids a replayed code forbade before their token was written.
    forbidden_tokens: HashSet<String>,
    /// DPoP replay keys, each with the time it may be forgotten.
    proofs: HashMap<[u8; 32], u64>,
    /// The DPoP nonces' secret, once an instance asked for it.
    nonce_secret: Option<[u8; 32]>,
    /// Applications' edit versions (none: 0, as DynamoDB's item without `edit_version`).
    edit_versions: HashMap<String, u64>,
    /// The latest whitelist edit's claim: the version claimed, and when (ms).
    whitelist_claim: Option<(i64, u64)>,
    /// Grants (remembered consent, API tokens under their cap), by person and application.
    authorized: HashMap<(String, String), authorized::AuthorizedEntry>,
    /// Browser sessions, by the hash of their id.
    sessions: HashMap<String, crate::session::Session>,
    /// Device authorizations, by their device code's hash.
    devices: HashMap<[u8; 32], crate::store::DeviceAuthorization>,
    /// Wrong user codes by person: the end of the current window, and the count in it.
    user_code_misses: HashMap<String, (u64, u32)>,
    /// Refresh token families, by their id.
    families: HashMap<String, crate::store::RefreshFamily>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub fn put_user(&self, user: User) {
        self.with(|i| i.users.insert(user.username.clone(), user));
    }

    /// Removes a user's record, as an operator may.
    pub fn remove_user(&self, username: &str) {
        self.with(|i| i.users.remove(username));
    }

    /// Writes an application as DynamoDB's seeding `PutItem` does: with no edit version.
    pub fn put_application(&self, app: Application) {
        self.with(|i| {
            i.edit_versions.remove(&app.client_id);
            i.applications.insert(app.client_id.clone(), app)
        });
    }

    pub fn application(&self, client_id: &str) -> Option<Application> {
        self.with(|i| i.applications.get(client_id).cloned())
    }

    pub fn user(&self, username: &str) -> Option<User> {
        self.with(|i| i.users.get(username).cloned())
    }

    pub fn put_token_record(&self, token: TokenRecord) {
        self.with(|i| i.tokens.insert(token.token_id.clone(), token));
    }

    pub fn codes(&self) -> Vec<CodeRecord> {
        self.with(|i| i.codes.values().cloned().collect())
    }

    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.with(|i| i.tokens.values().cloned().collect())
    }

    pub fn failed_logins(&self, username: &str) -> Option<FailedLogins> {
        self.with(|i| i.failed_logins.get(username).and_then(|c| c.counts))
    }

    /// When the name's failed-logins record may be forgotten (its TTL), epoch seconds.
    pub fn counter_expiry(&self, username: &str) -> Option<u64> {
        self.with(|i| i.failed_logins.get(username).map(|c| c.expires_at))
    }

    /// Whether an attempt for `username` holds the name now (for tests of the lease).
    pub fn lease(&self, username: &str) -> Option<Lease> {
        self.with(|i| i.failed_logins.get(username).and_then(|c| c.lease.clone()))
    }

    /// Marks imported bcrypt hashes of up to `cost` as still in use (or none).
    pub fn set_bcrypt_cost(&self, cost: Option<u32>) {
        self.with(|i| i.bcrypt_cost = cost);
    }

    /// What an import does after writing its users: the highest cost raised, never
    /// lowered, and the marker's version raised.
    pub fn mark_bcrypt_in_use(&self, cost: u32) {
        self.with(|i| {
            i.bcrypt_cost = Some(i.bcrypt_cost.map_or(cost, |c| c.max(cost)));
            i.bcrypt_version += 1;
        });
    }

    /// The marker's version, or `None` without a marker.
    pub fn bcrypt_marker_version(&self) -> Option<u64> {
        self.with(|i| i.bcrypt_cost.map(|_| i.bcrypt_version))
    }

    /// How many users still have a bcrypt hash.
    pub fn count_bcrypt_users(&self) -> u64 {
        self.with(|i| {
            let bcrypt = i
                .users
                .values()
                .filter(|u| u.password_hash.starts_with("$2"));
            bcrypt.count() as u64
        })
    }

    /// Removes the marker only if its version is still `version`; whether it was.
    pub fn remove_bcrypt_marker(&self, version: u64) -> bool {
        self.with(|i| {
            let unchanged = i.bcrypt_cost.is_none() || i.bcrypt_version == version;
            if unchanged {
                i.bcrypt_cost = None;
            }
            unchanged
        })
    }
}

impl LookupReader for MemoryStore {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        self.with(|i| {
            Ok(Lookup {
                application: i.applications.get(client_id).cloned(),
                user: username.and_then(|u| i.users.get(u).cloned()),
                bcrypt_cost: username.and(i.bcrypt_cost),
            })
        })
    }
}

impl TokenWriter for MemoryStore {
    async fn put_token(&self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        self.with(|i| i.write_token(token, user))
    }
}

impl Inner {
    /// The token write, as one step: see [`TokenWriter::put_token`].
    fn write_token(&mut self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        self.check_token_write(token, user)?;
        if let (Some(stored), Some(hash)) =
            (self.users.get_mut(&user.username), &user.new_password_hash)
        {
            stored.password_hash = hash.clone();
        }
        self.tokens.insert(token.token_id.clone(), token.clone());
        Ok(())
    }

    /// Whether the token write's conditions hold: its id unused, the user as verified.
    fn check_token_write(&self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        if self.tokens.contains_key(&token.token_id)
            || self.forbidden_tokens.contains(&token.token_id)
        {
            return Err(StoreError::Conflict);
        }
        let stored = self.users.get(&user.username);
        let unchanged = stored.as_ref().is_some_and(|u| {
            u.enabled
                && user
                    .password_hash
                    .as_ref()
                    .is_none_or(|h| *h == u.password_hash)
                && u.generation == user.generation
        });
        if !unchanged {
            return Err(StoreError::UserChanged);
        }
        Ok(())
    }
}

impl TokenReader for MemoryStore {
    async fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.with(|i| Ok(i.tokens.get(token_id).cloned()))
    }

    async fn owner_and_client(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<OwnerAndClient, StoreError> {
        self.with(|i| {
            Ok(OwnerAndClient {
                user: i.users.get(username).cloned(),
                application: i.applications.get(client_id).cloned(),
            })
        })
    }

    async fn token_and_parties(
        &self,
        token_id: &str,
        username: &str,
        client_id: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        let token = self.get_token(token_id).await?;
        Ok((token, self.owner_and_client(username, client_id).await?))
    }
}

impl TokenRevoker for MemoryStore {
    async fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.with(|i| match i.tokens.get_mut(token_id) {
            Some(t) if &t.secret_hash == secret_hash && t.revoked_at.is_none() => {
                t.revoked_at = Some(now_secs);
                Ok(true)
            }
            _ => Ok(false),
        })
    }
}

impl TokenCanceller for MemoryStore {
    async fn revoke_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
        _expires_at: u64,
    ) -> Result<(), StoreError> {
        self.with(|i| {
            match i.tokens.get_mut(token_id) {
                Some(t) => {
                    t.revoked_at.get_or_insert(now_secs);
                }
                None => {
                    i.forbidden_tokens.insert(token_id.to_string());
                }
            }
            Ok(())
        })
    }
}

impl CodeStore for MemoryStore {
    async fn put_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
        self.with(|i| {
            if i.codes.contains_key(&code.code_hash) {
                return Err(StoreError::Conflict);
            }
            i.codes.insert(code.code_hash, code.clone());
            Ok(())
        })
    }

    async fn redeem_code(
        &self,
        claim: &CodeClaim<'_>,
        token_id: &str,
        now_secs: u64,
    ) -> Result<Redemption, StoreError> {
        self.with(|i| {
            let Some(code) = i.codes.get_mut(claim.code_hash) else {
                return Ok(Redemption::Refused);
            };
            if !claim.owns(code) {
                return Ok(Redemption::Refused);
            }
            if code.used_at.is_some() {
                return Ok(super::used_code(code.clone(), token_id));
            }
            if code.expires_at <= now_secs || !claim.has_key_for(code) {
                return Ok(Redemption::Refused);
            }
            let issued = code.clone();
            code.used_at = Some(now_secs);
            code.token_id = Some(token_id.to_string());
            Ok(Redemption::Redeemed(issued))
        })
    }
}

impl OneTimeValues for MemoryStore {
    async fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.with(|i| match i.proofs.get(replay_key) {
            Some(until) if *until > now_secs => Ok(false),
            _ => {
                i.proofs.insert(*replay_key, keep_until);
                Ok(true)
            }
        })
    }

    async fn nonce_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        Ok(self.with(|i| *i.nonce_secret.get_or_insert(fresh)))
    }
}

impl ClientAndToken for MemoryStore {
    async fn client_and_token(
        &self,
        client_id: &str,
        token_id: &str,
    ) -> Result<(Option<Application>, Option<TokenRecord>), StoreError> {
        self.with(|i| {
            Ok((
                i.applications.get(client_id).cloned(),
                i.tokens.get(token_id).cloned(),
            ))
        })
    }
}

impl FailureCounter for MemoryStore {
    async fn admit(
        &self,
        username: &str,
        lease: &Lease,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<Admission, StoreError> {
        self.with(|i| {
            let c = i.failed_logins.entry(username.to_string()).or_default();
            let held = c.lease.as_ref().filter(|held| held.id != lease.id);
            let lease_until_ms = held.map_or(0, |l| l.until_ms);
            if c.next_attempt_ms > now_ms || lease_until_ms > now_ms {
                return Ok(Admission::Refused {
                    window_until_ms: c.next_attempt_ms,
                    lease_until_ms,
                });
            }
            c.lease = Some(lease.clone());
            c.expires_at = expires_at;
            Ok(Admission::Admitted { counts: c.counts })
        })
    }

    async fn record_failure(
        &self,
        username: &str,
        lease: &Lease,
        failure: &Failure,
    ) -> Result<FailedLogins, StoreError> {
        self.with(|i| {
            let c = i.failed_logins.entry(username.to_string()).or_default();
            let mine = c.lease.as_ref().is_some_and(|held| held.id == lease.id);
            let stored = c.counts.map_or(0, |f| f.failures);
            let failures = if mine {
                stored.saturating_sub(failure.forgiven).saturating_add(1)
            } else {
                stored.saturating_add(1)
            };
            let counts = FailedLogins {
                failures,
                last_failure_ms: failure.now_ms,
            };
            c.counts = Some(counts);
            c.expires_at = failure.expires_at;
            // A lost lease: the other attempt's lease and window stay.
            if mine {
                c.next_attempt_ms = failure.next_attempt_ms;
                c.lease = None;
            }
            Ok(counts)
        })
    }

    async fn release(&self, username: &str, lease: &Lease) -> Result<(), StoreError> {
        self.with(|i| {
            if let Some(c) = i.failed_logins.get_mut(username)
                && c.lease.as_ref().is_some_and(|held| held.id == lease.id)
            {
                c.lease = None;
            }
            Ok(())
        })
    }
}
