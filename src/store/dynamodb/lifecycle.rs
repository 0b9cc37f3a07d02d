//! Operator actions on users: those that end a user's tokens (disable, revoke all, a
//! password reset), and the marker of imported bcrypt hashes.
//!
//! Each is one write to the user: it raises the user's `generation`, so a login or a code
//! in flight (its transaction holds the user to the generation it read) writes no token;
//! and the token checks read the user, so a disabled user's tokens, and tokens written
//! under a generation below the user's `tokens_from`, are refused from that write on.
//! Nothing is marked token by token for the decision: a command that fails midway, or an
//! enable and a disable at once, cannot leave a disabled user with a working token. (`token
//! revoke --user` still marks each token revoked afterwards, for `token list`; the check
//! does not need those marks.)

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::ItemExt;
use super::item::{attr, n};
use super::{BCRYPT_MARKER, DynamoStore, conditional, unavailable};
use crate::store::{StoreError, TokenReader};

/// The bcrypt marker's version attribute, raised by every import that marks it.
const MARKER_VERSION: &str = "marker_version";

/// Raises the generation and voids every token written under the old one, in one update.
/// (Both right-hand sides read the generation as it was before this write.)
const VOID_TOKENS: &str = "generation = if_not_exists(generation, :zero) + :one, \
     tokens_from = if_not_exists(generation, :zero) + :one";

impl DynamoStore {
    /// Enables or disables a user: one write, which the checks read. An enabled user's
    /// unrevoked tokens work again. Returns whether the user exists.
    pub async fn set_user_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, username),
            "SET enabled = :e ADD generation :one",
            "attribute_exists(username)",
            vec![(":e", AttributeValue::Bool(enabled)), (":one", n(1))],
        )
        .await
    }

    /// Voids every token of a user, and every token a login in flight would write, in one
    /// write; then marks each listed token revoked, for the listings. Returns how many
    /// tokens were marked now, or `None` when there is no such user.
    pub async fn revoke_user_tokens(
        &self,
        username: &str,
        now_secs: u64,
    ) -> Result<Option<u32>, StoreError> {
        let exists = self
            .update_if(
                &self.tables.users,
                (attr::USERNAME, username),
                &format!("SET {VOID_TOKENS}"),
                "attribute_exists(username)",
                vec![(":one", n(1)), (":zero", n(0))],
            )
            .await?;
        if !exists {
            return Ok(None);
        }
        self.mark_user_tokens_revoked(username, now_secs)
            .await
            .map(Some)
    }

    /// Marks each listed, unrevoked token of a user revoked; returns how many. Only for
    /// the listings: the user's `tokens_from` voids them already.
    pub async fn mark_user_tokens_revoked(
        &self,
        username: &str,
        now_secs: u64,
    ) -> Result<u32, StoreError> {
        let mut revoked = 0;
        for token_id in self.user_token_ids(username).await? {
            if self.revoke_token_by_id(&token_id, now_secs).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// How many of a user's tokens a check would accept now (for the operator's question).
    pub async fn live_token_count(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        let Some(user) = self.get_user(username).await? else {
            return Ok(0);
        };
        let mut live = 0;
        for token_id in self.user_token_ids(username).await? {
            if let Some(t) = self.get_token(&token_id).await? {
                let void = t.revoked_at.is_some() || t.user_generation < user.tokens_from;
                if !void && t.expires_at > now_secs {
                    live += 1;
                }
            }
        }
        Ok(live)
    }

    /// Replaces a user's password hash. A login that verified the old one writes no token
    /// (its condition names the old hash). With `void_tokens`, every token of the user is
    /// void in the same write. Returns whether the user exists.
    pub async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        void_tokens: bool,
    ) -> Result<bool, StoreError> {
        let (update, mut values) = if void_tokens {
            (
                format!("SET password_hash = :h, {VOID_TOKENS}"),
                vec![(":zero", n(0))],
            )
        } else {
            (
                "SET password_hash = :h ADD generation :one".to_string(),
                vec![],
            )
        };
        values.push((":h", AttributeValue::S(hash.to_string())));
        values.push((":one", n(1)));
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, username),
            &update,
            "attribute_exists(username)",
            values,
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
