//! DPoP at the endpoints that issue tokens (RFC 9449 §5): the request's proof checked
//! against the URL the client addressed (the issuer and the endpoint's path), its `jti`
//! spent once across every instance once the request is authenticated, and the server's
//! nonce asked for when configured (a MAC, checked with no read).

use http::Request;
use tracing::warn;

use super::{endpoint_url, unavailable};
use crate::clock::Clock;
use crate::config::DpopSettings;
use crate::dpop::{self, Expected, Proof, ProofError};
use crate::error::ApiError;
use crate::random::Random;
use crate::store::OneTimeValues;

/// The DPoP nonces' secret, asked of the store once per instance, then held.
pub(super) type NonceSecret = tokio::sync::OnceCell<[u8; 32]>;

/// The proof checks' ports: the one-time values (spent `jti`s, the nonces' secret), the
/// clock, and randomness for a secret no instance has made yet.
pub(super) struct DpopCheck<'a, S, C, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub random: &'a R,
    pub settings: &'a DpopSettings,
    pub secret: &'a NonceSecret,
}

impl<S, C, R> Clone for DpopCheck<'_, S, C, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, C, R> Copy for DpopCheck<'_, S, C, R> {}

impl<S: OneTimeValues, C: Clock, R: Random> DpopCheck<'_, S, C, R> {
    /// The request's proof by every check but the replay guard's, which write nothing, so
    /// they come first; `None` without one. `issuer`: the URL the endpoints hang off;
    /// `endpoint`: the path the client addressed after it (`/oauth/token`); `requested`:
    /// the `dpop_jkt` the request names, whose key the proof must be by.
    pub(super) async fn read<B>(
        &self,
        req: &Request<B>,
        issuer: Option<&str>,
        endpoint: &str,
        requested: Option<&str>,
    ) -> Result<Option<Proof>, ApiError> {
        let proof = self.check_proof(req, issuer, endpoint, requested)?;
        self.check_nonce(proof.as_ref()).await?;
        Ok(proof)
    }

    /// The proof's own checks (RFC 9449 §4.3), against this request.
    fn check_proof<B>(
        &self,
        req: &Request<B>,
        issuer: Option<&str>,
        endpoint: &str,
        requested: Option<&str>,
    ) -> Result<Option<Proof>, ApiError> {
        let values = req.headers().get_all(dpop::HEADER);
        let refused = ApiError::InvalidDpopProof;
        let Some(value) =
            dpop::header_value(values.iter().map(|v| v.as_bytes())).map_err(refused)?
        else {
            return Ok(None);
        };
        let Some(issuer) = issuer else {
            return Err(ApiError::invalid_request(
                "the request names no host to check the DPoP proof's htu against",
            ));
        };
        let url = endpoint_url(issuer, endpoint);
        let expected = Expected {
            method: req.method().as_str(),
            url: &url,
            now_secs: self.clock.now_ms() / 1000,
            window_secs: self.settings.window.as_secs(),
            access_token: None,
        };
        let proof = dpop::check(value, &expected).map_err(refused)?;
        dpop::by_requested_key(&proof, requested).map_err(refused)?;
        Ok(Some(proof))
    }

    /// The server's nonce, when nonces are asked for (§8): checked with the shared secret,
    /// so it reads nothing but the secret (once per instance) and a refusal writes nothing.
    async fn check_nonce(&self, proof: Option<&Proof>) -> Result<(), ApiError> {
        let (Some(proof), Some(lifetime)) = (proof, self.settings.nonce_lifetime) else {
            return Ok(());
        };
        let now_secs = self.clock.now_ms() / 1000;
        let secret = self.nonce_secret().await?;
        let lifetime = lifetime.as_secs();
        let current = proof
            .nonce
            .as_deref()
            .is_some_and(|n| dpop::nonce::is_current(n, &secret, now_secs, lifetime));
        if current {
            Ok(())
        } else {
            let nonce = dpop::nonce::current(&secret, now_secs, lifetime);
            Err(ApiError::UseDpopNonce { nonce })
        }
    }

    /// The replay guard's one conditional write, once the request is authenticated (never
    /// before: a refused request writes nothing).
    pub(super) async fn spend(&self, proof: Option<&Proof>) -> Result<(), ApiError> {
        let Some(proof) = proof else { return Ok(()) };
        let now_secs = self.clock.now_ms() / 1000;
        let first = self
            .store
            .first_use(&proof.replay_key, proof.keep_until, now_secs)
            .await
            .map_err(unavailable)?;
        if first {
            Ok(())
        } else {
            Err(ApiError::InvalidDpopProof(ProofError::Replayed))
        }
    }

    async fn nonce_secret(&self) -> Result<[u8; 32], ApiError> {
        let ask = async {
            let mut fresh = [0u8; 32];
            self.random.fill(&mut fresh).map_err(|e| {
                warn!(error = %e, "no randomness");
                ApiError::ServerError
            })?;
            self.store.nonce_secret(fresh).await.map_err(unavailable)
        };
        self.secret.get_or_try_init(|| ask).await.copied()
    }
}

/// An application that requires DPoP gets no token without a proof.
pub(super) fn required(require_dpop: bool, proof: Option<&Proof>) -> Result<(), ApiError> {
    if require_dpop && proof.is_none() {
        return Err(ApiError::InvalidDpopProof(ProofError::Missing));
    }
    Ok(())
}
