//! The failed-logins counter: one item per username, known or not. Each call is one
//! conditional `UpdateItem`, never part of a transaction, so a failure
//! counted at the same moment cannot cancel a success's token write.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Item, ItemExt, attr, failed_logins_from, n};
use super::{DynamoStore, condition_failed, conditional, unavailable};
use crate::store::{Admission, FailedLogins, Failure, FailureCounter, Lease, StoreError};

/// Counts in an item, when it has any.
fn counts(item: &Item) -> Result<Option<FailedLogins>, StoreError> {
    if item.contains_key(attr::FAILURES) {
        failed_logins_from(item).map(Some)
    } else {
        Ok(None)
    }
}

impl FailureCounter for DynamoStore {
    async fn admit(
        &self,
        username: &str,
        lease: &Lease,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<Admission, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.failed_logins)
            .set_key(Some(Self::key(attr::USERNAME, username)))
            // `lease_id = :id`: the SDK's retry of an admission whose answer was lost.
            .update_expression("SET lease_id = :id, lease_until_ms = :until, expires_at = :exp")
            .condition_expression(
                "(attribute_not_exists(next_attempt_ms) OR next_attempt_ms <= :now) \
                 AND (attribute_not_exists(lease_until_ms) OR lease_until_ms <= :now \
                      OR lease_id = :id)",
            )
            .expression_attribute_values(":id", AttributeValue::S(lease.id.clone()))
            .expression_attribute_values(":until", n(lease.until_ms))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Admission::Admitted {
                counts: counts(&out.attributes.unwrap_or_default())?,
            }),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let item = refused.item().cloned().unwrap_or_default();
                    let at = |name: &str| item.num(name).unwrap_or(0);
                    Ok(Admission::Refused {
                        // Without the old item (it cannot be missing, but if it were), a
                        // second's wait is the safe answer.
                        window_until_ms: if item.is_empty() {
                            now_ms + 1000
                        } else {
                            at(attr::NEXT_ATTEMPT_MS)
                        },
                        lease_until_ms: at(attr::LEASE_UNTIL_MS),
                    })
                }
                _ => Err(unavailable(e)),
            },
        }
    }

    async fn record_failure(
        &self,
        username: &str,
        lease: &Lease,
        failure: &Failure,
    ) -> Result<FailedLogins, StoreError> {
        // Decay is taken off in the same ADD, so a failure counted by an attempt that lost
        // its lease (below) is not overwritten.
        let delta = 1 - i64::from(failure.forgiven);
        let mine = self
            .client
            .update_item()
            .table_name(&self.tables.failed_logins)
            .set_key(Some(Self::key(attr::USERNAME, username)))
            .update_expression(
                "ADD failures :delta SET last_failure_ms = :now, next_attempt_ms = :next, \
                 expires_at = :exp REMOVE lease_id, lease_until_ms",
            )
            .condition_expression("lease_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(lease.id.clone()))
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":now", n(failure.now_ms))
            .expression_attribute_values(":next", n(failure.next_attempt_ms))
            .expression_attribute_values(":exp", n(failure.expires_at))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let out = match mine {
            Ok(out) => out,
            Err(e) if condition_failed(&e) => {
                // The lease ended and another attempt may hold the name: count the
                // failure, leave its lease and window be (the next admission judges the
                // window from the counts).
                self.client
                    .update_item()
                    .table_name(&self.tables.failed_logins)
                    .set_key(Some(Self::key(attr::USERNAME, username)))
                    .update_expression(
                        "ADD failures :one SET last_failure_ms = :now, expires_at = :exp",
                    )
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":now", n(failure.now_ms))
                    .expression_attribute_values(":exp", n(failure.expires_at))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await
                    .map_err(unavailable)?
            }
            Err(e) => return Err(unavailable(e)),
        };
        failed_logins_from(&out.attributes.unwrap_or_default())
    }

    async fn release(&self, username: &str, lease: &Lease) -> Result<(), StoreError> {
        // A failed condition means another attempt holds the name now: leave it be.
        let sent = self
            .client
            .update_item()
            .table_name(&self.tables.failed_logins)
            .set_key(Some(Self::key(attr::USERNAME, username)))
            .update_expression("REMOVE lease_id, lease_until_ms")
            .condition_expression("lease_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(lease.id.clone()))
            .send()
            .await;
        conditional(sent.map(|_| ())).map(|_| ())
    }
}
