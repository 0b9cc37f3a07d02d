//! Browser sessions: one item per session, keyed by the hash of its cookie's id, deleted
//! by the table's TTL at the absolute timeout (and checked on every read before that).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, ItemExt, attr, n};
use super::{DynamoStore, conditional, unavailable};
use crate::session::Session;
use crate::store::{SessionStore, StoreError};

impl SessionStore for DynamoStore {
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(session_key)")
            .send()
            .await
            .map(|_| ());
        if conditional(put)? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn session(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let table = &self.tables.sessions;
        let item = self.get_item(table, attr::SESSION_KEY, key).await?;
        item.map(|i| session_from(&i)).transpose()
    }

    async fn touch_session(&self, key: &str, now_secs: u64) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(Self::key(attr::SESSION_KEY, key)))
            // Only a session still there: a sign-out meanwhile is not undone.
            .update_expression("SET seen_at = :now")
            .condition_expression("attribute_exists(session_key) AND seen_at < :now")
            .expression_attribute_values(":now", n(now_secs))
            .send()
            .await
            .map(|_| ());
        conditional(update).map(|_| ())
    }

    async fn end_session(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(Self::key(attr::SESSION_KEY, key)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn session_item(s: &Session) -> Item {
    HashMap::from([
        (attr::SESSION_KEY.into(), AttributeValue::S(s.key.clone())),
        (attr::USERNAME.into(), AttributeValue::S(s.username.clone())),
        (
            attr::GROUPS.into(),
            AttributeValue::L(s.groups.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (attr::SUPERUSER.into(), AttributeValue::Bool(s.superuser)),
        (attr::USER_GENERATION.into(), n(s.generation)),
        (attr::CSRF.into(), AttributeValue::S(s.csrf.clone())),
        (attr::CREATED_AT.into(), n(s.created_at)),
        (attr::SEEN_AT.into(), n(s.seen_at)),
        (attr::EXPIRES_AT.into(), n(s.expires_at())),
    ])
}

fn session_from(item: &Item) -> Result<Session, StoreError> {
    Ok(Session {
        key: item.s(attr::SESSION_KEY)?,
        username: item.s(attr::USERNAME)?,
        groups: item
            .strings(attr::GROUPS)?
            .unwrap_or_default()
            .into_iter()
            .collect(),
        superuser: item.flag(attr::SUPERUSER)?,
        generation: item.num(attr::USER_GENERATION)?,
        csrf: item.s(attr::CSRF)?,
        created_at: item.num(attr::CREATED_AT)?,
        seen_at: item.num(attr::SEEN_AT)?,
    })
}
