//! Operator actions on users: those that end a user's tokens (disable, revoke all, a
//! password reset), and the marker of imported bcrypt hashes.
//!
//! Each first raises the user's `generation` (in the same write as its change), then marks
//! every token listed under the user in the user-tokens table, read strongly consistently.
//! Why that leaves no valid token, however many logins are in flight: a login writes its
//! token, its user-tokens entry and a condition on the user's generation in one
//! transaction. A transaction that committed before the generation was raised is in the
//! user-tokens table, where the strongly consistent query finds it; one that commits
//! after fails its condition and writes nothing. The tokens table's `by-username` index is
//! eventually consistent, so it is only used to show a user's tokens, never to end them.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::ItemExt;
use super::item::{attr, n};
use super::{BCRYPT_MARKER, DynamoStore, conditional, unavailable};
use crate::store::StoreError;

/// The bcrypt marker's version attribute, raised by every import that marks it.
const MARKER_VERSION: &str = "marker_version";

impl DynamoStore {
    /// Enables or disables a user, and marks or unmarks its unrevoked tokens so the
    /// authorizer still decides from the token's item alone. Returns whether the user
    /// exists.
    pub async fn set_user_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let exists = self
            .update_if(
                &self.tables.users,
                (attr::USERNAME, username),
                "SET enabled = :e ADD generation :one",
                "attribute_exists(username)",
                vec![(":e", AttributeValue::Bool(enabled)), (":one", n(1))],
            )
            .await?;
        if !exists {
            return Ok(false);
        }
        for token_id in self.user_token_ids(username).await? {
            let key = (attr::TOKEN_ID, token_id.as_str());
            let live = "attribute_exists(token_id) AND attribute_not_exists(revoked_at)";
            if enabled {
                self.update_if(
                    &self.tables.tokens,
                    key,
                    "REMOVE user_disabled",
                    live,
                    vec![],
                )
                .await?;
            } else {
                let set = "SET user_disabled = :t";
                let values = vec![(":t", AttributeValue::Bool(true))];
                self.update_if(&self.tables.tokens, key, set, live, values)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Revokes every token of a user, and every token a login in flight would write.
    /// Returns how many tokens were revoked now, or `None` when there is no such user.
    pub async fn revoke_user_tokens(
        &self,
        username: &str,
        now_secs: u64,
    ) -> Result<Option<u32>, StoreError> {
        let exists = self
            .update_if(
                &self.tables.users,
                (attr::USERNAME, username),
                "ADD generation :one",
                "attribute_exists(username)",
                vec![(":one", n(1))],
            )
            .await?;
        if !exists {
            return Ok(None);
        }
        let mut revoked = 0;
        for token_id in self.user_token_ids(username).await? {
            if self.revoke_token_by_id(&token_id, now_secs).await? {
                revoked += 1;
            }
        }
        Ok(Some(revoked))
    }

    /// Replaces a user's password hash. A login that verified the old one writes no token
    /// (its condition names the old hash). Returns whether the user exists.
    pub async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, username),
            "SET password_hash = :h ADD generation :one",
            "attribute_exists(username)",
            vec![(":h", AttributeValue::S(hash.to_string())), (":one", n(1))],
        )
        .await
    }

    /// The ids of every token listed under a user, read strongly consistently.
    pub async fn user_token_ids(&self, username: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.user_tokens)
            .key_condition_expression("username = :u")
            .expression_attribute_values(":u", AttributeValue::S(username.to_string()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(unavailable)?;
            if let Some(AttributeValue::S(id)) = item.get(attr::TOKEN_ID) {
                ids.push(id.clone());
            }
        }
        Ok(ids)
    }

    /// Records that bcrypt hashes of up to `cost` were imported (raising, never lowering,
    /// the highest cost on record), and raises the marker's version: a settle that read
    /// the version before this import then keeps the marker (see
    /// [`Self::remove_bcrypt_marker`]). Called after the import's user writes.
    pub async fn mark_bcrypt_in_use(&self, cost: u32) -> Result<(), StoreError> {
        let key = (attr::USERNAME, BCRYPT_MARKER);
        loop {
            let raised = self
                .update_if(
                    &self.tables.users,
                    key,
                    "SET max_cost = :c ADD marker_version :one",
                    "attribute_not_exists(max_cost) OR max_cost < :c",
                    vec![(":c", n(cost)), (":one", n(1))],
                )
                .await?;
            // The cost on record is as high already: the version alone.
            if raised
                || self
                    .update_if(
                        &self.tables.users,
                        key,
                        "ADD marker_version :one",
                        "attribute_exists(max_cost)",
                        vec![(":one", n(1))],
                    )
                    .await?
            {
                return Ok(());
            }
            // A settle removed the marker between the two writes: write it anew.
        }
    }

    /// The bcrypt marker's version, read strongly consistently (`None`: no marker; 0: one
    /// written before markers had versions).
    pub async fn bcrypt_marker_version(&self) -> Result<Option<u64>, StoreError> {
        let item = self
            .get_item(&self.tables.users, attr::USERNAME, BCRYPT_MARKER)
            .await?;
        Ok(item.map(|i| i.num(MARKER_VERSION).unwrap_or(0)))
    }

    /// How many users still have a bcrypt hash (a strongly consistent scan).
    pub async fn count_bcrypt_users(&self) -> Result<u64, StoreError> {
        let mut remaining = 0;
        let mut pages = self
            .client
            .scan()
            .table_name(&self.tables.users)
            .filter_expression("begins_with(password_hash, :bcrypt)")
            .expression_attribute_values(":bcrypt", AttributeValue::S("$2".into()))
            .projection_expression("username")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            item.map_err(unavailable)?;
            remaining += 1;
        }
        Ok(remaining)
    }

    /// Removes the marker only if its version is still `version`: an import since raised
    /// it, and its hashes may not have been in the scan. Returns whether it was removed.
    pub async fn remove_bcrypt_marker(&self, version: u64) -> Result<bool, StoreError> {
        let condition = if version == 0 {
            "attribute_not_exists(marker_version)"
        } else {
            "marker_version = :v"
        };
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.tables.users)
            .set_key(Some(Self::key(attr::USERNAME, BCRYPT_MARKER)))
            .condition_expression(condition);
        if version != 0 {
            request = request.expression_attribute_values(":v", n(version));
        }
        conditional(request.send().await.map(|_| ()))
    }

    /// How many users still have a bcrypt hash; when none do, the marker is removed, so
    /// failed logins are no longer held to bcrypt's time. The version is read before the
    /// scan, so an import that lands after the scan passed its users raises it and the
    /// removal fails: the marker stays while a bcrypt hash exists.
    pub async fn settle_bcrypt_marker(&self) -> Result<u64, StoreError> {
        let version = self.bcrypt_marker_version().await?;
        let remaining = self.count_bcrypt_users().await?;
        if let (0, Some(version)) = (remaining, version) {
            self.remove_bcrypt_marker(version).await?;
        }
        Ok(remaining)
    }
}
