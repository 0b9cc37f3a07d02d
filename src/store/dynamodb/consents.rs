//! Remembered consent: one users-table item per person and application, keyed
//! `:consent:<client_id>:<username>` (a colon starts it, which no name can hold, and no
//! client id holds one), its scopes a string set that `ADD` grows in one write.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{ItemExt, attr};
use super::{DynamoStore, unavailable};
use crate::store::{ConsentStore, StoreError};

fn key_of(username: &str, client_id: &str) -> String {
    format!(":consent:{client_id}:{username}")
}

impl ConsentStore for DynamoStore {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        let key = key_of(username, client_id);
        let item = self
            .get_item(&self.tables.users, attr::USERNAME, &key)
            .await?;
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
            .table_name(&self.tables.users)
            .set_key(Some(Self::key(
                attr::USERNAME,
                &key_of(username, client_id),
            )))
            .update_expression("ADD scopes :granted")
            .expression_attribute_values(":granted", AttributeValue::Ss(scopes.to_vec()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
