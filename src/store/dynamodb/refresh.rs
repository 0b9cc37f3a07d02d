//! Refresh token families: one item per family in the refresh-tokens table, keyed by its id,
//! removed by the TTL after its absolute lifetime; and an entry under its person in the
//! user-tokens table (`:refresh:<family id>`, with its client), so what a person holds
//! for an application includes it (the applications page's revoke ends it).
//!
//! A start or a rotation is one `TransactWriteItems`: the access token's write (the token,
//! its entry, the hold on the user), then the family's `Put` on the condition that it is
//! still as read (its live token's hash, not revoked), then its entry. Of many refreshes of
//! one token at once, one writes.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};

use super::item::{Item, ItemExt, attr, n};
use super::token_write::Refused;
use super::{DynamoStore, unavailable};
use crate::store::{
    RefreshFamily, RefreshStore, StoreError, TokenCanceller, TokenRecord, Verified,
};

/// A family's entry under its person in the user-tokens table: a colon, which no token
/// id holds, then the family's id.
pub(super) const REFRESH_PREFIX: &str = ":refresh:";

fn family_item(f: &RefreshFamily) -> Item {
    let hash = |h: &[u8; 32]| AttributeValue::B(Blob::new(h.to_vec()));
    let access = f
        .access_tokens
        .iter()
        .map(|(id, at)| (id.clone(), n(*at)))
        .collect();
    let mut item = HashMap::from([
        (
            attr::FAMILY_ID.into(),
            AttributeValue::S(f.family_id.clone()),
        ),
        (attr::USERNAME.into(), AttributeValue::S(f.username.clone())),
        (
            attr::CLIENT_ID.into(),
            AttributeValue::S(f.client_id.clone()),
        ),
        (
            attr::SCOPES.into(),
            AttributeValue::L(f.scopes.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (attr::USER_GENERATION.into(), n(f.user_generation)),
        (attr::CLIENT_EPOCH.into(), n(f.client_epoch)),
        (attr::CURRENT_SHA256.into(), hash(&f.current_hash)),
        (attr::CREATED_AT.into(), n(f.created_at)),
        (attr::IDLE_UNTIL.into(), n(f.idle_until)),
        (attr::GRACE_UNTIL.into(), n(f.grace_until)),
        (attr::EXPIRES_AT.into(), n(f.expires_at)),
        (attr::ACCESS_TOKENS.into(), AttributeValue::M(access)),
    ]);
    if let Some(previous) = &f.previous_hash {
        item.insert(attr::PREVIOUS_SHA256.into(), hash(previous));
    }
    if let Some(jkt) = &f.jkt {
        item.insert(attr::DPOP_JKT.into(), AttributeValue::S(jkt.clone()));
    }
    if let Some(at) = f.revoked_at {
        item.insert(attr::REVOKED_AT.into(), n(at));
    }
    item
}

fn family_from(i: &Item) -> Result<RefreshFamily, StoreError> {
    let corrupt = || StoreError::Corrupt("a refresh family's access tokens".into());
    let mut access_tokens = BTreeMap::new();
    if let Some(AttributeValue::M(m)) = i.get(attr::ACCESS_TOKENS) {
        for (id, at) in m {
            let at = at
                .as_n()
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(corrupt)?;
            access_tokens.insert(id.clone(), at);
        }
    }
    Ok(RefreshFamily {
        family_id: i.s(attr::FAMILY_ID)?,
        username: i.s(attr::USERNAME)?,
        client_id: i.s(attr::CLIENT_ID)?,
        scopes: i.strings(attr::SCOPES)?.unwrap_or_default(),
        user_generation: i.num(attr::USER_GENERATION)?,
        client_epoch: i.num(attr::CLIENT_EPOCH)?,
        jkt: i.s(attr::DPOP_JKT).ok(),
        current_hash: i
            .sha256(attr::CURRENT_SHA256)?
            .ok_or_else(|| StoreError::Corrupt("a refresh family without its token".into()))?,
        previous_hash: i.sha256(attr::PREVIOUS_SHA256)?,
        created_at: i.num(attr::CREATED_AT)?,
        idle_until: i.num(attr::IDLE_UNTIL)?,
        grace_until: i.num(attr::GRACE_UNTIL)?,
        expires_at: i.num(attr::EXPIRES_AT)?,
        revoked_at: i
            .get(attr::REVOKED_AT)
            .map(|_| i.num(attr::REVOKED_AT))
            .transpose()?,
        access_tokens,
    })
}

/// The family's entry under its person: its client, and its end for the TTL.
fn family_entry(f: &RefreshFamily) -> Item {
    HashMap::from([
        (attr::USERNAME.into(), AttributeValue::S(f.username.clone())),
        (
            attr::TOKEN_ID.into(),
            AttributeValue::S(format!("{REFRESH_PREFIX}{}", f.family_id)),
        ),
        (
            attr::CLIENT_ID.into(),
            AttributeValue::S(f.client_id.clone()),
        ),
        (attr::EXPIRES_AT.into(), n(f.expires_at)),
    ])
}

impl RefreshStore for DynamoStore {
    async fn family(&self, family_id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        let item = self
            .get_item(&self.tables.refresh_tokens, attr::FAMILY_ID, family_id)
            .await?;
        item.map(|i| family_from(&i)).transpose()
    }

    async fn write_family(
        &self,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
        token: &TokenRecord,
        user: &Verified,
    ) -> Result<(), StoreError> {
        let mut items = self.token_write(token, user)?;
        let family_part = items.len();
        let put = Put::builder()
            .table_name(&self.tables.refresh_tokens)
            .set_item(Some(family_item(family)));
        let put = match seen {
            None => put.condition_expression("attribute_not_exists(family_id)"),
            Some(hash) => put
                .condition_expression("current_sha256 = :seen AND attribute_not_exists(revoked_at)")
                .expression_attribute_values(":seen", AttributeValue::B(Blob::new(hash.to_vec()))),
        };
        let entry = Put::builder()
            .table_name(&self.tables.user_tokens)
            .set_item(Some(family_entry(family)));
        items.push(
            TransactWriteItem::builder()
                .put(put.build().map_err(unavailable)?)
                .build(),
        );
        items.push(
            TransactWriteItem::builder()
                .put(entry.build().map_err(unavailable)?)
                .build(),
        );
        match self.transact(items, &token.token_id).await {
            Ok(()) => Ok(()),
            Err(Refused::Part(super::token_write::USER)) => Err(StoreError::UserChanged),
            Err(Refused::Part(part)) if part == family_part => Err(StoreError::Conflict),
            // The access token's id taken: 128 random bits met, or a retry of this write.
            Err(Refused::Part(_)) => Err(StoreError::Conflict),
            Err(Refused::Other(e)) => Err(e),
        }
    }

    async fn revoke_family(&self, family_id: &str, now_secs: u64) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.refresh_tokens)
            .set_key(Some(Self::key(attr::FAMILY_ID, family_id)))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("attribute_exists(family_id)")
            .expression_attribute_values(":now", n(now_secs))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let item = match out {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if super::condition_failed(&e) => return Ok(()),
            Err(e) => return Err(unavailable(e)),
        };
        // Every access token it issued, again on each revocation: one that failed midway
        // is finished by the next.
        for (token_id, expires_at) in family_from(&item)?.access_tokens {
            if expires_at > now_secs {
                self.revoke_by_id(&token_id, now_secs, expires_at).await?;
            }
        }
        Ok(())
    }
}

impl DynamoStore {
    /// The families listed under a person for one application: what revoking the
    /// person's access to it ends.
    pub(super) fn families_of(items: &[Item], client_id: &str) -> Vec<String> {
        items
            .iter()
            .filter(|i| i.s(attr::CLIENT_ID).is_ok_and(|c| c == client_id))
            .filter_map(|i| i.s(attr::TOKEN_ID).ok())
            .filter_map(|key| key.strip_prefix(REFRESH_PREFIX).map(str::to_string))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_item_reads_back_as_written() {
        let family = RefreshFamily {
            family_id: "f".into(),
            username: "u".into(),
            client_id: "c".into(),
            scopes: vec!["repo:read".into()],
            user_generation: 3,
            client_epoch: 4,
            jkt: Some("k".into()),
            current_hash: [1; 32],
            previous_hash: Some([2; 32]),
            created_at: 10,
            idle_until: 20,
            grace_until: 15,
            expires_at: 30,
            revoked_at: Some(12),
            access_tokens: BTreeMap::from([("t".to_string(), 25)]),
        };
        assert_eq!(family_from(&family_item(&family)).unwrap(), family);
    }
}
