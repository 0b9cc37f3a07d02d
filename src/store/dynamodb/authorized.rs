//! Authorized applications: one item per person and application in the user-tokens table,
//! beside the person's token entries, keyed `:authorized:<client_id>` (a colon, which no
//! token id holds): `scopes` (SS), what the person consented to, grown by `ADD` so two
//! approvals at once keep both; `api_tokens` (M), the live API tokens the cap counts;
//! `authorized_version` (N), raised by every change to `api_tokens`, which is conditional
//! on the version read. One strongly consistent `Query` by person reads their authorized
//! applications and token entries together.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};

use super::item::{Item, ItemExt, attr, n, token_from};
use super::token_write::{Refused, TOKEN, USER};
use super::{DynamoStore, unavailable};
use crate::api_token::{Cap, Held};
use crate::store::{
    ApiTokenStore, Application, AuthorizedApplication, ConsentStore, Holdings, StoreError,
    TokenRecord, TokenUse, Verified,
};

const AUTHORIZED_PREFIX: &str = ":authorized:";
/// The authorization's place in an API token's transaction, after the token write's three parts.
const GRANT: usize = 3;
/// How often a creation reads the authorization again when another change landed meanwhile.
const CREATE_ATTEMPTS: u32 = 5;
/// `BatchGetItem` takes at most this many keys.
const BATCH_KEYS: usize = 100;

fn authorized_sort_key(client_id: &str) -> String {
    format!("{AUTHORIZED_PREFIX}{client_id}")
}

/// An authorization as read: its API tokens and the version a change is conditional on.
#[derive(Default)]
struct AuthorizedRead {
    api_tokens: BTreeMap<String, Held>,
    version: u64,
}

impl DynamoStore {
    fn authorized_key(username: &str, client_id: &str) -> Item {
        HashMap::from([
            (attr::USERNAME.into(), AttributeValue::S(username.into())),
            (
                attr::TOKEN_ID.into(),
                AttributeValue::S(authorized_sort_key(client_id)),
            ),
        ])
    }

