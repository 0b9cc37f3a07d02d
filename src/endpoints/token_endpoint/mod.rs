//! `POST /oauth/access_token` (Quay's path) and `/oauth/token`: a grant for a token (RFC
//! 6749 §3.2). The checks common to every grant are here, in order: POST with a form, a
//! supported `grant_type` and its fields, the client's credentials, the DPoP proof; each
//! grant is then its own module:
//!
//! - [`code`]: `authorization_code`, a code and its PKCE verifier (RFC 6749 §4.1.3);
//! - [`refresh`]: `refresh_token`, rotated at each use (RFC 6749 §6, RFC 9700 §4.14.2);
//! - [`device`]: the device code, polled until the person decided (RFC 8628 §3.4).
//!
//! Every refusal answers RFC 6749 §5.2's JSON error.

use std::collections::BTreeSet;

use http::{Request, header};

use super::issuance::{Issuance, TokenTerms};
use super::proof::{self, DpopCheck};
use super::{Answer, Event, RequestLog, issuer, refused, unavailable};
use crate::client_auth::{self, ClientCredentials, authenticate};
use crate::clock::Clock;
use crate::dpop::Proof;
use crate::error::ApiError;
use crate::random::Random;
use crate::refresh::{FamilyGrant, Issued, RefreshToken, started};
use crate::response::TokenResponse;
use crate::store::{
    Application, CodeStore, DeviceStore, LookupReader, OneTimeValues, RefreshStore, StoreError,
    TokenCanceller, TokenReader, TokenWriter, Verified,
};
use crate::token::{AccessToken, IssuedTo};
use crate::{request, response};

mod code;
mod device;
mod refresh;

/// The grant types this endpoint takes, as `grant_type` names them (and discovery lists).
pub(super) const AUTHORIZATION_CODE: &str = "authorization_code";
pub(super) const REFRESH_TOKEN: &str = "refresh_token";
pub(super) const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(super) const GRANT_TYPES: [&str; 3] = [AUTHORIZATION_CODE, REFRESH_TOKEN, DEVICE_CODE];

/// What the client presents, by grant type.
enum Grant {
    Code(code::CodeGrant),
    Refresh(refresh::RefreshGrant),
    Device(device::DeviceGrant),
}

/// What the grants ask of the store: the client, the codes, the families, the device
/// authorizations, the token's write, and DPoP's one-time values.
pub(super) trait GrantStore:
    LookupReader
    + CodeStore
    + RefreshStore
    + DeviceStore
    + TokenCanceller
    + TokenWriter
    + TokenReader
    + OneTimeValues
{
}

impl<S> GrantStore for S where
    S: LookupReader
        + CodeStore
        + RefreshStore
        + DeviceStore
        + TokenCanceller
        + TokenWriter
        + TokenReader
        + OneTimeValues
{
}

/// What a grant gave: the access token, and a refresh token when the application gets
/// them.
struct Granted {
    token: AccessToken,
    refresh: Option<RefreshToken>,
    username: String,
    scopes: Vec<String>,
    bound: bool,
    /// The access token's lifetime in seconds: the application's, or the function's.
    expires_in: u64,
}

/// What the person approved, as a code or a device authorization holds it.
pub(super) struct Approved {
    pub username: String,
    /// The user's generation and the application's token epoch at the approval: a
    /// change since makes the grant worthless.
    pub user_generation: u64,
    pub client_epoch: u64,
    pub scopes: Vec<String>,
}

