//! DPoP's one-time values, in the codes table beside the codes they resemble: short-lived
//! items, one key, an expiry, removed by the same TTL. A proof's replay key and a nonce
//! are told apart from a code's hash (and from each other) by their key's prefix.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{ItemExt, attr, n};
use super::{DynamoStore, conditional};
use crate::store::{OneTimeValues, StoreError};

const PROOF_PREFIX: &str = "dpop-proof:";
const NONCE_PREFIX: &str = "dpop-nonce:";
/// The attempt that wrote a replay key: a lost answer's retry finds its own write.
const WRITER: &str = "writer";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl OneTimeValues for DynamoStore {
    async fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        let key = format!("{PROOF_PREFIX}{}", hex(replay_key));
        let mut mark = [0u8; 16];
        getrandom::fill(&mut mark).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let writer = hex(&mark);
        let item = HashMap::from([
            (
                attr::CODE_SHA256.to_string(),
                AttributeValue::S(key.clone()),
            ),
            (attr::EXPIRES_AT.to_string(), n(keep_until)),
            (WRITER.to_string(), AttributeValue::S(writer.clone())),
        ]);
        // A use past its time is forgotten even before the TTL removes it.
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.codes)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(code_sha256) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now_secs))
            .send()
            .await
            .map(|_| ());
        if conditional(put)? {
            return Ok(true);
        }
        // Refused: used before, unless the refused write was the SDK's retry of this one.
        let found = self
            .get_item(&self.tables.codes, attr::CODE_SHA256, &key)
            .await?;
        Ok(found.is_some_and(|i| i.s(WRITER).is_ok_and(|w| w == writer)))
    }

    async fn put_nonce(&self, nonce: &str, expires_at: u64) -> Result<(), StoreError> {
        let item = HashMap::from([
            (
                attr::CODE_SHA256.to_string(),
                AttributeValue::S(format!("{NONCE_PREFIX}{nonce}")),
            ),
            (attr::EXPIRES_AT.to_string(), n(expires_at)),
        ]);
        self.put_item(&self.tables.codes, item, None).await
    }

    async fn nonce_is_current(&self, nonce: &str, now_secs: u64) -> Result<bool, StoreError> {
        let key = format!("{NONCE_PREFIX}{nonce}");
        let found = self
            .get_item(&self.tables.codes, attr::CODE_SHA256, &key)
            .await?;
        Ok(found.is_some_and(|i| i.num(attr::EXPIRES_AT).is_ok_and(|until| until > now_secs)))
    }
}
