//! Grants in memory: remembered consent, API tokens under their cap, last uses.

use std::collections::{BTreeMap, BTreeSet};

use super::{Inner, MemoryStore};
use crate::api_token::{Cap, Held};
use crate::store::{
    ApiTokenStore, Application, AuthorizedApplication, ConsentStore, Holdings, StoreError,
    TokenRecord, TokenUse, Verified,
};

/// A person's authorization of an application, as DynamoDB keeps it in the user-tokens table.
#[derive(Debug, Clone, Default)]
pub(super) struct AuthorizedEntry {
    scopes: BTreeSet<String>,
    api_tokens: BTreeMap<String, Held>,
}

type AuthorizedKey = (String, String);

fn key(username: &str, client_id: &str) -> AuthorizedKey {
    (username.to_string(), client_id.to_string())
}

impl ConsentStore for MemoryStore {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        let key = key(username, client_id);
        Ok(self.with(|i| {
            i.authorized
                .get(&key)
                .map(|g| g.scopes.clone())
                .unwrap_or_default()
        }))
    }

    async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        let key = key(username, client_id);
        let add = |i: &mut Inner| {
            i.authorized
                .entry(key)
                .or_default()
                .scopes
                .extend(scopes.iter().cloned())
        };
        self.with(add);
        Ok(())
    }
}

impl ApiTokenStore for MemoryStore {
    async fn create_api_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
        cap: &Cap,
    ) -> Result<(), StoreError> {
        let key = key(&token.username, &token.client_id);
        self.with(|i| {
            // A token revoked however (its owner, the revocation endpoint, an operator)
            // no longer counts: its record says so.
            let unrevoked = |id: &String| i.tokens.get(id).is_some_and(|t| t.revoked_at.is_none());
            let mut held = i
                .authorized
                .get(&key)
                .map(|g| g.api_tokens.clone())
                .unwrap_or_default();
            held.retain(|id, h| cap.counts(h) && unrevoked(id));
            if held.len() >= cap.most as usize {
                return Err(StoreError::CapReached);
            }
            i.write_token(token, user)?;
            held.insert(token.token_id.clone(), Held::of(token));
            i.authorized.entry(key).or_default().api_tokens = held;
            Ok(())
        })
    }

    async fn revoke_api_token(
        &self,
        username: &str,
        token_id: &str,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.with(|i| {
            let Some(t) = i
                .tokens
                .get_mut(token_id)
                .filter(|t| t.username == username)
            else {
                return Ok(false);
            };
            let now = t.revoked_at.is_none();
            t.revoked_at.get_or_insert(now_secs);
            Ok(now)
        })
    }

    async fn applications(&self) -> Result<Vec<Application>, StoreError> {
        crate::store::ApplicationAdmin::list_applications(self).await
    }

    async fn holdings(&self, username: &str) -> Result<Holdings, StoreError> {
        self.with(|i| {
            let theirs = i.authorized.iter().filter(|((u, _), _)| u == username);
            let theirs = theirs.map(|((_, client_id), g)| AuthorizedApplication {
                client_id: client_id.clone(),
                scopes: g.scopes.clone(),
            });
            Ok(Holdings {
                applications: theirs.collect(),
                tokens: i
                    .tokens
                    .values()
                    .filter(|t| t.username == username)
                    .cloned()
                    .collect(),
            })
        })
    }

    async fn revoke_access(
        &self,
        username: &str,
        client_id: &str,
        now_secs: u64,
    ) -> Result<u32, StoreError> {
        self.with(|i| {
            let mut revoked = 0;
            for t in i.tokens.values_mut() {
                if t.username == username && t.client_id == client_id && t.revoked_at.is_none() {
                    t.revoked_at = Some(now_secs);
                    revoked += 1;
                }
            }
            i.authorized.remove(&key(username, client_id));
            i.revoke_families_of(username, client_id, now_secs);
            Ok(revoked)
        })
    }
}

impl TokenUse for MemoryStore {
    async fn record_use(
        &self,
        token_id: &str,
        now_secs: u64,
        since: u64,
    ) -> Result<(), StoreError> {
        self.with(|i| {
            if let Some(t) = i.tokens.get_mut(token_id)
                && t.last_used_at.is_none_or(|at| at <= since)
            {
                t.last_used_at = Some(now_secs);
            }
        });
        Ok(())
    }
}
