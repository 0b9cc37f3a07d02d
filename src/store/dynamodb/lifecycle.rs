//! Operator actions on users and their tokens ([`UserAdmin`], [`TokenAdmin`]): those that
//! end a user's tokens (disable, revoke all, a password reset), and the listings.
//!
//! Each that ends tokens is one write to the user: it raises the user's `generation`, so
//! a login or a code in flight (its transaction holds the user to the generation it read)
//! writes no token; and the token checks read the user, so a disabled user's tokens, and
//! tokens written under a generation below the user's `tokens_from`, are refused from that
//! write on. Nothing is marked token by token for the decision: a command that fails
//! midway, or an enable and a disable at once, cannot leave a disabled user with a working
//! token. (`token revoke --user` still marks each token revoked afterwards, for `token
//! list`; the check does not need those marks.)

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, attr, n, token_from, user_from};
use super::{DynamoStore, TOKENS_BY_USER_INDEX, unavailable};
use crate::store::{StoreError, TokenAdmin, TokenReader, TokenRecord, User, UserAdmin};

/// Raises the generation and voids every token written under the old one, in one update.
/// (Both right-hand sides read the generation as it was before this write.)
const VOID_TOKENS: &str = "generation = if_not_exists(generation, :zero) + :one, \
     tokens_from = if_not_exists(generation, :zero) + :one";

impl UserAdmin for DynamoStore {
    async fn add_user(&self, user: &User) -> Result<(), StoreError> {
        self.put_user(user, false).await
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.get_item(&self.tables.users, attr::USERNAME, username)
            .await?
            .map(|i| user_from(&i))
            .transpose()
    }

    async fn set_user_enabled(&self, username: &str, enabled: bool) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, username),
            "SET enabled = :e ADD generation :one",
            "attribute_exists(username)",
            vec![(":e", AttributeValue::Bool(enabled)), (":one", n(1))],
        )
        .await
    }

    async fn set_password_hash(
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

    async fn revoke_user_tokens(
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
}

impl TokenAdmin for DynamoStore {
    /// Through the tokens table's `by-username` index.
    async fn list_tokens_for_user(&self, username: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let mut tokens = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.tokens)
            .index_name(TOKENS_BY_USER_INDEX)
            .key_condition_expression("username = :u")
            .expression_attribute_values(":u", AttributeValue::S(username.to_string()))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            tokens.push(token_from(&item.map_err(unavailable)?)?);
        }
        Ok(tokens)
    }

    async fn revoke_token_by_id(&self, token_id: &str, now_secs: u64) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.tokens,
            (attr::TOKEN_ID, token_id),
            "SET revoked_at = :now",
            "attribute_exists(token_id) AND attribute_not_exists(revoked_at)",
            vec![(":now", n(now_secs))],
        )
        .await
    }

    /// The tokens listed under the user in the user-tokens table (read strongly
    /// consistently, unlike the index).
    async fn mark_user_tokens_revoked(
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

    async fn live_token_count(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        let Some(user) = self.get_user(username).await? else {
            return Ok(0);
        };
        let mut live = 0;
        for token_id in self.user_token_ids(username).await? {
            if let Some(t) = self.get_token(&token_id).await? {
                let void = t.revoked_at.is_some() || t.user_generation < user.tokens_from;
                if !void && t.expires_at.is_none_or(|at| at > now_secs) {
                    live += 1;
                }
            }
        }
        Ok(live)
    }
}

impl DynamoStore {
    /// The ids of every token listed under a user, read strongly consistently (the
    /// user's grants, listed beside them, aside).
    pub async fn user_token_ids(&self, username: &str) -> Result<Vec<String>, StoreError> {
        let items = self.user_token_items(username).await?;
        let ids = items
            .iter()
            .filter_map(|item| match item.get(attr::TOKEN_ID) {
                Some(AttributeValue::S(id)) if !id.starts_with(':') => Some(id.clone()),
                _ => None,
            });
        Ok(ids.collect())
    }

    /// Every item under a user in the user-tokens table: token entries and grants.
    pub(super) async fn user_token_items(&self, username: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
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
            items.push(item.map_err(unavailable)?);
        }
        Ok(items)
    }
}
