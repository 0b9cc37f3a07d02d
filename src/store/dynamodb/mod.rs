//! The DynamoDB adapter of the store's ports: nine tables (named in `crate::resources`),
//! one item per user, application, token, authorization code, DPoP proof used and
//! failed-login counter, and one per token under its user (the user-tokens table).
//!
//! - this file: the client and the request path's reads (one `BatchGetItem` for the
//!   application and the user; one `GetItem` for a token) and revocation;
//! - [`issue`]: the token write, tied to the user as the login verified it;
//! - [`codes`]: authorization codes (written once, redeemed once) and introspection's read;
//! - [`one_time`]: DPoP's replay keys (their own table) and the nonces' secret (a users
//!   table marker);
//! - [`link`]: directory users' local records, and what `user sync` reads and writes;
//! - [`attempts`]: the failed-logins counter (admit, count, release);
//! - [`admin`]: creating the tables, and the client registrations' operator port;
//! - [`lifecycle`]: the operator ports of users and their tokens (disable, revoke all, a
//!   password reset, the listings);
//! - [`bcrypt_marker`]: the marker of imported bcrypt hashes;
//! - [`item`]: items <-> models.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::{
    Lookup, LookupReader, OwnerAndClient, StoreError, TokenCanceller, TokenReader, TokenRecord,
    TokenRevoker,
};
use crate::config::Tables;

mod admin;
mod attempts;
mod authorized;
mod bcrypt_marker;
mod codes;
mod devices;
mod item;
mod lifecycle;
mod link;
mod one_time;
mod refresh;
mod sessions;
mod token_write;
mod whitelist_claim;

pub use item::attr;
use item::{Item, ItemExt, application_from, n, token_from, user_from};

/// The users table's item that says imported bcrypt hashes remain, and their highest
/// cost. No user can be called this: Basic authentication splits at the colon.
pub const BCRYPT_MARKER: &str = ":bcrypt";

/// The users table's item that serialises whitelist edits (see `whitelist_claim`).
pub const WHITELIST_EDIT_MARKER: &str = ":whitelist-edit";

/// The users table's item holding the secret of the server's DPoP nonces (`one_time`).
pub const NONCE_SECRET_MARKER: &str = ":dpop-nonce-secret";

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

    /// Opens a connection to DynamoDB (TLS included) while the function starts, so its
    /// first request finds one: one read that every function's role allows and a login
    /// makes anyway (the marker of imported bcrypt hashes).
    pub async fn open_connection(&self) -> Result<(), StoreError> {
        let marker = Self::keys(attr::USERNAME, BCRYPT_MARKER);
        let wanted = HashMap::from([(self.tables.users.clone(), marker)]);
        self.batch_get(wanted).await.map(drop)
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

impl LookupReader for DynamoStore {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        let t = &self.tables;
        let mut wanted = HashMap::new();
        // An empty client id (the person's own pages) reads no application: DynamoDB
        // refuses an empty key.
        if !client_id.is_empty() {
            wanted.insert(
                t.applications.clone(),
                Self::keys(attr::CLIENT_ID, client_id),
            );
        }
        if let Some(username) = username {
            // The user, and the marker of imported bcrypt hashes: one more key, same trip.
            let users = KeysAndAttributes::builder()
                .keys(Self::key(attr::USERNAME, username))
                .keys(Self::key(attr::USERNAME, BCRYPT_MARKER))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            wanted.insert(t.users.clone(), users);
        }
        let mut found = self.batch_get(wanted).await?;
        let application = found
            .remove(&t.applications)
            .and_then(|mut v| v.pop())
            .map(|i| application_from(&i))
            .transpose()?;
        let (mut user, mut bcrypt_cost) = (None, None);
        for item in found.remove(&t.users).unwrap_or_default() {
            if item.s(attr::USERNAME).as_deref() == Ok(BCRYPT_MARKER) {
                bcrypt_cost = item.num(attr::MAX_COST).ok().map(|c| c.min(31) as u32);
            } else {
                user = Some(user_from(&item)?);
            }
        }
        Ok(Lookup {
            application,
            user,
            bcrypt_cost,
        })
    }
}

impl TokenReader for DynamoStore {
    async fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.get_item(&self.tables.tokens, attr::TOKEN_ID, token_id)
            .await?
            .map(|i| token_from(&i))
            .transpose()
    }

    async fn owner_and_client(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<OwnerAndClient, StoreError> {
        Ok(self
            .token_and_parties_of(None, username, client_id)
            .await?
            .1)
    }

    async fn token_and_parties(
        &self,
        token_id: &str,
        username: &str,
        client_id: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        self.token_and_parties_of(Some(token_id), username, client_id)
            .await
    }
}

impl DynamoStore {
    /// One `BatchGetItem`: the user and the application, and the token when one is named.
    async fn token_and_parties_of(
        &self,
        token_id: Option<&str>,
        username: &str,
        client_id: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        let t = &self.tables;
        let mut wanted = HashMap::from([
            (t.users.clone(), Self::keys(attr::USERNAME, username)),
            (
                t.applications.clone(),
                Self::keys(attr::CLIENT_ID, client_id),
            ),
        ]);
        if let Some(id) = token_id {
            wanted.insert(t.tokens.clone(), Self::keys(attr::TOKEN_ID, id));
        }
        let mut found = self.batch_get(wanted).await?;
        let mut one = |table: &str| found.remove(table).and_then(|mut v| v.pop());
        let token = one(&t.tokens).map(|i| token_from(&i)).transpose()?;
        let parties = OwnerAndClient {
            user: one(&t.users).map(|i| user_from(&i)).transpose()?,
            application: one(&t.applications)
                .map(|i| application_from(&i))
                .transpose()?,
        };
        Ok((token, parties))
    }
}

impl TokenRevoker for DynamoStore {
    async fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        let hash = AttributeValue::B(Blob::new(secret_hash.to_vec()));
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

impl DynamoStore {
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
}

/// `Ok(true)` for success, `Ok(false)` when the write's condition failed.
pub(super) fn conditional<E>(
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
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// Whether a single-item write failed its condition (a transaction's items say so in its
/// cancellation reasons instead, see `token_write`).
pub(super) fn condition_failed<E>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}
