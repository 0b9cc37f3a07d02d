//! Operator functions on tables and applications: creating the tables and the raw writes
//! the tests seed with (inherent: bootstrapping, not operator actions), and the client
//! registrations' port ([`ApplicationAdmin`]). Not on the request path.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    TimeToLiveStatus,
};

use super::item::{self, ItemExt, application_from, attr, n};
use super::{DynamoStore, TOKENS_BY_USER_INDEX, conditional, unavailable};
use crate::store::{Application, ApplicationAdmin, StoreError, User};

impl DynamoStore {
    /// Creates the nine tables with TTL where needed; tables that exist are left alone.
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
            (&t.sessions, attr::SESSION_KEY, None, true),
            (&t.refresh_tokens, attr::FAMILY_ID, None, true),
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

    /// Writes a user; with `overwrite` false an existing name is a [`StoreError::Conflict`]
    /// (`UserAdmin::add_user`); with `overwrite`, what tests seed.
    pub async fn put_user(&self, user: &User, overwrite: bool) -> Result<(), StoreError> {
        self.put_item(
            &self.tables.users,
            item::user_item(user),
            (!overwrite).then_some("attribute_not_exists(username)"),
        )
        .await
    }

    /// Writes an application, with no edit version; with `overwrite` false an existing
    /// client id is a [`StoreError::Conflict`] (`ApplicationAdmin::add_application`).
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

    /// An application as stored (tests read it back).
    pub async fn get_application(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        self.get_item(&self.tables.applications, attr::CLIENT_ID, client_id)
            .await?
            .map(|i| application_from(&i))
            .transpose()
    }
}

/// The edit version is the item's `edit_version` (none: 0, an item never edited).
impl ApplicationAdmin for DynamoStore {
    async fn add_application(&self, app: &Application) -> Result<(), StoreError> {
        self.put_application(app, false).await
    }

    async fn get_application_for_update(
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

    async fn replace_application(&self, app: &Application, version: u64) -> Result<(), StoreError> {
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
        match conditional(request.send().await.map(|_| ()))? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    /// Raises the edit version too, so an `app update` that read the old epoch cannot
    /// restore it.
    async fn revoke_client_tokens(&self, client_id: &str) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.applications,
            (attr::CLIENT_ID, client_id),
            "ADD token_epoch :one, edit_version :one",
            "attribute_exists(client_id)",
            vec![(":one", n(1))],
        )
        .await
    }

    async fn set_client_secret(
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

    async fn delete_application(&self, client_id: &str) -> Result<bool, StoreError> {
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

    async fn list_applications(&self) -> Result<Vec<Application>, StoreError> {
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
