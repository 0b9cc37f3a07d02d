//! DPoP's one-time values: proofs used, in their own table (the token authorizer may
//! write there and nowhere else), and the nonces' secret, a marker item of the users table
//! that only the main function's role may write.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::item::{ItemExt, attr, n};
use super::{DynamoStore, NONCE_SECRET_MARKER, conditional, unavailable};
use crate::secret::hex;
use crate::store::{OneTimeValues, StoreError};

/// The attempt that wrote a replay key: a lost answer's retry finds its own write.
const WRITER: &str = "writer";
/// The marker's attribute holding the secret.
const SECRET: &str = "secret";

impl OneTimeValues for DynamoStore {
    async fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        let key = hex(replay_key);
        let mut mark = [0u8; 16];
        getrandom::fill(&mut mark).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let writer = hex(&mark);
        let item = HashMap::from([
            (attr::REPLAY_KEY.to_string(), AttributeValue::S(key.clone())),
            (attr::EXPIRES_AT.to_string(), n(keep_until)),
            (WRITER.to_string(), AttributeValue::S(writer.clone())),
        ]);
        // A use past its time is forgotten even before the TTL removes it.
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.dpop_proofs)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(replay_key) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now_secs))
            .send()
            .await
            .map(|_| ());
        if conditional(put)? {
            return Ok(true);
        }
        // Refused: used before, unless the refused write was the SDK's retry of this one.
        let found = self
            .get_item(&self.tables.dpop_proofs, attr::REPLAY_KEY, &key)
            .await?;
        Ok(found.is_some_and(|i| i.s(WRITER).is_ok_and(|w| w == writer)))
    }

    async fn nonce_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        // Read first: only the first instance of a stack ever writes it.
        let users = &self.tables.users;
        if let Some(item) = self
            .get_item(users, attr::USERNAME, NONCE_SECRET_MARKER)
            .await?
        {
            return secret_of(item.get(SECRET));
        }
        // Set if still absent, in one write that returns the secret that stands.
        let out = self
            .client
            .update_item()
            .table_name(users)
            .set_key(Some(Self::key(attr::USERNAME, NONCE_SECRET_MARKER)))
            .update_expression("SET #s = if_not_exists(#s, :fresh)")
            .expression_attribute_names("#s", SECRET)
            .expression_attribute_values(":fresh", AttributeValue::B(Blob::new(fresh)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable)?;
        secret_of(out.attributes.as_ref().and_then(|a| a.get(SECRET)))
    }
}

fn secret_of(stored: Option<&AttributeValue>) -> Result<[u8; 32], StoreError> {
    match stored {
        Some(AttributeValue::B(b)) => b
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("the DPoP nonce secret is not 32 bytes".into())),
        _ => Err(StoreError::Corrupt("no DPoP nonce secret".into())),
    }
}
