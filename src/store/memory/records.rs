//! Records for tests, with every field but the one that names them at its usual value:
//! a test sets what it is about (`User { enabled: false, ..user("alice") }`), and a new
//! field is one line here, not one in every test.

use crate::store::{Application, TokenRecord, User};

/// An enabled user, no superuser, no password (set `password_hash` to log in with one),
/// at generation 0, of the users table's own (no directory).
pub fn user(username: &str) -> User {
    User {
        username: username.into(),
        password_hash: String::new(),
        enabled: true,
        superuser: false,
        generation: 0,
        tokens_from: 0,
        link: None,
    }
}

/// A public application named after its id, with no redirect URI (set `redirect_uris`),
/// the whole catalogue, anyone's tokens, no DPoP requirement, token epoch 0.
pub fn application(client_id: &str) -> Application {
    Application {
        client_id: client_id.into(),
        name: client_id.into(),
        redirect_uris: Vec::new(),
        scope_ceiling: None,
        secret_hash: None,
        introspect_any: false,
        token_epoch: 0,
        access: Default::default(),
        require_dpop: false,
        implicit: false,
        device_grant: false,
        api_tokens: Default::default(),
        token_lifetime: None,
        refresh: None,
    }
}

/// A live Bearer token of `username` for `client_id`, issued at 0, expiring in an hour,
/// under generation and epoch 0, its secret's hash all zeros (set `secret_hash` to
/// present it).
pub fn token_record(token_id: &str, username: &str, client_id: &str) -> TokenRecord {
    TokenRecord {
        token_id: token_id.into(),
        secret_hash: [0; 32],
        username: username.into(),
        client_id: client_id.into(),
        scopes: Vec::new(),
        issued_at: 0,
        expires_at: Some(3_600),
        revoked_at: None,
        user_generation: 0,
        client_epoch: 0,
        jkt: None,
        name: None,
        last_used_at: None,
    }
}
