//! The device code grant (`urn:ietf:params:oauth:grant-type:device_code`, RFC 8628 §3.4):
//! a tool polls with its device code until the person decided. Checks in order, after
//! the common ones: the client authenticated (`invalid_client`) and registered for the
//! grant (`unauthorized_client`); DPoP as the application requires; the poll, in time
//! across instances (`slow_down`) and for this client's code (`invalid_grant`); its expiry
//! (`expired_token`); the decision (`authorization_pending`, `access_denied`); the
//! application as it is now; then the token, once (`invalid_grant` after).

use std::collections::BTreeSet;

use super::{Approved, GrantStore, Granted, TokenEndpoint, still_allowed};
use crate::client_auth::ClientCredentials;
use crate::clock::Clock;
use crate::device::Decision;
use crate::dpop::Proof;
use crate::endpoints::unavailable;
use crate::error::ApiError;
use crate::random::Random;
use crate::secret;
use crate::store::{Application, DeviceAuthorization, Poll, StoreError};

/// The grant's field.
pub(super) struct DeviceGrant {
    pub device_code: String,
}

impl<S, C, R> TokenEndpoint<'_, S, C, R>
where
    S: GrantStore,
    C: Clock,
    R: Random,
{
    pub(super) async fn poll(
        &self,
        client: &ClientCredentials,
        x: &DeviceGrant,
        proof: Option<&Proof>,
    ) -> Result<Granted, ApiError> {
        let now_ms = self.clock.now_ms();
        let registered = |app: &Application| match app.device_grant {
            true => Ok(()),
            false => Err(ApiError::GrantNotAllowed("device grant")),
        };
        let app = &self.admitted(client, proof, registered).await?;
        let hash = secret::hash(&x.device_code);
        let polled = self
            .store
            .poll_device(&hash, &client.client_id, now_ms)
            .await;
        let device = match polled.map_err(unavailable)? {
            Poll::Unknown => {
                return Err(ApiError::InvalidGrant("the device code is unknown".into()));
            }
            Poll::TooSoon(_) => return Err(ApiError::SlowDown),
            Poll::InTime(device) => device,
        };
        let approved = decided(&device, app, &self.issuance.settings.scopes, now_ms / 1000)?;
        let token = self.issuance.new_token()?;
        let redeemed = self.store.redeem_device(&hash, token.id()).await;
        if !redeemed.map_err(unavailable)? {
            return Err(ApiError::InvalidGrant(
                "the device code was already used".into(),
            ));
        }
        match self.issue(app, approved, token, proof, now_ms).await? {
            Ok(granted) => Ok(granted),
            Err(StoreError::UserChanged) => Err(ApiError::InvalidGrant(
                "the user changed since the approval".into(),
            )),
            Err(StoreError::Conflict) => Err(ApiError::ServerError),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// What the person decided, as it holds now: expired, pending, denied, or approved for
/// the application as it still is (its token epoch, its scopes).
fn decided(
    device: &DeviceAuthorization,
    app: &Application,
    catalogue: &BTreeSet<String>,
    now_secs: u64,
) -> Result<Approved, ApiError> {
    if device.token_id.is_some() {
        return Err(ApiError::InvalidGrant(
            "the device code was already used".into(),
        ));
    }
    if device.expires_at <= now_secs {
        return Err(ApiError::ExpiredToken);
    }
    let (username, user_generation, client_epoch) = match &device.decision {
        None => return Err(ApiError::AuthorizationPending),
        Some(Decision::Denied) => return Err(ApiError::DeviceDenied),
        Some(Decision::Approved {
            username,
            user_generation,
            client_epoch,
        }) => (username, *user_generation, *client_epoch),
    };
    if client_epoch != app.token_epoch {
        return Err(ApiError::InvalidGrant(
            "the application's tokens were revoked since the approval".into(),
        ));
    }
    if !still_allowed(&device.scopes, app, catalogue) {
        return Err(ApiError::InvalidGrant(
            "the approved scopes are no longer the application's".into(),
        ));
    }
    Ok(Approved {
        username: username.clone(),
        user_generation,
        client_epoch,
        scopes: device.scopes.clone(),
    })
}
