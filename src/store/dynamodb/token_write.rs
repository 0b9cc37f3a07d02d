//! The token write: one `TransactWriteItems` that puts the token, lists it under its user,
//! and holds the user to what the login verified (still enabled, same hash, same
//! generation). A user changed by an operator meanwhile cancels the whole write.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

use super::item::{attr, n, token_item, user_token_item};
use super::{DynamoStore, unavailable};
use crate::store::{StoreError, TokenRecord, TokenWriter, Verified};

/// Where each part stands in the transaction, to read its cancellation reasons.
pub(super) const TOKEN: usize = 0;
pub(super) const USER: usize = 2;

impl TokenWriter for DynamoStore {
    async fn put_token(&self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        let items = self.token_write(token, user)?;
        // The token id makes the write idempotent: when an answer is lost and the SDK
        // retries, DynamoDB reports the first write's success instead of a conflict.
        match self.transact(items, &token.token_id).await {
            Ok(()) => Ok(()),
            Err(Refused::Part(USER)) => Err(StoreError::UserChanged),
            Err(Refused::Part(TOKEN)) => Err(StoreError::Conflict),
            Err(Refused::Part(part)) => Err(StoreError::Unavailable(format!(
                "the token write's part {part} was refused"
            ))),
            Err(Refused::Other(e)) => Err(e),
        }
    }
}

/// Why a transaction did not happen.
pub(super) enum Refused {
    /// The condition of the part at this index did not hold.
    Part(usize),
    Other(StoreError),
}

impl DynamoStore {
    /// The token write's parts, at [`TOKEN`], 1 and [`USER`]: the token, its entry under
    /// its user, and the hold on the user.
    pub(super) fn token_write(
        &self,
        token: &TokenRecord,
        user: &Verified,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let put_token = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(token_item(token)))
            .condition_expression("attribute_not_exists(token_id)")
            .build()
            .map_err(unavailable)?;
        let list_token = Put::builder()
            .table_name(&self.tables.user_tokens)
            .set_item(Some(user_token_item(token)))
            .build()
            .map_err(unavailable)?;
        Ok(vec![
            TransactWriteItem::builder().put(put_token).build(),
            TransactWriteItem::builder().put(list_token).build(),
            self.hold_user(user)?,
        ])
    }

    /// One `TransactWriteItems`, idempotent under `request_token`.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        request_token: &str,
    ) -> Result<(), Refused> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token)
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
        {
            let reasons = c.cancellation_reasons();
            let failed = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"));
            if let Some(part) = failed {
                return Err(Refused::Part(part));
            }
        }
        Err(Refused::Other(unavailable(e)))
    }
}

impl DynamoStore {
    /// The token write's hold on its user: the user still as the login verified it
    /// (enabled, same generation, same hash when one was verified), as a condition check,
    /// or as the rehash's update under the same condition, so a reset meanwhile wins.
    fn hold_user(&self, user: &Verified) -> Result<TransactWriteItem, StoreError> {
        // Generation 0 is also a user item written before generations existed.
        let generation = if user.generation == 0 {
            "(attribute_not_exists(generation) OR generation = :g)"
        } else {
            "generation = :g"
        };
        let mut values = vec![
            (":t", AttributeValue::Bool(true)),
            (":g", n(user.generation)),
        ];
        let condition = match &user.password_hash {
            Some(hash) => {
                values.push((":verified", AttributeValue::S(hash.clone())));
                format!("enabled = :t AND password_hash = :verified AND {generation}")
            }
            None => format!("enabled = :t AND {generation}"),
        };
        let key = Self::key(attr::USERNAME, &user.username);
        let item = match &user.new_password_hash {
            Some(hash) => {
                let mut update = Update::builder()
                    .table_name(&self.tables.users)
                    .set_key(Some(key))
                    .update_expression("SET password_hash = :new")
                    .condition_expression(condition)
                    .expression_attribute_values(":new", AttributeValue::S(hash.clone()));
                for (name, value) in values {
                    update = update.expression_attribute_values(name, value);
                }
                let update = update.build().map_err(unavailable)?;
                TransactWriteItem::builder().update(update).build()
            }
            None => {
                let mut check = ConditionCheck::builder()
                    .table_name(&self.tables.users)
                    .set_key(Some(key))
                    .condition_expression(condition);
                for (name, value) in values {
                    check = check.expression_attribute_values(name, value);
                }
                let check = check.build().map_err(unavailable)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        };
        Ok(item)
    }
}
