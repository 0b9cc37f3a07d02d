//! Check 12's writes: a token (direct approval, or a code's exchange) or an authorization
//! code, each under a fresh random id that is never reused.

use tracing::warn;

use super::{Settings, unavailable};
use crate::error::ApiError;
use crate::random::Random;
use crate::secret;
use crate::store::{
    Application, CodeRecord, CodeStore, RefreshFamily, RefreshStore, StoreError, TokenReader,
    TokenRecord, TokenWriter, User, Verified,
};
use crate::token::{AccessToken, IssuedTo};

/// What a token is issued for, besides the user.
#[derive(Clone, Copy)]
pub(super) struct TokenTerms<'a> {
    pub client: &'a Application,
    pub scopes: &'a [String],
    /// The DPoP key's thumbprint the token is bound to, if any.
    pub jkt: Option<&'a str>,
}

/// What a code is issued for, besides the user.
pub(super) struct CodeTerms<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_given: bool,
    pub scopes: &'a [String],
    pub challenge: String,
    /// The application's token epoch at the login.
    pub client_epoch: u64,
    /// The DPoP key's thumbprint the code is bound to, if any.
    pub jkt: Option<&'a str>,
}

/// The writes' ports: the store that keeps tokens and codes, and randomness for their ids.
pub(super) struct Issuance<'a, S, R> {
    pub store: &'a S,
    pub random: &'a R,
    pub settings: &'a Settings,
}

impl<S, R> Clone for Issuance<'_, S, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, R> Copy for Issuance<'_, S, R> {}

impl<S: TokenWriter + TokenReader + CodeStore, R: Random> Issuance<'_, S, R> {
    /// Whether `record` is stored as it is (its id and its secret's hash).
    async fn is_stored(&self, record: &TokenRecord) -> bool {
        match self.store.get_token(&record.token_id).await {
            Ok(Some(stored)) => stored.secret_hash == record.secret_hash,
            _ => false,
        }
    }

    pub(super) fn new_token(&self) -> Result<AccessToken, ApiError> {
        AccessToken::generate(self.random).map_err(|e| {
            warn!(error = %e, "no randomness");
            ApiError::ServerError
        })
    }

    /// Writes the token record with a fresh id; one retry with a new id if the id exists.
    pub(super) async fn issue_token(
        &self,
        user: &Verified,
        client: &Application,
        scopes: &[String],
        jkt: Option<&str>,
        now_ms: u64,
    ) -> Result<AccessToken, ApiError> {
        for _ in 0..2 {
            let token = self.new_token()?;
            let terms = TokenTerms {
                client,
                scopes,
                jkt,
            };
            match self.write_token(&token, user, terms, now_ms).await {
                Ok(()) => {
                    return Ok(token.issued_to(IssuedTo::new(&user.username, &client.client_id)));
                }
                Err(StoreError::Conflict) => {
                    warn!(token_id = %token.id(), "token id collision; retrying with a new id")
                }
                // Disabled, reset or revoked since the read: as if the password were wrong,
                // but not counted against the name.
                Err(StoreError::UserChanged) => return Err(ApiError::LoginFailed),
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ApiError::ServerError)
    }

    /// One write of `token`'s record, held to the user as verified, under the client's
    /// token epoch as read.
    pub(super) async fn write_token(
        &self,
        token: &AccessToken,
        user: &Verified,
        terms: TokenTerms<'_>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let record = self.token_record(token, user, terms, now_ms);
        let written = self.store.put_token(&record, user).await;
        self.written(written, &record).await
    }

    /// What a write's error means when an earlier attempt of it succeeded and only its
    /// answer was lost: the SDK's retry meets that write (the token stored under its id,
    /// the user's hash already replaced). Our token there means it was written.
    async fn written(
        &self,
        result: Result<(), StoreError>,
        record: &TokenRecord,
    ) -> Result<(), StoreError> {
        match result {
            Err(StoreError::Conflict | StoreError::UserChanged) if self.is_stored(record).await => {
                Ok(())
            }
            other => other,
        }
    }

    /// The record of `token`, as issued now.
    pub(super) fn token_record(
        &self,
        token: &AccessToken,
        user: &Verified,
        TokenTerms {
            client,
            scopes,
            jkt,
        }: TokenTerms<'_>,
        now_ms: u64,
    ) -> TokenRecord {
        let issued_at = now_ms / 1000;
        TokenRecord {
            token_id: token.id().to_string(),
            secret_hash: token.secret_hash(),
            username: user.username.clone(),
            client_id: client.client_id.clone(),
            scopes: scopes.to_vec(),
            issued_at,
            expires_at: Some(issued_at + self.settings.lifetime_of(client).as_secs()),
            revoked_at: None,
            user_generation: user.generation,
            client_epoch: client.token_epoch,
            jkt: jkt.map(str::to_string),
            name: None,
            last_used_at: None,
        }
    }

    /// Stores a new authorization code for `user`; returns the code (for the redirect only:
    /// the store keeps its hash).
    pub(super) async fn issue_code(
        &self,
        user: &User,
        terms: CodeTerms<'_>,
        now_ms: u64,
    ) -> Result<String, ApiError> {
        for _ in 0..2 {
            let code = secret::generate(self.random).map_err(|e| {
                warn!(error = %e, "no randomness");
                ApiError::ServerError
            })?;
            let record = CodeRecord {
                code_hash: secret::hash(&code),
                client_id: terms.client_id.to_string(),
                redirect_uri: terms.redirect_uri.to_string(),
                redirect_uri_given: terms.redirect_uri_given,
                scopes: terms.scopes.to_vec(),
                username: user.username.clone(),
                user_generation: user.generation,
                client_epoch: terms.client_epoch,
                code_challenge: terms.challenge.clone(),
                jkt: terms.jkt.map(str::to_string),
                expires_at: now_ms / 1000 + self.settings.code_lifetime.as_secs(),
                used_at: None,
                token_id: None,
            };
            match self.store.put_code(&record).await {
                Ok(()) => return Ok(code),
                Err(StoreError::Conflict) => warn!("code collision; retrying with a new code"),
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ApiError::ServerError)
    }
}

impl<S: TokenWriter + TokenReader + CodeStore + RefreshStore, R: Random> Issuance<'_, S, R> {
    /// The token's write with its refresh family's (started, or rotated from the live
    /// token `seen` as read), in one write: see [`RefreshStore::write_family`].
    pub(super) async fn write_with_family(
        &self,
        record: &TokenRecord,
        user: &Verified,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        let written = self.store.write_family(family, seen, record, user).await;
        self.written(written, record).await
    }
}
