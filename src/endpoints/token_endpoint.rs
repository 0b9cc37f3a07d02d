//! `POST /oauth/access_token` (Quay's path) and `/oauth/token`: an authorization code and
//! its PKCE verifier for a token (RFC 6749 §4.1.3, RFC 7636 §4.5).

use std::collections::BTreeSet;
use std::time::Duration;

use http::{Request, header};

use super::issuance::{Issuance, TokenTerms};
use super::proof::{self, DpopCheck};
use super::{Answer, Event, RequestLog, issuer, refused, unavailable};
use crate::client_auth::{self, ClientCredentials, authenticate};
use crate::clock::Clock;
use crate::dpop::Proof;
use crate::error::ApiError;
use crate::random::Random;
use crate::response::TokenResponse;
use crate::store::{
    Application, CodeClaim, CodeRecord, CodeStore, LookupReader, OneTimeValues, Redemption,
    StoreError, TokenCanceller, TokenReader, TokenWriter, Verified,
};
use crate::token::AccessToken;
use crate::{pkce, request, response, secret};

/// The checks of a token request, in order; each failure answers §5.2's JSON error.
struct TokenRequest {
    client: ClientCredentials,
    code: String,
    verifier: String,
    redirect_uri: Option<String>,
}

/// What a successful exchange gave.
struct Granted {
    token: AccessToken,
    code: CodeRecord,
    bound: bool,
    /// The token's lifetime in seconds: the application's, or the function's.
    expires_in: u64,
}

/// The token endpoint's ports: the store (the client, the code, the token), the clock,
/// and what DPoP and the token's write need.
pub(super) struct TokenEndpoint<'a, S, C, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub dpop: DpopCheck<'a, S, C, R>,
    pub issuance: Issuance<'a, S, R>,
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: LookupReader + CodeStore + TokenCanceller + TokenWriter + TokenReader + OneTimeValues,
    C: Clock,
    R: Random,
{
    /// `endpoint`: the token endpoint's path the request came to.
    pub(super) async fn answer<B: AsRef<[u8]>>(&self, req: &Request<B>, endpoint: &str) -> Answer {
        let settings = self.issuance.settings;
        let refused = |e: &ApiError, client_id| refused(e, client_id, &settings.realm);
        let parsed = match parse(req) {
            Ok(p) => p,
            Err(e) => return refused(&e, String::new()),
        };
        let client_id = parsed.client.client_id.clone();
        let issuer = issuer(settings.issuer.as_deref(), req);
        let proof = match self.dpop.read(req, issuer.as_deref(), endpoint, None).await {
            Ok(p) => p,
            Err(e) => return refused(&e, client_id),
        };
        match self.redeem(&parsed, proof.as_ref()).await {
            Ok(Granted {
                token,
                code,
                bound,
                expires_in,
            }) => {
                let exposed = token.expose();
                let issued = TokenResponse {
                    token: &exposed,
                    bound,
                    expires_in,
                };
                Answer {
                    response: response::token(issued, &code.scopes),
                    // The audit record, as for direct approval; never the token.
                    log: RequestLog {
                        event: Event::TokenIssued,
                        client_id,
                        username: code.username,
                        scopes: code.scopes.join(" "),
                        token_id: token.id().to_string(),
                        ..RequestLog::default()
                    },
                }
            }
            Err(e) => refused(&e, client_id),
        }
    }

    async fn redeem(&self, x: &TokenRequest, proof: Option<&Proof>) -> Result<Granted, ApiError> {
        let now_ms = self.clock.now_ms();
        let lookup = self.store.lookup(&x.client.client_id, None).await;
        let lookup = lookup.map_err(unavailable)?;
        let app = authenticate(lookup.application.as_ref(), &x.client)?;
        proof::required(app.require_dpop, proof)?;
        // Spent once the client is authenticated (a refused one writes nothing), and
        // before the code is: a replayed proof must not use the code up.
        self.dpop.spend(proof).await?;
        let Some(challenge) = pkce::challenge_of(&x.verifier) else {
            return Err(ApiError::invalid_request(
                "code_verifier must be 43-128 unreserved characters",
            ));
        };
        let token = self.issuance.new_token()?;
        let code_hash = secret::hash(&x.code);
        let claim = CodeClaim {
            code_hash: &code_hash,
            client_id: &x.client.client_id,
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
        let user = Verified {
            username: code.username.clone(),
            password_hash: None,
            generation: code.user_generation,
            new_password_hash: None,
        };
        let jkt = proof.map(|p| p.jkt.as_str());
        let terms = TokenTerms {
            client: app,
            scopes: &code.scopes,
            jkt,
        };
        match self
            .issuance
            .write_token(&token, &user, terms, now_ms)
            .await
        {
            Ok(()) => Ok(Granted {
                token,
                code,
                bound: jkt.is_some(),
                expires_in: lifetime.as_secs(),
            }),
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
    x: &TokenRequest,
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
    // The code's scopes as the application and the catalogue are now: an operator's edit
    // since the code was issued holds, as at a check.
    let ceiling = app.scope_ceiling.as_ref();
    let allowed = |s: &String| catalogue.contains(s) && ceiling.is_none_or(|c| c.contains(s));
    if !code.scopes.iter().all(allowed) {
        return Err(ApiError::InvalidGrant(
            "the code's scopes are no longer the application's".into(),
        ));
    }
    Ok(())
}

/// Checks 1-2 (POST, a form), the grant type, and the fields it needs.
fn parse<B: AsRef<[u8]>>(req: &Request<B>) -> Result<TokenRequest, ApiError> {
    let form = request::read_form(req)?;
    match form.get("grant_type") {
        None => return Err(ApiError::invalid_request("grant_type is required")),
        Some("authorization_code") => {}
        Some(_) => return Err(ApiError::UnsupportedGrantType),
    }
    let authorization = req.headers().get_all(header::AUTHORIZATION);
    let client = client_auth::parse(authorization.iter().map(|v| v.as_bytes()), &form)?;
    let required = |name: &str| {
        form.get(name)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid_request(format!("{name} is required")))
    };
    Ok(TokenRequest {
        code: required("code")?,
        verifier: required("code_verifier")?,
        redirect_uri: form.get("redirect_uri").map(str::to_string),
        client,
    })
}
