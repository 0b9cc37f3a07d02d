//! Operator functions, used by the admin CLI and the tests: creating tables, writing
//! users and applications, listing and revoking tokens. Not on the request path.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    TimeToLiveStatus,
};

use super::item::{self, ItemExt, application_from, attr, n, token_from};
use super::{DynamoStore, TOKENS_BY_USER_INDEX, conditional, unavailable};
use crate::store::{Application, StoreError, TokenRecord, User};

impl DynamoStore {
    /// Creates the seven tables with TTL where needed; tables that exist are left alone.
    /// Returns the names it created.
    pub async fn create_tables(&self) -> Result<Vec<String>, StoreError> {
        let t = self.tables.clone();
        let mut created = Vec::new();
        for (table, key, sort, ttl) in [
            (&t.users, attr::USERNAME, None, false),
            (&t.applications, attr::CLIENT_ID, None, false),
            (&t.tokens, attr::TOKEN_ID, None, true),
            (&t.failed_logins, attr::USERNAME, None, true),
            (&t.user_tokens, attr::USERNAME, Some(attr::TOKEN_ID), true),
            (&t.codes, attr::CODE_SHA256, None, true),
            (&t.dpop_proofs, attr::REPLAY_KEY, None, true),
        ] {
            if self
                .create_table(table, key, sort, table == &t.tokens)
                .await?
            {
                created.push(table.clone());
            }
            if ttl {
                self.enable_ttl(table).await?;
            }
        }
        Ok(created)
    }

    async fn create_table(
        &self,
        table: &str,
        key: &str,
        sort: Option<&str>,
        with_user_index: bool,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr_def(key, ScalarAttributeType::S))
            .key_schema(key_elem(key, KeyType::Hash));
        if let Some(sort) = sort {
            req = req
                .attribute_definitions(attr_def(sort, ScalarAttributeType::S))
                .key_schema(key_elem(sort, KeyType::Range));
        }
        if with_user_index {
            let index = GlobalSecondaryIndex::builder()
                .index_name(TOKENS_BY_USER_INDEX)
                .key_schema(key_elem(attr::USERNAME, KeyType::Hash))
                .key_schema(key_elem(attr::ISSUED_AT, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(unavailable)?;
            req = req
                .attribute_definitions(attr_def(attr::USERNAME, ScalarAttributeType::S))
                .attribute_definitions(attr_def(attr::ISSUED_AT, ScalarAttributeType::N))
                .global_secondary_indexes(index);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn enable_ttl(&self, table: &str) -> Result<(), StoreError> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(unavailable)?;
        let status = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attr::EXPIRES_AT)
            .build()
            .map_err(unavailable)?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Writes a user; with `overwrite` false an existing name is a [`StoreError::Conflict`].
    pub async fn put_user(&self, user: &User, overwrite: bool) -> Result<(), StoreError> {
        self.put_item(
            &self.tables.users,
            item::user_item(user),
            (!overwrite).then_some("attribute_not_exists(username)"),
        )
        .await
    }

    pub async fn put_application(
        &self,
        app: &Application,
        overwrite: bool,
    ) -> Result<(), StoreError> {
        self.put_item(
            &self.tables.applications,
            item::application_item(app),
            (!overwrite).then_some("attribute_not_exists(client_id)"),
        )
        .await
    }

    /// An application as an edit reads it, with its version: the edit's write is
    /// conditional on it ([`Self::replace_application`]). 0 for an item without one.
    pub async fn get_application_for_update(
        &self,
        client_id: &str,
    ) -> Result<Option<(Application, u64)>, StoreError> {
        let Some(i) = self
            .get_item(&self.tables.applications, attr::CLIENT_ID, client_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            application_from(&i)?,
            i.num(attr::VERSION).unwrap_or(0),
        )))
    }

    /// Rewrites an application read at `version` (`app update`), raising the version, only
    /// if nothing wrote it since: two edits at once, or a rotation meanwhile, are never
    /// undone. `Ok(false)`: it changed (or is gone); read it again.
    pub async fn replace_application(
        &self,
        app: &Application,
        version: u64,
    ) -> Result<bool, StoreError> {
        let mut stored = item::application_item(app);
        stored.insert(attr::VERSION.to_string(), n(version + 1));
        let request = self
            .client
            .put_item()
            .table_name(&self.tables.applications)
            .set_item(Some(stored));
        let request = if version == 0 {
            request.condition_expression(
                "attribute_exists(client_id) AND attribute_not_exists(edit_version)",
            )
        } else {
            request
                .condition_expression("edit_version = :read")
                .expression_attribute_values(":read", n(version))
        };
        conditional(request.send().await.map(|_| ()))
    }

    /// Revokes every token and code of an application, and every one a login in flight
    /// writes, in one write: a new token epoch (the checks refuse every other). Raises the
    /// edit version too, so an `app update` that read the old epoch cannot restore it.
    /// Returns whether the application exists.
    pub async fn revoke_client_tokens(&self, client_id: &str) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.applications,
            (attr::CLIENT_ID, client_id),
            "ADD token_epoch :one, edit_version :one",
            "attribute_exists(client_id)",
            vec![(":one", n(1))],
        )
        .await
    }

    /// Gives an application a new client secret's hash, touching nothing else.
    pub async fn set_client_secret(
        &self,
        client_id: &str,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.applications,
            (attr::CLIENT_ID, client_id),
            "SET secret_sha256 = :h ADD edit_version :one",
            "attribute_exists(client_id)",
            vec![
                (":h", AttributeValue::B(hash.to_vec().into())),
                (":one", n(1)),
            ],
        )
        .await
    }

    pub async fn get_application(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        self.get_item(&self.tables.applications, attr::CLIENT_ID, client_id)
            .await?
            .map(|i| application_from(&i))
            .transpose()
    }

    /// A user's tokens, newest first (through the `by-username` index).
    pub async fn list_tokens_for_user(
        &self,
        username: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
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

    /// Revokes a token by its public id (operator action). Returns whether it was revoked now.
    pub async fn revoke_token_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.tokens,
            (attr::TOKEN_ID, token_id),
            "SET revoked_at = :now",
            "attribute_exists(token_id) AND attribute_not_exists(revoked_at)",
            vec![(":now", n(now_secs))],
        )
        .await
    }

    /// Removes an application. Returns whether it existed.
    pub async fn delete_application(&self, client_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.applications)
            .set_key(Some(Self::key(attr::CLIENT_ID, client_id)))
            .condition_expression("attribute_exists(client_id)")
            .send()
            .await;
        conditional(result.map(|_| ()))
    }

    /// Every application, sorted by client id.
    pub async fn list_applications(&self) -> Result<Vec<Application>, StoreError> {
        let mut apps = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.tables.applications)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            apps.push(application_from(&item.map_err(unavailable)?)?);
        }
        apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(apps)
    }
}

fn attr_def(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("name and type are set")
}

fn key_elem(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}
