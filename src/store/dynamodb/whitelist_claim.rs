//! The whitelist edits' claims ([`crate::whitelist::EditClaims`]): one marker item in the
//! users table, next to the bcrypt marker, holding the parameter version the latest edit
//! claimed and when. Each claim is one conditional write, so two edits never hold the
//! same version.

use super::item::{attr, n};
use super::{DynamoStore, WHITELIST_EDIT_MARKER};
use crate::whitelist::{EditClaims, STALE_CLAIM, SourceError};

impl EditClaims for DynamoStore {
    async fn claim_next(&self, read: i64, now_ms: u64) -> Result<bool, SourceError> {
        let stale_before = now_ms.saturating_sub(STALE_CLAIM.as_millis() as u64);
        // Free when no edit claimed past what was read (an edit outside the CLI, in the
        // console, leaves the claim behind the parameter: still free), or when the claim on
        // this very version is stale.
        let free = "attribute_not_exists(claimed) OR claimed <= :read \
                    OR (claimed = :next AND claimed_at < :stale)";
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, WHITELIST_EDIT_MARKER),
            "SET claimed = :next, claimed_at = :now",
            free,
            vec![
                (":read", n(read)),
                (":next", n(read + 1)),
                (":now", n(now_ms)),
                (":stale", n(stale_before)),
            ],
        )
        .await
        .map_err(|e| SourceError::Unavailable(format!("the edit's claim: {e}")))
    }
}
