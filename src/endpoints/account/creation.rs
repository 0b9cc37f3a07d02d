//! An API token's creation, one driver for the Tokens page and `token create`: the
//! application's rules and terms ([`crate::api_token::decide`]), then one write held to
//! the user as read and to the application's cap on live tokens.

use std::collections::BTreeSet;

use crate::api_token::{self, Cap, Order, Refusal};
use crate::error::ApiError;
use crate::random::Random;
use crate::store::{ApiTokenStore, LookupReader, StoreError, TokenRecord, Verified};
use crate::token::{AccessToken, IssuedTo};

/// Who the token is for, as the creating side knows them.
pub struct Creator<'a> {
    pub username: &'a str,
    /// The directory's groups (an application open to groups checks them).
    pub groups: &'a BTreeSet<String>,
    /// Whether `super:user` may be granted.
    pub superuser: bool,
    /// The user's generation the creation is held to: the session's (a reset since
    /// sign-in refuses it), or `None` for the user's as read now (an operator's).
    pub generation: Option<u64>,
}

/// A token made: the token itself, shown once, and what was stored.
pub struct Created {
    pub token: String,
    pub record: TokenRecord,
}

/// Why no token was made.
#[derive(Debug)]
pub enum CreationError {
    /// Said to the creator as it is.
    Refused(Refusal),
    /// The user is gone, disabled or changed since the creator's read (sign in again).
    UserChanged,
    Failed(ApiError),
}

impl From<Refusal> for CreationError {
    fn from(r: Refusal) -> Self {
        CreationError::Refused(r)
    }
}

/// Creates `creator`'s API token for `client_id` as `order` asks, at `now_secs`.
pub async fn create_api_token<S, R>(
    store: &S,
    random: &R,
    catalogue: &BTreeSet<String>,
    (creator, client_id): (&Creator<'_>, &str),
    order: &Order,
    now_secs: u64,
) -> Result<Created, CreationError>
where
    S: LookupReader + ApiTokenStore,
    R: Random,
{
    if !crate::identifier::is_client_id(client_id) {
        return Err(Refusal::Application.into());
    }
    let lookup = store.lookup(client_id, Some(creator.username)).await;
    let lookup = lookup.map_err(|e| CreationError::Failed(crate::endpoints::unavailable(e)))?;
    let app = lookup.application.ok_or(Refusal::Application)?;
    let user = lookup.user.filter(|u| u.enabled);
    let user = user.ok_or(CreationError::UserChanged)?;
    let generation = creator.generation.unwrap_or(user.generation);
    if !app.access.admits(creator.username, creator.groups) {
        return Err(Refusal::Access.into());
    }
    let decided = api_token::decide(order, &app, catalogue, creator.superuser, now_secs)?;
    let token =
        AccessToken::generate(random).map_err(|_| CreationError::Failed(ApiError::ServerError))?;
    let record = TokenRecord {
        token_id: token.id().to_string(),
        secret_hash: token.secret_hash(),
        username: user.username.clone(),
        client_id: app.client_id.clone(),
        scopes: decided.scopes,
        issued_at: now_secs,
        expires_at: decided.expires_at,
        revoked_at: None,
        user_generation: generation,
        client_epoch: app.token_epoch,
        jkt: None,
        name: Some(decided.name),
        last_used_at: None,
    };
    let held_to = Verified {
        username: user.username.clone(),
        password_hash: None,
        generation,
        new_password_hash: None,
    };
    let cap = Cap {
        most: app.api_tokens.cap,
        tokens_from: user.tokens_from,
        token_epoch: app.token_epoch,
        now_secs,
    };
    match store.create_api_token(&record, &held_to, &cap).await {
        Ok(()) => Ok(Created {
            token: token
                .issued_to(IssuedTo::new(&record.username, &record.client_id))
                .expose(),
            record,
        }),
        Err(StoreError::CapReached) => Err(Refusal::Cap(cap.most).into()),
        Err(StoreError::UserChanged) => Err(CreationError::UserChanged),
        Err(e) => Err(CreationError::Failed(crate::endpoints::unavailable(e))),
    }
}