/// The token endpoint's ports: the store (the client, the grant, the token), the clock,
/// and what DPoP and the token's write need.
pub(super) struct TokenEndpoint<'a, S, C, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub dpop: DpopCheck<'a, S, C, R>,
    pub issuance: Issuance<'a, S, R>,
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: GrantStore,
    C: Clock,
    R: Random,
{
    /// `endpoint`: the token endpoint's path the request came to.
    pub(super) async fn answer<B: AsRef<[u8]>>(&self, req: &Request<B>, endpoint: &str) -> Answer {
        let settings = self.issuance.settings;
        let refused = |e: &ApiError, client_id| refused(e, client_id, &settings.realm);
        let (client, grant) = match parse(req) {
            Ok(p) => p,
            Err(e) => return refused(&e, String::new()),
        };
        let client_id = client.client_id.clone();
        let issuer = issuer(settings.issuer.as_deref(), req);
        let proof = match self.dpop.read(req, issuer.as_deref(), endpoint, None).await {
            Ok(p) => p,
            Err(e) => return refused(&e, client_id),
        };
        let granted = match &grant {
            Grant::Code(g) => self.redeem(&client, g, proof.as_ref()).await,
            Grant::Refresh(g) => self.refresh(&client, g, proof.as_ref()).await,
            Grant::Device(g) => self.poll(&client, g, proof.as_ref()).await,
        };
        match granted {
            Ok(granted) => answer_of(granted, client_id),
            Err(e) => refused(&e, client_id),
        }
    }
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: GrantStore,
    C: Clock,
    R: Random,
{
    /// The client authenticated (`invalid_client`), its application's own rule for the
    /// grant (`allowed`), then DPoP as the application requires, the proof spent: a
    /// refused client writes nothing, and a replayed proof uses up no grant.
    async fn admitted(
        &self,
        client: &ClientCredentials,
        proof: Option<&Proof>,
        allowed: impl Fn(&Application) -> Result<(), ApiError>,
    ) -> Result<Application, ApiError> {
        let lookup = self.store.lookup(&client.client_id, None).await;
        let lookup = lookup.map_err(unavailable)?;
        authenticate(lookup.application.as_ref(), client)?;
        let app = lookup.application.expect("authenticated");
        allowed(&app)?;
        proof::required(app.require_dpop, proof)?;
        self.dpop.spend(proof).await?;
        Ok(app)
    }

    /// Issues `token` for what the person approved (the write held to the user's
    /// generation then), starting a refresh family when the application gets them. The
    /// outer error: no randomness; the inner: the write's, for the grant to explain.
    async fn issue(
        &self,
        app: &Application,
        approved: Approved,
        token: AccessToken,
        proof: Option<&Proof>,
        now_ms: u64,
    ) -> Result<Result<Granted, StoreError>, ApiError> {
        let user = Verified {
            username: approved.username.clone(),
            password_hash: None,
            generation: approved.user_generation,
            new_password_hash: None,
        };
        let jkt = proof.map(|p| p.jkt.as_str());
        let terms = TokenTerms {
            client: app,
            scopes: &approved.scopes,
            jkt,
        };
        let written = match app.refresh {
            None => {
                let written = self.issuance.write_token(&token, &user, terms, now_ms);
                written.await.map(|()| None)
            }
            Some(_) => {
                let grant = FamilyGrant {
                    username: approved.username.clone(),
                    client_id: app.client_id.clone(),
                    scopes: approved.scopes.clone(),
                    user_generation: approved.user_generation,
                    client_epoch: approved.client_epoch,
                    jkt: family_key(app, proof),
                };
                let started = self.start_family(&token, &user, terms, grant, now_ms);
                started.await?.map(Some)
            }
        };
        let token = token.issued_to(IssuedTo::new(&approved.username, &app.client_id));
        Ok(written.map(|refresh| Granted {
            token,
            refresh,
            username: approved.username,
            scopes: approved.scopes,
            bound: jkt.is_some(),
            expires_in: self.issuance.settings.lifetime_of(app).as_secs(),
        }))
    }

    /// The access token's write with a new family's. The outer error: no randomness.
    pub(super) async fn start_family(
        &self,
        token: &AccessToken,
        user: &Verified,
        terms: TokenTerms<'_>,
        grant: FamilyGrant,
        now_ms: u64,
    ) -> Result<Result<RefreshToken, StoreError>, ApiError> {
        let first = RefreshToken::start(self.issuance.random).map_err(refresh::no_randomness)?;
        let app_terms = terms.client.refresh.unwrap_or_default();
        let record = self.issuance.token_record(token, user, terms, now_ms);
        let issued = Issued {
            token_id: &record.token_id,
            expires_at: record.expires_at,
        };
        let family = started(&first, grant, &app_terms, issued, now_ms / 1000);
        let written = self
            .issuance
            .write_with_family(&record, user, &family, None);
        Ok(written.await.map(|()| first))
    }
}

/// Whether a grant's scopes are still the application's and the catalogue's as they are
/// now: an operator's edit since the person approved holds, as at a check.
fn still_allowed(scopes: &[String], app: &Application, catalogue: &BTreeSet<String>) -> bool {
    let ceiling = app.scope_ceiling.as_ref();
    let allowed = |s: &String| catalogue.contains(s) && ceiling.is_none_or(|c| c.contains(s));
    scopes.iter().all(allowed)
}

/// The key a new family is bound to: a public client's DPoP key, when it used one (RFC
/// 9449 §5); a confidential client proves itself at each refresh instead.
fn family_key(app: &Application, proof: Option<&Proof>) -> Option<String> {
    match app.secret_hash {
        None => proof.map(|p| p.jkt.clone()),
        Some(_) => None,
    }
}

/// The token response and its audit line; never a token in the line.
fn answer_of(granted: Granted, client_id: String) -> Answer {
    let exposed = granted.token.expose();
    let refresh = granted.refresh.as_ref().map(RefreshToken::expose);
    let issued = TokenResponse {
        token: &exposed,
        bound: granted.bound,
        expires_in: granted.expires_in,
    };
    Answer {
        response: response::token(issued, refresh.as_deref(), &granted.scopes),
        log: RequestLog {
            event: Event::TokenIssued,
            client_id,
            username: granted.username,
            scopes: granted.scopes.join(" "),
            token_id: granted.token.id().to_string(),
            ..RequestLog::default()
        },
    }
}

/// Checks 1-3: POST, a form, a supported grant type; the client's credentials in one of
/// the two places (never both); the grant's fields.
fn parse<B: AsRef<[u8]>>(req: &Request<B>) -> Result<(ClientCredentials, Grant), ApiError> {
    let form = request::read_form(req)?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| ApiError::invalid_request("grant_type is required"))?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(ApiError::UnsupportedGrantType);
    }
    let authorization = req.headers().get_all(header::AUTHORIZATION);
    let client = client_auth::parse(authorization.iter().map(|v| v.as_bytes()), &form)?;
    let required = |name: &str| {
        form.get(name)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid_request(format!("{name} is required")))
    };
    let grant = match grant_type {
        AUTHORIZATION_CODE => Grant::Code(code::CodeGrant {
            code: required("code")?,
            verifier: required("code_verifier")?,
            redirect_uri: form.get("redirect_uri").map(str::to_string),
        }),
        REFRESH_TOKEN => Grant::Refresh(refresh::RefreshGrant {
            refresh_token: required("refresh_token")?,
            scope: form.get("scope").map(str::to_string),
        }),
        DEVICE_CODE => Grant::Device(device::DeviceGrant {
            device_code: required("device_code")?,
        }),
        _ => return Err(ApiError::UnsupportedGrantType),
    };
    Ok((client, grant))
}
