//! A directory user's local record, made at the first login.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{self, attr, user_from};
use super::{DynamoStore, conditional};
use crate::store::{DirectoryLink, StoreError, User, UserLinker};

impl UserLinker for DynamoStore {
    async fn link_user(&self, username: &str, link: &DirectoryLink) -> Result<User, StoreError> {
        let fresh = User::linked(username, link);
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
        // condition that nothing made it anybody's meanwhile.
        let [directory, id] = item::link_attributes(link);
        let adopt = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USERNAME, AttributeValue::S(username.into()))
            .update_expression("SET #d = :d, #i = :i")
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
            .send()
            .await
            .map(|_| ());
        conditional(adopt)?;
        self.read_user(username).await
    }
}

impl DynamoStore {
    /// A user's record, read consistently; gone meanwhile is a change of the user's.
    async fn read_user(&self, username: &str) -> Result<User, StoreError> {
        self.get_item(&self.tables.users, attr::USERNAME, username)
            .await?
            .map(|i| user_from(&i))
            .transpose()?
            .ok_or(StoreError::UserChanged)
    }
}
