//! Records for tests, with every field but the one that names them at its usual value:
//! a test sets what it is about (`User { enabled: false, ..user("alice") }`), and a new
//! field is one line here, not one in every test.

use crate::store::{Application, User};

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
    }
}
