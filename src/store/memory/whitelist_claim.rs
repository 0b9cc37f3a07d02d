//! The whitelist edits' claims in memory ([`crate::whitelist::EditClaims`]), with the
//! DynamoDB marker's condition, so the memory whitelist's edits are serialised the same way.

use super::MemoryStore;
use crate::whitelist::{EditClaims, STALE_CLAIM, SourceError};

impl EditClaims for MemoryStore {
    async fn claim_next(&self, read: i64, now_ms: u64) -> Result<bool, SourceError> {
        let stale_before = now_ms.saturating_sub(STALE_CLAIM.as_millis() as u64);
        self.with(|i| {
            let free = match i.whitelist_claim {
                None => true,
                Some((claimed, at)) => {
                    claimed <= read || (claimed == read + 1 && at < stale_before)
                }
            };
            if free {
                i.whitelist_claim = Some((read + 1, now_ms));
            }
            Ok(free)
        })
    }
}
