//! DPoP at the endpoints that issue tokens (RFC 9449 §5): the request's proof checked
//! against the URL the client addressed (the issuer and the endpoint's path), its `jti`
//! spent once across every instance, and the server's nonce asked for when configured.

use http::Request;
use tracing::warn;

use super::{Deps, Flow, unavailable};
use crate::clock::Clock;
use crate::dpop::{self, Expected, Proof, ProofError};
use crate::error::ApiError;
use crate::random::Random;
use crate::store::OneTimeValues;

/// A nonce's random bytes: 128 bits, so nobody guesses a current one.
const NONCE_BYTES: usize = 16;

impl<D: Deps> Flow<D> {
    /// The request's proof, by every check that needs no store; `None` without one.
    /// `endpoint` is the path the client addressed after the issuer's (`/oauth/token`);
    /// `requested`, the `dpop_jkt` the request names, whose key the proof must be by.
    pub(super) fn read_proof<B>(
        &self,
        req: &Request<B>,
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
        let Some(issuer) = self.issuer(req) else {
            return Err(ApiError::invalid_request(
                "the request names no host to check the DPoP proof's htu against",
            ));
        };
        let url = format!("{}{endpoint}", issuer.trim_end_matches('/'));
        let expected = Expected {
            method: req.method().as_str(),
            url: &url,
            now_secs: self.clock.now_ms() / 1000,
            window_secs: self.settings.dpop.window.as_secs(),
            access_token: None,
        };
        let proof = dpop::check(value, &expected).map_err(refused)?;
        dpop::by_requested_key(&proof, requested).map_err(refused)?;
        Ok(Some(proof))
    }

    /// The checks that need the store, run beside the request's reads: the nonce (when
    /// nonces are asked for), then the replay guard's one conditional write.
    pub(super) async fn spend(&self, proof: Option<&Proof>) -> Result<(), ApiError> {
        let Some(proof) = proof else { return Ok(()) };
        let now_secs = self.clock.now_ms() / 1000;
        if let Some(lifetime) = self.settings.dpop.nonce_lifetime {
            let current = match &proof.nonce {
                Some(nonce) => self.store.nonce_is_current(nonce, now_secs).await,
                None => Ok(false),
            };
            if !current.map_err(unavailable)? {
                let nonce = self.new_nonce()?;
                let until = now_secs + lifetime.as_secs();
                self.store
                    .put_nonce(&nonce, until)
                    .await
                    .map_err(unavailable)?;
                return Err(ApiError::UseDpopNonce { nonce });
            }
        }
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

    fn new_nonce(&self) -> Result<String, ApiError> {
        use base64::Engine;
        let mut bytes = [0u8; NONCE_BYTES];
        self.random.fill(&mut bytes).map_err(|e| {
            warn!(error = %e, "no randomness");
            ApiError::ServerError
        })?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// The request's DPoP proof, and what spending it (its nonce, its `jti`) found.
pub(super) struct Spent<'a> {
    pub proof: Option<&'a Proof>,
    pub spent: Result<(), ApiError>,
}

impl<'a> Spent<'a> {
    /// The proof, once required where `require` says and spent; else the refusal.
    pub(super) fn settle(self, require: bool) -> Result<Option<&'a Proof>, ApiError> {
        required(require, self.proof)?;
        self.spent.map(|()| self.proof)
    }
}

/// An application that requires DPoP gets no token without a proof.
pub(super) fn required(require_dpop: bool, proof: Option<&Proof>) -> Result<(), ApiError> {
    if require_dpop && proof.is_none() {
        return Err(ApiError::InvalidDpopProof(ProofError::Missing));
    }
    Ok(())
}
