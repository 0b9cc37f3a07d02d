//! The `authorization_code` grant: a code and its PKCE verifier for a token (RFC 6749
//! §4.1.3, RFC 7636 §4.5); with a refresh token's family when the application gets them.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Approved, GrantStore, Granted, TokenEndpoint, still_allowed};
use crate::client_auth::ClientCredentials;
use crate::clock::Clock;
use crate::dpop::Proof;
use crate::endpoints::unavailable;
use crate::error::ApiError;
use crate::random::Random;
use crate::store::{Application, CodeClaim, CodeRecord, Redemption, StoreError};
use crate::{pkce, secret};

/// The grant's fields.
pub(super) struct CodeGrant {
    pub code: String,
    pub verifier: String,
    pub redirect_uri: Option<String>,
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: GrantStore,
    C: Clock,
    R: Random,
{
    pub(super) async fn redeem(
        &self,
        client: &ClientCredentials,
        x: &CodeGrant,
        proof: Option<&Proof>,
    ) -> Result<Granted, ApiError> {
        let now_ms = self.clock.now_ms();
        let app = &self.admitted(client, proof, |_| Ok(())).await?;
        let Some(challenge) = pkce::challenge_of(&x.verifier) else {
            return Err(ApiError::invalid_request(
                "code_verifier must be 43-128 unreserved characters",
            ));
        };
        let token = self.issuance.new_token()?;
        let code_hash = secret::hash(&x.code);
        let claim = CodeClaim {
            code_hash: &code_hash,
            client_id: &client.client_id,
            code_challenge: &challenge,
            jkt: proof.map(|p| p.jkt.as_str()),
        };
        let redemption = self
            .store
            .redeem_code(&claim, token.id(), now_ms / 1000)
            .await
            .map_err(unavailable)?;
        let lifetime = self.issuance.settings.lifetime_of(app);
        let code = self.accepted(redemption, now_ms, lifetime).await?;
        still_holds(x, &code, app, &self.issuance.settings.scopes)?;
        let approved = Approved {
            username: code.username,
            user_generation: code.user_generation,
            client_epoch: code.client_epoch,
            scopes: code.scopes,
        };
        match self.issue(app, approved, token, proof, now_ms).await? {
            Ok(granted) => Ok(granted),
            Err(StoreError::UserChanged) => Err(ApiError::InvalidGrant(
                "the user changed since the code was issued".into(),
            )),
            // The id was chosen before the redemption, so it is taken only when a replay
            // of the code forbade it meanwhile (or by a collision of 128 random bits).
            Err(StoreError::Conflict) => {
                Err(ApiError::InvalidGrant("the code was already used".into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The code the redemption gave, or the refusal. A code used twice may have been
    /// stolen (RFC 6749 §4.1.2): what it gave the first time is revoked.
    async fn accepted(
        &self,
        redemption: Redemption,
        now_ms: u64,
        lifetime: Duration,
    ) -> Result<CodeRecord, ApiError> {
        match redemption {
            Redemption::Redeemed(code) => Ok(code),
            Redemption::Replayed(code) => {
                if let Some(token_id) = &code.token_id {
                    let now_secs = now_ms / 1000;
                    let until = now_secs + lifetime.as_secs();
                    let revoked = self.store.revoke_by_id(token_id, now_secs, until).await;
                    revoked.map_err(unavailable)?;
                }
                Err(ApiError::InvalidGrant("the code was already used".into()))
            }
            Redemption::Refused => Err(ApiError::InvalidGrant(
                "the code is unknown, expired, or not for this client, verifier and DPoP key"
                    .into(),
            )),
        }
    }
}

/// What the code was issued under still holds: the request's redirect URI, the
/// application's token epoch, the scopes. (The user's state is held by the token write's
/// condition: enabled, the generation the code was issued at.)
fn still_holds(
    x: &CodeGrant,
    code: &CodeRecord,
    app: &Application,
    catalogue: &BTreeSet<String>,
) -> Result<(), ApiError> {
    // RFC 6749 §4.1.3: the redirect URI the code was requested with, if one was.
    let same = match (&x.redirect_uri, code.redirect_uri_given) {
        (Some(given), _) => *given == code.redirect_uri,
        (None, given_then) => !given_then,
    };
    if !same {
        return Err(ApiError::InvalidGrant(
            "redirect_uri differs from the authorization request's".into(),
        ));
    }
    // `token revoke --client` since the code was issued: what it would give is revoked.
    if code.client_epoch != app.token_epoch {
        return Err(ApiError::InvalidGrant(
            "the application's tokens were revoked since the code was issued".into(),
        ));
    }
    if !still_allowed(&code.scopes, app, catalogue) {
        return Err(ApiError::InvalidGrant(
            "the code's scopes are no longer the application's".into(),
        ));
    }
    Ok(())
}
