//! Authorization codes: the record, and the port that writes and redeems them.

use std::future::Future;

use super::StoreError;

/// An authorization code as stored: never the code, only its hash, with everything it was
/// issued for. Lives `DIRECT_OAUTH_CODE_LIFETIME_SECONDS` (the table's TTL removes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// SHA-256 of the code: the key.
    pub code_hash: [u8; 32],
    pub client_id: String,
    /// Where the code was sent.
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (then the exchange must
    /// name the same one, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub scopes: Vec<String>,
    pub username: String,
    /// The user's generation at the login: a change since (disabled, reset, tokens
    /// revoked) makes the code worthless.
    pub user_generation: u64,
    /// The application's token epoch at the login: `token revoke --client` since makes the
    /// code worthless.
    pub client_epoch: u64,
    /// The PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: String,
    /// The DPoP key the code is bound to (RFC 9449 §10): the approval's proof's, or its
    /// `dpop_jkt`. Only an exchange with a proof by that key redeems it.
    pub jkt: Option<String>,
    /// Seconds since the epoch; the table's TTL attribute.
    pub expires_at: u64,
    /// Set by the exchange that redeemed it, with the id of the token it issued.
    pub used_at: Option<u64>,
    pub token_id: Option<String>,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Redeemed now, by this exchange: the record as it was issued.
    Redeemed(CodeRecord),
    /// Redeemed before: a replay. The record names the token issued then.
    Replayed(CodeRecord),
    /// No such code, expired, or issued to another client, for another verifier, or bound
    /// to another DPoP key.
    Refused,
}

/// What an exchange presents for a code: the code's hash, its client, the PKCE challenge
/// its verifier makes, and the key of its DPoP proof, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeClaim<'a> {
    pub code_hash: &'a [u8; 32],
    pub client_id: &'a str,
    pub code_challenge: &'a str,
    pub jkt: Option<&'a str>,
}

impl CodeClaim<'_> {
    /// Whether the claim's client, verifier and key are the code's: a used code met so is
    /// a replay (or this exchange's own retried write), never a stranger's guess. Without
    /// the key a bound code's holder cannot have its token revoked as a replay.
    pub fn owns(&self, code: &CodeRecord) -> bool {
        code.client_id == self.client_id
            && code.code_challenge == self.code_challenge
            && self.has_key_for(code)
    }

    /// Whether the claim's proof satisfies the code's binding: an unbound code takes any
    /// exchange (its token is bound to the exchange's proof, if any).
    pub fn has_key_for(&self, code: &CodeRecord) -> bool {
        code.jkt.is_none() || code.jkt.as_deref() == self.jkt
    }
}

/// Authorization codes: written once, redeemed once.
pub trait CodeStore: Send + Sync {
    /// Writes a new code; [`StoreError::Conflict`] if its hash exists already.
    fn put_code(&self, code: &CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Redeems a code in one conditional write: only an unused, unexpired code that
    /// `claim` matches is marked used (with `token_id`, the token about to be issued), so
    /// of two simultaneous exchanges one wins. A code presented with the wrong client,
    /// verifier or key stays unused; only the code's own client, verifier and key can have
    /// its token revoked as a replay.
    fn redeem_code(
        &self,
        claim: &CodeClaim<'_>,
        token_id: &str,
        now_secs: u64,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;
}

/// What a redemption that met a used code (its client and challenge right) means: this
/// exchange's own redemption, whose answer was lost and retried, or a replay.
pub fn used_code(code: CodeRecord, token_id: &str) -> Redemption {
    if code.token_id.as_deref() == Some(token_id) {
        Redemption::Redeemed(code)
    } else {
        Redemption::Replayed(code)
    }
}
