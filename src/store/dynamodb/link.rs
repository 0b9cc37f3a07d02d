//! A directory user's local record, made at the first login.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{self, attr, user_from};
use super::{DynamoStore, conditional};
use crate::store::{DirectoryLink, LinkedUsers, StoreError, User, UserLinker};

impl UserLinker for DynamoStore {
    async fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> Result<User, StoreError> {
        let fresh = User::linked(username, link, since);
        let written = self
            .put_item(
                &self.tables.users,
                item::user_item(&fresh),
                Some("attribute_not_exists(username)"),
            )
            .await;
        match written {
            Ok(()) => return Ok(fresh),
            // Linked by another login meanwhile, or added by an operator: read below.
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
        let there = self.read_user(username).await?;
        if !there.is_unclaimed() {
            return Ok(there);
        }
        // A record a login made before records named their directory: adopted, on the
        // condition that nothing made it anybody's meanwhile. Whose its tokens were is
        // unknown (any spelling's login could have made it), so they are void from now.
        let [directory, id] = item::link_attributes(link);
        let adopt = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USERNAME, AttributeValue::S(username.into()))
            .update_expression(
                "SET #d = :d, #i = :i, tokens_from = generation + :one ADD generation :one",
            )
            .condition_expression(
                "attribute_exists(username) AND attribute_not_exists(#i) \
                 AND password_hash = :empty AND (attribute_not_exists(superuser) \
                 OR superuser = :no)",
            )
            .expression_attribute_names("#d", directory.0)
            .expression_attribute_names("#i", id.0)
            .expression_attribute_values(":d", directory.1)
            .expression_attribute_values(":i", id.1)
            .expression_attribute_values(":empty", AttributeValue::S(String::new()))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":one", item::n(1))
            .send()
            .await
            .map(|_| ());
        conditional(adopt)?;
        self.read_user(username).await
    }
}

impl DynamoStore {
    /// A page of the enabled users `filter` keeps (`#d` and `#i` name the link's
    /// attributes), read consistently, without their password hashes.
    async fn users_page(
        &self,
        filter: &str,
        values: &[(&str, AttributeValue)],
        after: Option<&str>,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.tables.users)
            .filter_expression(format!("enabled = :yes AND {filter}"))
            .projection_expression(
                "username, enabled, superuser, generation, tokens_from, #d, #i, #p",
            )
            .expression_attribute_names("#d", attr::DIRECTORY)
            .expression_attribute_names("#i", attr::DIRECTORY_ID)
            .expression_attribute_names("#p", attr::PASSWORD_HASH)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .set_exclusive_start_key(after.map(|a| Self::key(attr::USERNAME, a)))
            .limit(PAGE)
            .consistent_read(true);
        for (name, value) in values {
            scan = scan.expression_attribute_values(*name, value.clone());
        }
        let out = scan.send().await.map_err(super::unavailable)?;
        let users = out
            .items()
            .iter()
            .map(user_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key()
            .and_then(|k| k.get(attr::USERNAME))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((users, next))
    }

    /// A user's record, read consistently; gone meanwhile is a change of the user's.
    async fn read_user(&self, username: &str) -> Result<User, StoreError> {
        self.get_item(&self.tables.users, attr::USERNAME, username)
            .await?
            .map(|i| user_from(&i))
            .transpose()?
            .ok_or(StoreError::UserChanged)
    }
}

/// Records read per page of `user sync`'s scan (before its filter).
const PAGE: i32 = 100;

/// Records without a link, a password or a superuser flag (a directory login's, from
/// before links were kept).
const UNCLAIMED: &str = "attribute_not_exists(#i) AND password_hash = :empty \
                         AND (attribute_not_exists(superuser) OR superuser = :no)";

impl LinkedUsers for DynamoStore {
    async fn linked_page(
        &self,
        directory: &str,
        after: Option<&str>,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        let values = [(":d", AttributeValue::S(directory.into()))];
        self.users_page("#d = :d", &values, after).await
    }

    async fn unlinked_page(
        &self,
        after: Option<&str>,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        let values = [
            (":empty", AttributeValue::S(String::new())),
            (":no", AttributeValue::Bool(false)),
        ];
        self.users_page(UNCLAIMED, &values, after).await
    }

    async fn disable_unlinked(&self, username: &str) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USERNAME, AttributeValue::S(username.into()))
            .update_expression("SET enabled = :no ADD generation :one")
            .condition_expression(format!("enabled = :yes AND {UNCLAIMED}"))
            .expression_attribute_names("#i", attr::DIRECTORY_ID)
            .expression_attribute_values(":empty", AttributeValue::S(String::new()))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":one", item::n(1))
            .send()
            .await
            .map(|_| ());
        conditional(update)
    }

    async fn disable_linked(
        &self,
        username: &str,
        link: &DirectoryLink,
    ) -> Result<bool, StoreError> {
        let [directory, id] = item::link_attributes(link);
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USERNAME, AttributeValue::S(username.into()))
            .update_expression("SET enabled = :no ADD generation :one")
            .condition_expression("enabled = :yes AND #d = :d AND #i = :i")
            .expression_attribute_names("#d", directory.0)
            .expression_attribute_names("#i", id.0)
            .expression_attribute_values(":d", directory.1)
            .expression_attribute_values(":i", id.1)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":one", item::n(1))
            .expression_attribute_values(":one", item::n(1))
            .send()
            .await
            .map(|_| ());
        conditional(update)
    }
}
