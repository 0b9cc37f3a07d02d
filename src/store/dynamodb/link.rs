//! A directory user's local record, made at the first login.

use super::DynamoStore;
use super::item::{self, attr, user_from};
use crate::store::{StoreError, User, UserLinker};

impl UserLinker for DynamoStore {
    async fn link_user(&self, username: &str) -> Result<User, StoreError> {
        let fresh = User::linked(username);
        let written = self
            .put_item(
                &self.tables.users,
                item::user_item(&fresh),
                Some("attribute_not_exists(username)"),
            )
            .await;
        match written {
            Ok(()) => Ok(fresh),
            // Linked by another login meanwhile, or added by an operator: that record holds.
            Err(StoreError::Conflict) => self
                .get_item(&self.tables.users, attr::USERNAME, username)
                .await?
                .map(|i| user_from(&i))
                .transpose()?
                .ok_or(StoreError::UserChanged),
            Err(e) => Err(e),
        }
    }
}
