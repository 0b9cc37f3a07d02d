//! The DynamoDB adapter: four tables, one item per user, application, token and
//! failed-login counter. The README's "Data" section documents the same layout.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};

use super::{
    AfterLogin, Application, Directory, FailedLogins, FailureCounter, Lookup, StoreError,
    TokenReader, TokenRecord, TokenRevoker, TokenWriter, User,
};
use crate::config::Tables;

type Item = HashMap<String, AttributeValue>;

/// Attribute names, shared by the adapter, the admin CLI and the README.
pub mod attr {
    pub const USERNAME: &str = "username";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const ENABLED: &str = "enabled";
    pub const SUPERUSER: &str = "superuser";
    pub const CLIENT_ID: &str = "client_id";
    pub const NAME: &str = "name";
    pub const REDIRECT_URIS: &str = "redirect_uris";
    pub const SCOPE_CEILING: &str = "scope_ceiling";
    pub const TOKEN_ID: &str = "token_id";
    pub const SECRET_SHA256: &str = "secret_sha256";
    pub const SCOPES: &str = "scopes";
    pub const ISSUED_AT: &str = "issued_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const REVOKED_AT: &str = "revoked_at";
    pub const USER_DISABLED: &str = "user_disabled";
    pub const FAILURES: &str = "failures";
    pub const LAST_FAILURE_MS: &str = "last_failure_ms";
}

/// The tokens table's index for listing a user's tokens.
pub const TOKENS_BY_USER_INDEX: &str = "by-username";

/// Batch reads can leave keys unprocessed under load; they are asked again this often.
const BATCH_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

fn unavailable(err: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        DynamoStore { client, tables }
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    fn key(name: &str, value: &str) -> Item {
        HashMap::from([(name.to_string(), AttributeValue::S(value.to_string()))])
    }

    /// Reads the given keys with `BatchGetItem`, asking again for unprocessed keys.
    async fn batch_get(
        &self,
        mut wanted: HashMap<String, KeysAndAttributes>,
    ) -> Result<HashMap<String, Vec<Item>>, StoreError> {
        let mut found: HashMap<String, Vec<Item>> = HashMap::new();
        for attempt in 0..BATCH_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(wanted))
                .send()
                .await
                .map_err(unavailable)?;
            for (table, items) in out.responses.unwrap_or_default() {
                found.entry(table).or_default().extend(items);
            }
            match out.unprocessed_keys {
                Some(rest) if !rest.is_empty() => wanted = rest,
                _ => return Ok(found),
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB left keys unprocessed".into(),
        ))
    }

    /// `UpdateItem` under a condition: `Ok(false)` when the condition does not hold.
    async fn update_if(
        &self,
        table: &str,
        key: (&str, &str),
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(Self::key(key.0, key.1)))
            .update_expression(update)
            .condition_expression(condition);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        conditional(request.send().await.map(|_| ()))
    }

    fn keys(name: &str, value: &str) -> KeysAndAttributes {
        KeysAndAttributes::builder()
            .keys(Self::key(name, value))
            .consistent_read(true)
            .build()
            .expect("keys is set")
    }
}

impl Directory for DynamoStore {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        let t = &self.tables;
        let mut wanted = HashMap::from([(
            t.applications.clone(),
            Self::keys(attr::CLIENT_ID, client_id),
        )]);
        if let Some(username) = username {
            wanted.insert(t.users.clone(), Self::keys(attr::USERNAME, username));
            wanted.insert(
                t.failed_logins.clone(),
                Self::keys(attr::USERNAME, username),
            );
        }
        let mut found = self.batch_get(wanted).await?;
        let mut first = |table: &str| found.remove(table).and_then(|mut v| v.pop());
        Ok(Lookup {
            application: first(&t.applications)
                .map(|i| application_from(&i))
                .transpose()?,
            user: first(&t.users).map(|i| user_from(&i)).transpose()?,
            failed_logins: first(&t.failed_logins)
                .map(|i| failed_logins_from(&i))
                .transpose()?,
        })
    }
}

impl TokenWriter for DynamoStore {
    async fn put_token(&self, token: &TokenRecord, after: &AfterLogin) -> Result<(), StoreError> {
        let item = token_item(token);
        let condition = "attribute_not_exists(token_id)";
        if !after.reset_failures && after.new_password_hash.is_none() {
            return match self
                .client
                .put_item()
                .table_name(&self.tables.tokens)
                .set_item(Some(item))
                .condition_expression(condition)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    Err(StoreError::Conflict)
                }
                Err(e) => Err(unavailable(e)),
            };
        }
        // The token and what the login changes go in one transaction: one round trip, and
        // no reset without a token or token without a reset.
        let put = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(unavailable)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if after.reset_failures {
            let delete = Delete::builder()
                .table_name(&self.tables.failed_logins)
                .set_key(Some(Self::key(attr::USERNAME, &token.username)))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        if let Some(hash) = &after.new_password_hash {
            let update = Update::builder()
                .table_name(&self.tables.users)
                .set_key(Some(Self::key(attr::USERNAME, &token.username)))
                .update_expression("SET password_hash = :h")
                .condition_expression("attribute_exists(username)")
                .expression_attribute_values(":h", AttributeValue::S(hash.clone()))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let token_conflict = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().first().and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    }
                    _ => false,
                };
                if token_conflict {
                    Err(StoreError::Conflict)
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }
}