    async fn read_authorized(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.user_tokens)
            .set_key(Some(Self::authorized_key(username, client_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// The records of `ids`, read strongly consistently, a hundred keys a call.
    async fn token_records(&self, ids: &[String]) -> Result<Vec<TokenRecord>, StoreError> {
        let mut records = Vec::new();
        for chunk in ids.chunks(BATCH_KEYS) {
            let mut keys = KeysAndAttributes::builder().consistent_read(true);
            for id in chunk {
                keys = keys.keys(Self::key(attr::TOKEN_ID, id));
            }
            let wanted = HashMap::from([(
                self.tables.tokens.clone(),
                keys.build().map_err(unavailable)?,
            )]);
            let mut found = self.batch_get(wanted).await?;
            for item in found.remove(&self.tables.tokens).unwrap_or_default() {
                records.push(token_from(&item)?);
            }
        }
        Ok(records)
    }

    /// The authorization's API tokens that still count under `cap`, and its version.
    async fn counted(&self, token: &TokenRecord, cap: &Cap) -> Result<AuthorizedRead, StoreError> {
        let item = self
            .read_authorized(&token.username, &token.client_id)
            .await?;
        let mut read = item
            .as_ref()
            .map(authorized_read)
            .transpose()?
            .unwrap_or_default();
        read.api_tokens.retain(|_, held| cap.counts(held));
        if read.api_tokens.len() >= cap.most as usize {
            // At the cap, the records say which were revoked since (by their owner, the
            // revocation endpoint or an operator): those no longer count.
            let ids: Vec<String> = read.api_tokens.keys().cloned().collect();
            let records = self.token_records(&ids).await?;
            let revoked: Vec<&str> = records
                .iter()
                .filter(|r| r.revoked_at.is_some())
                .map(|r| r.token_id.as_str())
                .collect();
            read.api_tokens
                .retain(|id, _| !revoked.contains(&id.as_str()));
        }
        Ok(read)
    }

    /// The authorization's change in an API token's transaction: its tokens replaced by `held`,
    /// on the condition nothing changed them since `version` was read.
    fn authorized_update(
        &self,
        token: &TokenRecord,
        held: &BTreeMap<String, Held>,
        version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let condition = if version == 0 {
            "attribute_not_exists(authorized_version)"
        } else {
            "authorized_version = :v"
        };
        let map = held
            .iter()
            .map(|(id, h)| (id.clone(), held_value(h)))
            .collect();
        let mut update = Update::builder()
            .table_name(&self.tables.user_tokens)
            .set_key(Some(Self::authorized_key(
                &token.username,
                &token.client_id,
            )))
            .update_expression("SET api_tokens = :held, authorized_version = :next")
            .condition_expression(condition)
            .expression_attribute_values(":held", AttributeValue::M(map))
            .expression_attribute_values(":next", n(version + 1));
        if version > 0 {
            update = update.expression_attribute_values(":v", n(version));
        }
        let update = update.build().map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// A held token as the authorization's map keeps it: `[expires_at (0: never), user_generation,
/// client_epoch]`.
fn held_value(h: &Held) -> AttributeValue {
    let numbers = [h.expires_at.unwrap_or(0), h.user_generation, h.client_epoch];
    AttributeValue::L(numbers.into_iter().map(n).collect())
}

fn held_from(value: &AttributeValue) -> Option<Held> {
    let list = value.as_l().ok()?;
    let number = |i: usize| list.get(i)?.as_n().ok()?.parse::<u64>().ok();
    Some(Held {
        expires_at: Some(number(0)?).filter(|&at| at != 0),
        user_generation: number(1)?,
        client_epoch: number(2)?,
    })
}

fn authorized_read(item: &Item) -> Result<AuthorizedRead, StoreError> {
    let corrupt = || StoreError::Corrupt("an authorization's api_tokens is malformed".into());
    let mut api_tokens = BTreeMap::new();
    if let Some(map) = item.get(attr::API_TOKENS) {
        for (id, value) in map.as_m().map_err(|_| corrupt())? {
            api_tokens.insert(id.clone(), held_from(value).ok_or_else(corrupt)?);
        }
    }
    let version = item
        .get(attr::AUTHORIZED_VERSION)
        .map(|_| item.num(attr::AUTHORIZED_VERSION));
    Ok(AuthorizedRead {
        api_tokens,
        version: version.transpose()?.unwrap_or(0),
    })
}

impl ConsentStore for DynamoStore {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let item = self.read_authorized(username, client_id).await?;
        let scopes = item.map(|i| i.strings(attr::SCOPES)).transpose()?.flatten();
        Ok(scopes.unwrap_or_default().into_iter().collect())
    }

    async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        if scopes.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.tables.user_tokens)
            .set_key(Some(Self::authorized_key(username, client_id)))
            .update_expression("ADD scopes :granted")
            .expression_attribute_values(":granted", AttributeValue::Ss(scopes.to_vec()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl ApiTokenStore for DynamoStore {
    async fn create_api_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
        cap: &Cap,
    ) -> Result<(), StoreError> {
        for attempt in 0..CREATE_ATTEMPTS {
            let AuthorizedRead {
                mut api_tokens,
                version,
            } = self.counted(token, cap).await?;
            if api_tokens.len() >= cap.most as usize {
                return Err(StoreError::CapReached);
            }
            api_tokens.insert(token.token_id.clone(), Held::of(token));
            let mut items = self.token_write(token, user)?;
            items.push(self.authorized_update(token, &api_tokens, version)?);
            // Each attempt writes other values: its own request token, so DynamoDB does not
            // take it for a retry of the one before.
            let request_token = format!("{}.{attempt}", token.token_id);
            match self.transact(items, &request_token).await {
                Ok(()) => return Ok(()),
                Err(Refused::Part(GRANT)) => continue,
                Err(Refused::Part(USER)) => return Err(StoreError::UserChanged),
                Err(Refused::Part(TOKEN)) => return Err(StoreError::Conflict),
                Err(Refused::Part(_)) => break,
                Err(Refused::Other(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(
            "the authorization kept changing under the token's creation".into(),
        ))
    }

    async fn revoke_api_token(
        &self,
        username: &str,
        token_id: &str,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.update_if(
            &self.tables.tokens,
            (attr::TOKEN_ID, token_id),
            "SET revoked_at = :now",
            "username = :u AND attribute_not_exists(revoked_at)",
            vec![
                (":now", n(now_secs)),
                (":u", AttributeValue::S(username.into())),
            ],
        )
        .await
    }

    async fn applications(&self) -> Result<Vec<Application>, StoreError> {
        crate::store::ApplicationAdmin::list_applications(self).await
    }

    async fn holdings(&self, username: &str) -> Result<Holdings, StoreError> {
        let mut applications = Vec::new();
        let mut ids = Vec::new();
        for item in self.user_token_items(username).await? {
            let key = item.s(attr::TOKEN_ID)?;
            if key.starts_with(super::refresh::REFRESH_PREFIX) {
                continue;
            }
            match key.strip_prefix(AUTHORIZED_PREFIX) {
                Some(client_id) => applications.push(AuthorizedApplication {
                    client_id: client_id.to_string(),
                    scopes: item
                        .strings(attr::SCOPES)?
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                }),
                None => ids.push(key),
            }
        }
        let tokens = self.token_records(&ids).await?;
        Ok(Holdings {
            applications,
            tokens,
        })
    }

    async fn revoke_access(
        &self,
        username: &str,
        client_id: &str,
        now_secs: u64,
    ) -> Result<u32, StoreError> {
        // The refresh token families first: a family left would issue new tokens.
        let entries = self.user_token_items(username).await?;
        for family_id in Self::families_of(&entries, client_id) {
            crate::store::RefreshStore::revoke_family(self, &family_id, now_secs).await?;
        }
        let holdings = self.holdings(username).await?;
        let mut revoked = 0;
        let theirs = holdings.tokens.iter().filter(|t| t.client_id == client_id);
        for t in theirs.filter(|t| t.revoked_at.is_none()) {
            if self
                .revoke_api_token(username, &t.token_id, now_secs)
                .await?
            {
                revoked += 1;
            }
        }
        self.client
            .delete_item()
            .table_name(&self.tables.user_tokens)
            .set_key(Some(Self::authorized_key(username, client_id)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(revoked)
    }
}

impl TokenUse for DynamoStore {
    async fn record_use(
        &self,
        token_id: &str,
        now_secs: u64,
        since: u64,
    ) -> Result<(), StoreError> {
        let written = self.update_if(
            &self.tables.tokens,
            (attr::TOKEN_ID, token_id),
            "SET last_used_at = :now",
            "attribute_exists(token_id) AND \
             (attribute_not_exists(last_used_at) OR last_used_at <= :since)",
            vec![(":now", n(now_secs)), (":since", n(since))],
        );
        // Another instance wrote this interval's use first: nothing to do.
        written.await.map(|_| ())
    }
}
