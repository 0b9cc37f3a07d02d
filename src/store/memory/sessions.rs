//! Sessions in memory, as DynamoDB keeps them.

use super::MemoryStore;
use crate::session::Session;
use crate::store::{SessionStore, StoreError};

impl SessionStore for MemoryStore {
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.with(|i| {
            if i.sessions.contains_key(&session.key) {
                return Err(StoreError::Conflict);
            }
            i.sessions.insert(session.key.clone(), session.clone());
            Ok(())
        })
    }

    async fn session(&self, key: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.with(|i| i.sessions.get(key).cloned()))
    }

    async fn touch_session(&self, key: &str, now_secs: u64) -> Result<(), StoreError> {
        self.with(|i| {
            if let Some(s) = i.sessions.get_mut(key) {
                s.seen_at = s.seen_at.max(now_secs);
            }
        });
        Ok(())
    }

    async fn end_session(&self, key: &str) -> Result<(), StoreError> {
        self.with(|i| i.sessions.remove(key));
        Ok(())
    }
}