impl TokenReader for DynamoStore {
    async fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.get_item(&self.tables.tokens, attr::TOKEN_ID, token_id)
            .await?
            .map(|i| token_from(&i))
            .transpose()
    }
}

impl TokenRevoker for DynamoStore {
    async fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        let hash = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
            secret_hash.to_vec(),
        ));
        self.update_if(
            &self.tables.tokens,
            (attr::TOKEN_ID, token_id),
            "SET revoked_at = :now",
            "secret_sha256 = :hash AND attribute_not_exists(revoked_at)",
            vec![(":now", n(now_secs)), (":hash", hash)],
        )
        .await
    }
}

impl FailureCounter for DynamoStore {
    async fn record_failure(
        &self,
        username: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<FailedLogins, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.failed_logins)
            .set_key(Some(Self::key(attr::USERNAME, username)))
            .update_expression("ADD failures :one SET last_failure_ms = :now, expires_at = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":exp", n(expires_at))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable)?;
        failed_logins_from(&out.attributes.unwrap_or_default())
    }
}

// ---- Operator functions, used by the admin CLI and tests. ----

impl DynamoStore {
    /// Creates the four tables with TTL where needed; tables that exist are left alone.
    /// Returns the names it created.
    pub async fn create_tables(&self) -> Result<Vec<String>, StoreError> {
        let t = self.tables.clone();
        let mut created = Vec::new();
        for (table, key, ttl) in [
            (&t.users, attr::USERNAME, false),
            (&t.applications, attr::CLIENT_ID, false),
            (&t.tokens, attr::TOKEN_ID, true),
            (&t.failed_logins, attr::USERNAME, true),
        ] {
            if self.create_table(table, key, table == &t.tokens).await? {
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
        with_user_index: bool,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr_def(key, ScalarAttributeType::S))
            .key_schema(key_elem(key, KeyType::Hash));
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
        let item = HashMap::from([
            (
                attr::USERNAME.to_string(),
                AttributeValue::S(user.username.clone()),
            ),
            (
                attr::PASSWORD_HASH.to_string(),
                AttributeValue::S(user.password_hash.clone()),
            ),
            (
                attr::ENABLED.to_string(),
                AttributeValue::Bool(user.enabled),
            ),
            (
                attr::SUPERUSER.to_string(),
                AttributeValue::Bool(user.superuser),
            ),
        ]);
        self.put_item(
            &self.tables.users,
            item,
            (!overwrite).then_some("attribute_not_exists(username)"),
        )
        .await
    }

    pub async fn put_application(
        &self,
        app: &Application,
        overwrite: bool,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (
                attr::CLIENT_ID.to_string(),
                AttributeValue::S(app.client_id.clone()),
            ),
            (attr::NAME.to_string(), AttributeValue::S(app.name.clone())),
            (
                attr::REDIRECT_URIS.to_string(),
                AttributeValue::L(
                    app.redirect_uris
                        .iter()
                        .cloned()
                        .map(AttributeValue::S)
                        .collect(),
                ),
            ),
        ]);
        if let Some(ceiling) = &app.scope_ceiling {
            item.insert(
                attr::SCOPE_CEILING.to_string(),
                AttributeValue::Ss(ceiling.iter().cloned().collect()),
            );
        }
        self.put_item(
            &self.tables.applications,
            item,
            (!overwrite).then_some("attribute_not_exists(client_id)"),
        )
        .await
    }

    async fn put_item(
        &self,
        table: &str,
        item: Item,
        condition: Option<&str>,
    ) -> Result<(), StoreError> {
        match self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get_item(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(Self::key(key, value)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    pub async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.get_item(&self.tables.users, attr::USERNAME, username)
            .await?
            .map(|i| user_from(&i))
            .transpose()
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

    /// Enables or disables a user, and marks or unmarks the user's unrevoked tokens so the
    /// authorizer needs only the token's item. Returns whether the user exists.
    pub async fn set_user_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let exists = self
            .update_if(
                &self.tables.users,
                (attr::USERNAME, username),
                "SET enabled = :e",
                "attribute_exists(username)",
                vec![(":e", AttributeValue::Bool(enabled))],
            )
            .await?;
        if !exists {
            return Ok(false);
        }
        for token in self.list_tokens_for_user(username).await? {
            if token.revoked_at.is_some() || token.user_disabled != enabled {
                continue;
            }
            let key = (attr::TOKEN_ID, token.token_id.as_str());
            let exists = "attribute_exists(token_id)";
            if enabled {
                self.update_if(
                    &self.tables.tokens,
                    key,
                    "REMOVE user_disabled",
                    exists,
                    vec![],
                )
                .await?;
            } else {
                let set = "SET user_disabled = :t";
                let values = vec![(":t", AttributeValue::Bool(true))];
                self.update_if(&self.tables.tokens, key, set, exists, values)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Replaces a user's password hash. Returns whether the user exists.
    pub async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.users,
            (attr::USERNAME, username),
            "SET password_hash = :h",
            "attribute_exists(username)",
            vec![(":h", AttributeValue::S(hash.to_string()))],
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

    pub async fn get_failed_logins(
        &self,
        username: &str,
    ) -> Result<Option<FailedLogins>, StoreError> {
        self.get_item(&self.tables.failed_logins, attr::USERNAME, username)
            .await?
            .map(|i| failed_logins_from(&i))
            .transpose()
    }
}

/// `Ok(true)` for success, `Ok(false)` when the write's condition failed.
fn conditional<E>(
    result: Result<
        (),
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<bool, StoreError>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    match result {
        Ok(()) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(unavailable(e)),
    }
}

// ---- Items <-> models ----

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
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

/// Typed reads of item attributes, so item parsing reads like the model.
trait ItemExt {
    fn s(&self, name: &str) -> Result<String, StoreError>;
    fn num(&self, name: &str) -> Result<u64, StoreError>;
    fn flag(&self, name: &str) -> Result<bool, StoreError>;
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, StoreError>;
}

fn missing(name: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute {name} is missing or of the wrong type"))
}

impl ItemExt for Item {
    fn s(&self, name: &str) -> Result<String, StoreError> {
        self.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| missing(name))
    }

    fn num(&self, name: &str) -> Result<u64, StoreError> {
        self.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing(name))
    }

    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        self.get(name)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or_else(|| missing(name))
    }

    /// A list of strings (`L` of `S`) or a string set (`SS`); `None` when absent.
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::Ss(v)) => Ok(Some(v.clone())),
            Some(AttributeValue::L(v)) => v
                .iter()
                .map(|e| e.as_s().cloned().map_err(|_| missing(name)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(missing(name)),
        }
    }
}

