//! The token write: one `TransactWriteItems` that puts the token, lists it under its user,
//! and holds the user to what the login verified (still enabled, same hash, same
//! generation). A user changed by an operator meanwhile cancels the whole write.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

use super::item::{attr, n, token_item, user_token_item};
use super::{DynamoStore, unavailable};
use crate::store::{StoreError, TokenRecord, TokenWriter, Verified};

/// Where each part stands in the transaction, to read its cancellation reasons.
const TOKEN: usize = 0;
const USER: usize = 2;

impl TokenWriter for DynamoStore {
    async fn put_token(&self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
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
        let hold_user = self.hold_user(user)?;
        let items = vec![
            TransactWriteItem::builder().put(put_token).build(),
            TransactWriteItem::builder().put(list_token).build(),
            hold_user,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            // The token id makes the write idempotent: when an answer is lost and the SDK
            // retries, DynamoDB reports the first write's success instead of a conflict.
            .client_request_token(&token.token_id)
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        let failed = |index: usize| match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                c.cancellation_reasons().get(index).and_then(|r| r.code())
                    == Some("ConditionalCheckFailed")
            }
            _ => false,
        };
        if failed(USER) {
            Err(StoreError::UserChanged)
        } else if failed(TOKEN) {
            Err(StoreError::Conflict)
        } else {
            Err(unavailable(e))
        }
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
