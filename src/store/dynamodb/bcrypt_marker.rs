//! The marker of imported bcrypt hashes (a users table item, [`BCRYPT_MARKER`]): raised by
//! `user import-quay`, settled by `user bcrypt-remaining`. Kept inherent, not a port: it is
//! a protocol over one DynamoDB item (a version that an import raises and a settle's
//! removal is conditional on), which the memory store mirrors with its own helpers, and
//! the store contract runs on both (`an_import_between_a_settle_s_read_and_its_removal_...`).

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::ItemExt;
use super::item::{attr, n};
use super::{BCRYPT_MARKER, DynamoStore, conditional, unavailable};
use crate::store::StoreError;

/// The bcrypt marker's version attribute, raised by every import that marks it.
const MARKER_VERSION: &str = "marker_version";

impl DynamoStore {
    /// Records that bcrypt hashes of up to `cost` were imported (raising, never lowering,
    /// the highest cost on record), and raises the marker's version: a settle that read
    /// the version before this import then keeps the marker (see
    /// [`Self::remove_bcrypt_marker`]). Called after the import's user writes.
    pub async fn mark_bcrypt_in_use(&self, cost: u32) -> Result<(), StoreError> {
        let key = (attr::USERNAME, BCRYPT_MARKER);
        loop {
            let raised = self
                .update_if(
                    &self.tables.users,
                    key,
                    "SET max_cost = :c ADD marker_version :one",
                    "attribute_not_exists(max_cost) OR max_cost < :c",
                    vec![(":c", n(cost)), (":one", n(1))],
                )
                .await?;
            // The cost on record is as high already: the version alone.
            if raised
                || self
                    .update_if(
                        &self.tables.users,
                        key,
                        "ADD marker_version :one",
                        "attribute_exists(max_cost)",
                        vec![(":one", n(1))],
                    )
                    .await?
            {
                return Ok(());
            }
            // A settle removed the marker between the two writes: write it anew.
        }
    }

    /// The bcrypt marker's version, read strongly consistently (`None`: no marker; 0: one
    /// written before markers had versions).
    pub async fn bcrypt_marker_version(&self) -> Result<Option<u64>, StoreError> {
        let item = self
            .get_item(&self.tables.users, attr::USERNAME, BCRYPT_MARKER)
            .await?;
        Ok(item.map(|i| i.num(MARKER_VERSION).unwrap_or(0)))
    }

    /// How many users still have a bcrypt hash (a strongly consistent scan).
    pub async fn count_bcrypt_users(&self) -> Result<u64, StoreError> {
        let mut remaining = 0;
        let mut pages = self
            .client
            .scan()
            .table_name(&self.tables.users)
            .filter_expression("begins_with(password_hash, :bcrypt)")
            .expression_attribute_values(":bcrypt", AttributeValue::S("$2".into()))
            .projection_expression("username")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            item.map_err(unavailable)?;
            remaining += 1;
        }
        Ok(remaining)
    }

    /// Removes the marker only if its version is still `version`: an import since raised
    /// it, and its hashes may not have been in the scan. Returns whether it was removed.
    pub async fn remove_bcrypt_marker(&self, version: u64) -> Result<bool, StoreError> {
        let condition = if version == 0 {
            "attribute_not_exists(marker_version)"
        } else {
            "marker_version = :v"
        };
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.tables.users)
            .set_key(Some(Self::key(attr::USERNAME, BCRYPT_MARKER)))
            .condition_expression(condition);
        if version != 0 {
            request = request.expression_attribute_values(":v", n(version));
        }
        conditional(request.send().await.map(|_| ()))
    }

    /// How many users still have a bcrypt hash; when none do, the marker is removed, so
    /// failed logins are no longer held to bcrypt's time. The version is read before the
    /// scan, so an import that lands after the scan passed its users raises it and the
    /// removal fails: the marker stays while a bcrypt hash exists.
    pub async fn retire_bcrypt_marker(&self) -> Result<u64, StoreError> {
        let version = self.bcrypt_marker_version().await?;
        let remaining = self.count_bcrypt_users().await?;
        if let (0, Some(version)) = (remaining, version) {
            self.remove_bcrypt_marker(version).await?;
        }
        Ok(remaining)
    }
}
