//! Refresh token families in memory: a family's write and the token's in one step under the
//! store's lock, conditional as DynamoDB's transaction is.

use super::{Inner, MemoryStore};
use crate::store::{RefreshFamily, RefreshStore, StoreError, TokenRecord, Verified};

impl RefreshStore for MemoryStore {
    async fn family(&self, family_id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        self.with(|i| Ok(i.families.get(family_id).cloned()))
    }

    async fn write_family(
        &self,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
        token: &TokenRecord,
        user: &Verified,
    ) -> Result<(), StoreError> {
        self.with(|i| {
            let stored = i.families.get(&family.family_id);
            let as_read = match (stored, seen) {
                (None, None) => true,
                (Some(f), Some(hash)) => f.current_hash == *hash && f.revoked_at.is_none(),
                _ => false,
            };
            // The token's conditions first, as the transaction's parts are ordered.
            i.check_token_write(token, user)?;
            if !as_read {
                return Err(StoreError::Conflict);
            }
            i.write_token(token, user)?;
            i.families.insert(family.family_id.clone(), family.clone());
            Ok(())
        })
    }

    async fn revoke_family(&self, family_id: &str, now_secs: u64) -> Result<(), StoreError> {
        self.with(|i| {
            let Some(family) = i.families.get_mut(family_id) else {
                return Ok(());
            };
            family.revoked_at.get_or_insert(now_secs);
            let ids: Vec<String> = family.access_tokens.keys().cloned().collect();
            for id in ids {
                if let Some(t) = i.tokens.get_mut(&id) {
                    t.revoked_at.get_or_insert(now_secs);
                }
            }
            Ok(())
        })
    }
}

impl Inner {
    /// Revokes the families of `username` for `client_id` (the applications page's
    /// revoke).
    pub(super) fn revoke_families_of(&mut self, username: &str, client_id: &str, now: u64) {
        for f in self.families.values_mut() {
            if f.username == username && f.client_id == client_id {
                f.revoked_at.get_or_insert(now);
            }
        }
    }
}
