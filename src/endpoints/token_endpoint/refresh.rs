//! The `refresh_token` grant (RFC 6749 §6): a refresh token for a new access token and the
//! next refresh token of its family ([`crate::refresh`]). Checks in order, each failure an
//! `invalid_grant` unless said: the token's form; the family read and the client
//! authenticated (`invalid_client`); DPoP as the application requires; the family's key;
//! the family's judgement (a reuse revokes it); the user and the application as they are
//! now; the scopes (`invalid_scope` beyond the family's); then one write, on the condition
//! that the family is still as read.

use std::collections::BTreeSet;

use super::{GrantStore, Granted, TokenEndpoint, still_allowed};
use crate::client_auth::{ClientCredentials, authenticate};
use crate::clock::Clock;
use crate::dpop::Proof;
use crate::endpoints::issuance::TokenTerms;
use crate::endpoints::{proof, unavailable};
use crate::error::ApiError;
use crate::random::Random;
use crate::refresh::{self, Issued, Presented, RefreshToken, Refusal};
use crate::scope;
use crate::store::{Application, RefreshFamily, StoreError, User, Verified};
use crate::token::IssuedTo;

/// The grant's fields.
pub(super) struct RefreshGrant {
    pub refresh_token: String,
    /// Fewer scopes than the family's, for this access token only (RFC 6749 §6).
    pub scope: Option<String>,
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: GrantStore,
    C: Clock,
    R: Random,
{
    pub(super) async fn refresh(
        &self,
        client: &ClientCredentials,
        x: &RefreshGrant,
        proof: Option<&Proof>,
    ) -> Result<Granted, ApiError> {
        let now_secs = self.clock.now_ms() / 1000;
        let presented = RefreshToken::parse(&x.refresh_token)
            .ok_or_else(|| ApiError::InvalidGrant(Refusal::Unknown.description().into()))?;
        let family = self.store.family(presented.family_id()).await;
        let family = family.map_err(unavailable)?;
        let username = family.as_ref().map(|f| f.username.as_str());
        let lookup = self.store.lookup(&client.client_id, username).await;
        let lookup = lookup.map_err(unavailable)?;
        let app = authenticate(lookup.application.as_ref(), client)?;
        proof::required(app.require_dpop, proof)?;
        self.dpop.spend(proof).await?;
        // A bound family's token is worthless without its key: a thief without it
        // neither refreshes nor revokes.
        if let Some(f) = &family
            && f.jkt.is_some()
            && f.jkt.as_deref() != proof.map(|p| p.jkt.as_str())
        {
            return Err(ApiError::InvalidGrant(
                "the refresh token is bound to a DPoP key: a proof by that key is required".into(),
            ));
        }
        let judged = refresh::judge(&presented, family.as_ref(), &client.client_id, now_secs);
        let (family, presented_as) = match judged {
            Ok(p) => (family.expect("judged present"), p),
            Err(Refusal::Reused) => {
                let revoked = self.store.revoke_family(presented.family_id(), now_secs);
                revoked.await.map_err(unavailable)?;
                return Err(ApiError::InvalidGrant(Refusal::Reused.description().into()));
            }
            Err(why) => return Err(ApiError::InvalidGrant(why.description().into())),
        };
        let user = still_stands(&family, lookup.user.as_ref(), app)?;
        let scopes = narrowed(&family, x.scope.as_deref(), app, self.catalogue())?;
        let rotation = Rotation {
            family: &family,
            presented: &presented,
            presented_as,
            scopes: &scopes,
        };
        self.rotate(rotation, app, user, proof, now_secs * 1000)
            .await
    }

    fn catalogue(&self) -> &BTreeSet<String> {
        &self.issuance.settings.scopes
    }

    /// The write of the next token and the access token: one winner among refreshes of
    /// one token at once; the others are refused without revoking (each read the token
    /// live).
    async fn rotate(
        &self,
        r: Rotation<'_>,
        app: &Application,
        user: &User,
        proof: Option<&Proof>,
        now_ms: u64,
    ) -> Result<Granted, ApiError> {
        let token = self.issuance.new_token()?;
        let next = r
            .presented
            .next(self.issuance.random)
            .map_err(no_randomness)?;
        let verified = Verified {
            username: user.username.clone(),
            password_hash: None,
            generation: user.generation,
            new_password_hash: None,
        };
        let jkt = proof.map(|p| p.jkt.as_str());
        let terms = TokenTerms {
            client: app,
            scopes: r.scopes,
            jkt,
        };
        let record = self.issuance.token_record(&token, &verified, terms, now_ms);
        let issued = Issued {
            token_id: &record.token_id,
            expires_at: record.expires_at,
        };
        let app_terms = app.refresh.unwrap_or_default();
        let now_secs = now_ms / 1000;
        let rotated = refresh::rotated(
            r.family,
            r.presented_as,
            &next,
            &app_terms,
            user.generation,
            issued,
            now_secs,
        );
        let seen = r.family.current_hash;
        let written = self
            .issuance
            .write_with_family(&record, &verified, &rotated, Some(&seen));
        match written.await {
            Ok(()) => Ok(Granted {
                expires_in: record.expires_at.map_or(0, |at| at - now_secs),
                token: token.issued_to(IssuedTo::new(&record.username, &record.client_id)),
                refresh: Some(next),
                username: user.username.clone(),
                scopes: r.scopes.to_vec(),
                bound: jkt.is_some(),
            }),
            Err(StoreError::Conflict) => Err(ApiError::InvalidGrant(
                "the refresh token was used by another request at the same moment".into(),
            )),
            Err(StoreError::UserChanged) => Err(ApiError::InvalidGrant(
                "the user changed during the refresh".into(),
            )),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// What the rotation writes from.
struct Rotation<'a> {
    family: &'a RefreshFamily,
    presented: &'a RefreshToken,
    presented_as: Presented,
    scopes: &'a [String],
}

pub(super) fn no_randomness(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "no randomness");
    ApiError::ServerError
}

/// The family's user and application as they are now decide, as at every token check:
/// the user there and enabled, the family not voided by `token revoke --user` (nor the
/// application's by `--client`), and the application still giving refresh tokens.
fn still_stands<'u>(
    family: &RefreshFamily,
    user: Option<&'u User>,
    app: &Application,
) -> Result<&'u User, ApiError> {
    let refused = |why: &str| Err(ApiError::InvalidGrant(why.into()));
    let Some(user) = user.filter(|u| u.enabled) else {
        return refused("the user is disabled or gone");
    };
    if family.user_generation < user.tokens_from {
        return refused("the user's tokens were revoked");
    }
    if family.client_epoch != app.token_epoch {
        return refused("the application's tokens were revoked");
    }
    if app.refresh.is_none() {
        return refused("the application no longer gets refresh tokens");
    }
    Ok(user)
}

/// The access token's scopes: the family's, or fewer when asked (`invalid_scope` for
/// more); each still the application's and in the catalogue, as for a code.
fn narrowed(
    family: &RefreshFamily,
    asked: Option<&str>,
    app: &Application,
    catalogue: &BTreeSet<String>,
) -> Result<Vec<String>, ApiError> {
    let scopes = match asked {
        None => family.scopes.clone(),
        Some(asked) => {
            let asked: Vec<String> = scope::split(asked).map(str::to_string).collect();
            if asked.is_empty() {
                return Err(ApiError::InvalidScope("scope names no scope".into()));
            }
            if let Some(extra) = asked.iter().find(|s| !family.scopes.contains(s)) {
                return Err(ApiError::InvalidScope(format!(
                    "{extra} was not granted: a refresh may only narrow the scopes"
                )));
            }
            asked
        }
    };
    if !still_allowed(&scopes, app, catalogue) {
        return Err(ApiError::InvalidGrant(
            "the refresh token's scopes are no longer the application's".into(),
        ));
    }
    Ok(scopes)
}
