//! Remembered consent in memory.

use std::collections::BTreeSet;

use super::MemoryStore;
use crate::store::{ConsentStore, StoreError};

impl ConsentStore for MemoryStore {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        let key = (username.to_string(), client_id.to_string());
        Ok(self.with(|i| i.consents.get(&key).cloned().unwrap_or_default()))
    }

    async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        let key = (username.to_string(), client_id.to_string());
        self.with(|i| {
            i.consents
                .entry(key)
                .or_default()
                .extend(scopes.iter().cloned())
        });
        Ok(())
    }
}
