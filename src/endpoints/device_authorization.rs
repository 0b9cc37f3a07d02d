//! `POST /oauth/device_authorization` (RFC 8628 §3.1-3.2): a tool without a browser asks
//! for a device code and a user code. Checks in order: POST with a form; the client's
//! credentials (`invalid_client`); an application registered for the device grant
//! (`unauthorized_client`); the scopes (`invalid_scope`); then one write of the
//! authorization, nothing before.

use http::{Request, StatusCode, header};
use serde_json::json;

use super::unavailable;
use super::{Answer, ClientAddress, Event, RequestLog, Settings, endpoint_url, issuer, refused};
use crate::client_auth::{self, authenticate};
use crate::clock::Clock;
use crate::device::{self, INTERVAL, LIFETIME};
use crate::error::{ApiError, RedirectError};
use crate::random::Random;
use crate::scope::{self, ScopePolicy};
use crate::store::{DeviceAuthorization, DeviceStore, LookupReader, StoreError};
use crate::{request, response, secret};

/// Its path after the issuer's.
pub(super) const PATH: &str = "/oauth/device_authorization";
/// The verification page's path: the person's page where a user code is entered.
pub(super) const VERIFICATION_PATH: &str = "/oauth/device";
/// The longest `User-Agent` kept for the person to see.
const USER_AGENT_CHARS: usize = 120;

/// The endpoint's ports.
pub(super) struct DeviceAuthorizationEndpoint<'a, S, C, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub random: &'a R,
    pub settings: &'a Settings,
}

impl<S, C, R> DeviceAuthorizationEndpoint<'_, S, C, R>
where
    S: LookupReader + DeviceStore,
    C: Clock,
    R: Random,
{
    pub(super) async fn answer<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let realm = &self.settings.realm;
        match self.authorize(req).await {
            Ok((issuer, device, device_code)) => answer_of(&issuer, &device, &device_code),
            Err((e, client_id)) => refused(&e, client_id, realm),
        }
    }

    async fn authorize<B: AsRef<[u8]>>(
        &self,
        req: &Request<B>,
    ) -> Result<(String, DeviceAuthorization, String), (ApiError, String)> {
        let form = request::read_form(req).map_err(|e| (e, String::new()))?;
        let authorization = req.headers().get_all(header::AUTHORIZATION);
        let client = client_auth::parse(authorization.iter().map(|v| v.as_bytes()), &form);
        let client = client.map_err(|e| (e, String::new()))?;
        let with_client = |e| (e, client.client_id.clone());
        let issuer = issuer(self.settings.issuer.as_deref(), req).ok_or_else(|| {
            with_client(ApiError::invalid_request(
                "the request names no host to call the issuer",
            ))
        })?;
        let lookup = self.store.lookup(&client.client_id, None).await;
        let lookup = lookup.map_err(|e| with_client(unavailable(e)))?;
        let app = authenticate(lookup.application.as_ref(), &client).map_err(with_client)?;
        if !app.device_grant {
            return Err(with_client(ApiError::GrantNotAllowed("device grant")));
        }
        let policy = ScopePolicy {
            catalogue: &self.settings.scopes,
            ceiling: app.scope_ceiling.as_ref(),
            // Who approves is not known yet: `super:user` is checked at the approval.
            superuser: true,
        };
        let scopes = scope::grant(form.get("scope"), &policy).map_err(|e| match e {
            RedirectError::InvalidScope(why) => with_client(ApiError::InvalidScope(why)),
            other => with_client(ApiError::invalid_request(other.to_string())),
        })?;
        let now_ms = self.clock.now_ms();
        let from = req.extensions().get::<ClientAddress>().map(|a| a.0.clone());
        let agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let terms = Terms {
            client_id: &client.client_id,
            scopes,
            requested_from: from.unwrap_or_default(),
            user_agent: agent
                .unwrap_or_default()
                .chars()
                .take(USER_AGENT_CHARS)
                .collect(),
        };
        let (device, device_code) = self.write(terms, now_ms).await.map_err(with_client)?;
        Ok((issuer, device, device_code))
    }

    /// Writes the authorization under fresh codes; new ones if either is taken.
    async fn write(
        &self,
        terms: Terms<'_>,
        now_ms: u64,
    ) -> Result<(DeviceAuthorization, String), ApiError> {
        let no_randomness = |_| ApiError::ServerError;
        for _ in 0..3 {
            let device_code = secret::generate(self.random).map_err(no_randomness)?;
            let now_secs = now_ms / 1000;
            let device = DeviceAuthorization {
                device_hash: secret::hash(&device_code),
                user_code: device::new_user_code(self.random).map_err(no_randomness)?,
                client_id: terms.client_id.to_string(),
                scopes: terms.scopes.clone(),
                requested_from: terms.requested_from.clone(),
                user_agent: terms.user_agent.clone(),
                created_at: now_secs,
                expires_at: now_secs + LIFETIME.as_secs(),
                interval_secs: INTERVAL.as_secs(),
                next_poll_ms: now_ms + INTERVAL.as_millis() as u64,
                decision: None,
                token_id: None,
            };
            match self.store.put_device(&device).await {
                Ok(()) => return Ok((device, device_code)),
                Err(StoreError::Conflict) => tracing::warn!("user code taken; drawing another"),
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ApiError::ServerError)
    }
}

/// What the authorization is for, before its codes are drawn.
struct Terms<'a> {
    client_id: &'a str,
    scopes: Vec<String>,
    requested_from: String,
    user_agent: String,
}

/// RFC 8628 §3.2's answer; never a code in the log line.
fn answer_of(issuer: &str, device: &DeviceAuthorization, device_code: &str) -> Answer {
    let verification_uri = endpoint_url(issuer, VERIFICATION_PATH);
    let shown = device::display(&device.user_code);
    let complete = format!("{verification_uri}?user_code={shown}");
    let body = json!({
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": device.expires_at - device.created_at,
        "interval": device.interval_secs,
    });
    Answer {
        response: response::json(StatusCode::OK, &body),
        log: RequestLog {
            event: Event::DeviceAuthorized,
            client_id: device.client_id.clone(),
            scopes: device.scopes.join(" "),
            ..RequestLog::default()
        },
    }
}