fn user_from(i: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: i.s(attr::USERNAME)?,
        password_hash: i.s(attr::PASSWORD_HASH)?,
        enabled: i.flag(attr::ENABLED)?,
        superuser: i.flag(attr::SUPERUSER).unwrap_or(false),
    })
}

fn application_from(i: &Item) -> Result<Application, StoreError> {
    Ok(Application {
        client_id: i.s(attr::CLIENT_ID)?,
        name: i.s(attr::NAME).unwrap_or_default(),
        redirect_uris: i.strings(attr::REDIRECT_URIS)?.unwrap_or_default(),
        scope_ceiling: i
            .strings(attr::SCOPE_CEILING)?
            .map(|v| v.into_iter().collect::<BTreeSet<_>>()),
    })
}

fn failed_logins_from(i: &Item) -> Result<FailedLogins, StoreError> {
    Ok(FailedLogins {
        failures: i.num(attr::FAILURES)?.min(u32::MAX as u64) as u32,
        last_failure_ms: i.num(attr::LAST_FAILURE_MS)?,
    })
}

fn token_item(t: &TokenRecord) -> Item {
    let mut item = HashMap::from([
        (
            attr::TOKEN_ID.to_string(),
            AttributeValue::S(t.token_id.clone()),
        ),
        (
            attr::SECRET_SHA256.to_string(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                t.secret_hash.to_vec(),
            )),
        ),
        (
            attr::USERNAME.to_string(),
            AttributeValue::S(t.username.clone()),
        ),
        (
            attr::CLIENT_ID.to_string(),
            AttributeValue::S(t.client_id.clone()),
        ),
        (
            attr::SCOPES.to_string(),
            AttributeValue::L(t.scopes.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (attr::ISSUED_AT.to_string(), n(t.issued_at)),
        (attr::EXPIRES_AT.to_string(), n(t.expires_at)),
    ]);
    if let Some(at) = t.revoked_at {
        item.insert(attr::REVOKED_AT.to_string(), n(at));
    }
    if t.user_disabled {
        item.insert(attr::USER_DISABLED.to_string(), AttributeValue::Bool(true));
    }
    item
}

fn token_from(i: &Item) -> Result<TokenRecord, StoreError> {
    let hash = i
        .get(attr::SECRET_SHA256)
        .and_then(|v| v.as_b().ok())
        .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
        .ok_or_else(|| missing(attr::SECRET_SHA256))?;
    Ok(TokenRecord {
        token_id: i.s(attr::TOKEN_ID)?,
        secret_hash: hash,
        username: i.s(attr::USERNAME)?,
        client_id: i.s(attr::CLIENT_ID)?,
        scopes: i.strings(attr::SCOPES)?.unwrap_or_default(),
        issued_at: i.num(attr::ISSUED_AT)?,
        expires_at: i.num(attr::EXPIRES_AT)?,
        revoked_at: i
            .get(attr::REVOKED_AT)
            .map(|_| i.num(attr::REVOKED_AT))
            .transpose()?,
        user_disabled: i.flag(attr::USER_DISABLED).unwrap_or(false),
    })
}
