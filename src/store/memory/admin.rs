//! The operator's ports in memory, with DynamoDB's meaning (`store::operator`): each
//! action that ends tokens is one change to the user or the application, made under the
//! store's one lock as DynamoDB makes it in one conditional write.

use super::{Inner, MemoryStore};
use crate::store::{
    Application, ApplicationAdmin, StoreError, TokenAdmin, TokenRecord, User, UserAdmin,
};

impl Inner {
    /// The user's tokens, newest first (ties by id, so a listing is stable).
    fn user_tokens(&mut self, username: &str) -> impl Iterator<Item = &mut TokenRecord> {
        let mut tokens: Vec<&mut TokenRecord> = self
            .tokens
            .values_mut()
            .filter(|t| t.username == username)
            .collect();
        tokens.sort_by(|a, b| (b.issued_at, &b.token_id).cmp(&(a.issued_at, &a.token_id)));
        tokens.into_iter()
    }

    /// Raises the edit version of an application that exists; whether it does.
    fn edited(&mut self, client_id: &str, change: impl FnOnce(&mut Application)) -> bool {
        let Some(app) = self.applications.get_mut(client_id) else {
            return false;
        };
        change(app);
        *self.edit_versions.entry(client_id.to_string()).or_default() += 1;
        true
    }
}

/// The generation raised and `tokens_from` with it: what DynamoDB's `VOID_TOKENS` sets.
fn void_tokens(user: &mut User) {
    user.generation += 1;
    user.tokens_from = user.generation;
}

impl UserAdmin for MemoryStore {
    async fn add_user(&self, user: &User) -> Result<(), StoreError> {
        self.with(|i| {
            if i.users.contains_key(&user.username) {
                return Err(StoreError::Conflict);
            }
            i.users.insert(user.username.clone(), user.clone());
            Ok(())
        })
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self.user(username))
    }

    async fn set_user_enabled(&self, username: &str, enabled: bool) -> Result<bool, StoreError> {
        self.with(|i| {
            let Some(user) = i.users.get_mut(username) else {
                return Ok(false);
            };
            user.enabled = enabled;
            user.generation += 1;
            Ok(true)
        })
    }

    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        void: bool,
    ) -> Result<bool, StoreError> {
        self.with(|i| {
            let Some(user) = i.users.get_mut(username) else {
                return Ok(false);
            };
            user.password_hash = hash.to_string();
            if void {
                void_tokens(user);
            } else {
                user.generation += 1;
            }
            Ok(true)
        })
    }

    async fn revoke_user_tokens(
        &self,
        username: &str,
        now_secs: u64,
    ) -> Result<Option<u32>, StoreError> {
        // Two steps, as in DynamoDB: the void is the one that counts; the marks follow.
        let exists = self.with(|i| i.users.get_mut(username).map(void_tokens).is_some());
        if !exists {
            return Ok(None);
        }
        self.mark_user_tokens_revoked(username, now_secs)
            .await
            .map(Some)
    }
}

impl TokenAdmin for MemoryStore {
    async fn list_tokens_for_user(&self, username: &str) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(self.with(|i| i.user_tokens(username).map(|t| t.clone()).collect()))
    }

    async fn revoke_token_by_id(&self, token_id: &str, now_secs: u64) -> Result<bool, StoreError> {
        self.with(|i| match i.tokens.get_mut(token_id) {
            Some(t) if t.revoked_at.is_none() => {
                t.revoked_at = Some(now_secs);
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn mark_user_tokens_revoked(
        &self,
        username: &str,
        now_secs: u64,
    ) -> Result<u32, StoreError> {
        self.with(|i| {
            let unrevoked = i.user_tokens(username).filter(|t| t.revoked_at.is_none());
            Ok(unrevoked.map(|t| t.revoked_at = Some(now_secs)).count() as u32)
        })
    }

    async fn live_token_count(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.with(|i| {
            let Some(tokens_from) = i.users.get(username).map(|u| u.tokens_from) else {
                return Ok(0);
            };
            let live = i.user_tokens(username).filter(|t| {
                t.revoked_at.is_none()
                    && t.user_generation >= tokens_from
                    && t.expires_at.is_none_or(|at| at > now_secs)
            });
            Ok(live.count() as u32)
        })
    }
}

impl ApplicationAdmin for MemoryStore {
    async fn add_application(&self, app: &Application) -> Result<(), StoreError> {
        self.with(|i| {
            if i.applications.contains_key(&app.client_id) {
                return Err(StoreError::Conflict);
            }
            i.applications.insert(app.client_id.clone(), app.clone());
            Ok(())
        })
    }

    async fn get_application_for_update(
        &self,
        client_id: &str,
    ) -> Result<Option<(Application, u64)>, StoreError> {
        self.with(|i| {
            let version = i.edit_versions.get(client_id).copied().unwrap_or(0);
            Ok(i.applications.get(client_id).map(|a| (a.clone(), version)))
        })
    }

    async fn replace_application(&self, app: &Application, version: u64) -> Result<(), StoreError> {
        self.with(|i| {
            let read = i.edit_versions.get(&app.client_id).copied().unwrap_or(0);
            if !i.applications.contains_key(&app.client_id) || read != version {
                return Err(StoreError::Conflict);
            }
            i.applications.insert(app.client_id.clone(), app.clone());
            i.edit_versions.insert(app.client_id.clone(), version + 1);
            Ok(())
        })
    }

    async fn revoke_client_tokens(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.with(|i| i.edited(client_id, |a| a.token_epoch += 1)))
    }

    async fn set_client_secret(
        &self,
        client_id: &str,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        Ok(self.with(|i| i.edited(client_id, |a| a.secret_hash = Some(*hash))))
    }

    async fn delete_application(&self, client_id: &str) -> Result<bool, StoreError> {
        self.with(|i| {
            i.edit_versions.remove(client_id);
            Ok(i.applications.remove(client_id).is_some())
        })
    }

    async fn list_applications(&self) -> Result<Vec<Application>, StoreError> {
        self.with(|i| {
            let mut apps: Vec<Application> = i.applications.values().cloned().collect();
            apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            Ok(apps)
        })
    }
}
