//! DPoP proofs (RFC 9449): a client signs a short JWT for each request with a key it
//! holds, and a token issued with a proof is bound to that key's thumbprint (`cnf.jkt`,
//! RFC 7638), so a token copied out of a redirect URL is useless without the key.
//!
//! This module checks one proof against one request, as §4.3 lists the checks, with no
//! I/O: whether its `jti` was seen before, and whether its nonce is one the server gave,
//! are the store's to answer (`crate::store::OneTimeValues`). The JOSE work (the header's
//! JWK, the signature, the thumbprint) is `jsonwebtoken`'s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The request header that carries a proof.
pub const HEADER: &str = "dpop";
/// The response header that carries a server nonce (§8).
pub const NONCE_HEADER: &str = "dpop-nonce";
/// The `Authorization` scheme of a bound token (§7.1).
pub const SCHEME: &str = "DPoP";
/// The proof's `typ` (§4.2).
const TYP: &str = "dpop+jwt";

/// The signature algorithms a proof may use: asymmetric only (§4.3 item 5), never `none`
/// or HMAC. Discovery announces these names (`dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [(&str, Algorithm); 7] = [
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
    ("RS256", Algorithm::RS256),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
];

/// A JWK's members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2,
/// §6.4.1; RFC 8037 §2): a header naming any of them is refused (§4.3 item 6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Longest `jti` kept: a random id needs far less, and the replay guard stores its hash.
const MAX_JTI_BYTES: usize = 256;
/// Longest proof read at all (a proof with a 4096-bit RSA key is about 1.5 KB).
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Why a proof was refused. Each is answered `invalid_dpop_proof` with this description,
/// which never quotes the proof (a missing or stale nonce is `ApiError::UseDpopNonce`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error("a DPoP proof is required")]
    Missing,
    #[error("exactly one DPoP header is allowed")]
    Several,
    #[error("the DPoP proof is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    #[error("the DPoP proof's typ must be dpop+jwt")]
    WrongType,
    #[error("the DPoP proof's alg must be an asymmetric algorithm the server supports")]
    WrongAlgorithm,
    #[error("the DPoP proof's jwk must be a public key")]
    NotAPublicKey,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    BadSignature,
    #[error("the DPoP proof's htm is not this request's method")]
    WrongMethod,
    #[error("the DPoP proof's htu is not this request's URL")]
    WrongUrl,
    #[error("the DPoP proof's iat is outside the accepted window")]
    OutOfWindow,
    #[error("the DPoP proof must carry ath, the hash of the access token")]
    MissingAth,
    #[error("the DPoP proof's ath is not the hash of this access token")]
    WrongAth,
    #[error("the DPoP proof was already used")]
    Replayed,
    #[error("the DPoP proof's key is not the dpop_jkt the request names")]
    NotRequestedKey,
}

/// What the request says a proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's method, as the client sent it.
    pub method: &'a str,
    /// The URL the client addressed (scheme, host, path); query and fragment are ignored.
    pub url: &'a str,
    pub now_secs: u64,
    /// How far `iat` may be from now, either way.
    pub window_secs: u64,
    /// The access token presented with the proof, at a resource (`ath` is then required).
    pub access_token: Option<&'a str>,
}

/// A proof whose every check that needs no store passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The key's RFC 7638 SHA-256 thumbprint (base64url): a bound token's `cnf.jkt`.
    pub jkt: String,
    /// The replay guard's key: SHA-256 of the proof's `htu` and `jti`.
    pub replay_key: [u8; 32],
    /// When the guard may forget the proof: from then on its `iat` is out of the window.
    pub keep_until: u64,
    /// The nonce it carries, for the store to judge when nonces are required.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The one `DPoP` value of a request: `None` without one; two values (or one that API
/// Gateway joined from two with a comma, which no JWT holds) are refused.
pub fn header_value<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<&'a str>, ProofError> {
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || first.contains(&b',') {
        return Err(ProofError::Several);
    }
    let value = std::str::from_utf8(first).map_err(|_| ProofError::Malformed("not ASCII"))?;
    Ok(Some(value.trim()))
}

/// Checks one proof against the request (§4.3 items 1-11, except the replay and nonce
/// checks, which need the store).
pub fn check(proof: &str, expected: &Expected<'_>) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed("too long"));
    }
    let (header, jwk) = read_header(proof)?;
    let algorithm = ALGORITHMS
        .iter()
        .find(|(_, a)| *a == header.alg)
        .map(|(_, a)| *a)
        .ok_or(ProofError::WrongAlgorithm)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofError::NotAPublicKey)?;
    let mut validation = Validation::new(algorithm);
    // A proof is no access token: none of RFC 7519's registered claims are asked for.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => {
                ProofError::Malformed("claims jti, htm, htu and iat are required")
            }
            _ => ProofError::BadSignature,
        })?
        .claims;
    if claims.htm != expected.method {
        return Err(ProofError::WrongMethod);
    }
    if !same_url(&claims.htu, expected.url) {
        return Err(ProofError::WrongUrl);
    }
    let now = expected.now_secs;
    if claims.iat.abs_diff(now) > expected.window_secs {
        return Err(ProofError::OutOfWindow);
    }
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_BYTES {
        return Err(ProofError::Malformed("jti must be 1-256 bytes"));
    }
    if let Some(token) = expected.access_token {
        let ath = claims.ath.as_deref().ok_or(ProofError::MissingAth)?;
        if ath != token_hash(token) {
            return Err(ProofError::WrongAth);
        }
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| ProofError::NotAPublicKey)?;
    Ok(Proof {
        jkt,
        replay_key: replay_key(&claims.htu, &claims.jti),
        // Accepted up to and including `iat + window`: the guard keeps the use one second
        // past that, since a stored use counts only while its time is still ahead.
        keep_until: claims
            .iat
            .saturating_add(expected.window_secs)
            .saturating_add(1),
        nonce: claims.nonce,
    })
}

/// The server nonces of §8, with no store: a nonce names a time window (`lifetime`
/// seconds long) and carries a MAC of it by a secret every instance shares, so checking
/// one reads nothing and a refusal writes nothing. A nonce is current in its own window
/// and the next (between `lifetime` and twice that), so one handed out just before a
/// window ends still works.
pub mod nonce {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    /// The window's number (8 bytes) and the MAC's first 16 bytes: 24 bytes, 32 characters.
    const MAC_BYTES: usize = 16;
    const NONCE_CHARS: usize = 32;

    /// The MAC of a window's number, not yet finalised.
    fn keyed(secret: &[u8; 32], window: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
        mac.update(b"dpop-nonce\0");
        mac.update(&window.to_be_bytes());
        mac
    }

    /// The nonce to hand out now.
    pub fn current(secret: &[u8; 32], now_secs: u64, lifetime_secs: u64) -> String {
        let window = now_secs / lifetime_secs.max(1);
        let mut bytes = window.to_be_bytes().to_vec();
        bytes.extend_from_slice(&keyed(secret, window).finalize().into_bytes()[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` is one this server handed out in this window or the last.
    pub fn is_current(nonce: &str, secret: &[u8; 32], now_secs: u64, lifetime_secs: u64) -> bool {
        if nonce.len() != NONCE_CHARS {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let (window, given) = bytes.split_at(8);
        let window = u64::from_be_bytes(window.try_into().expect("8 bytes"));
        let now = now_secs / lifetime_secs.max(1);
        let in_time = window == now || window.checked_add(1) == Some(now);
        in_time && keyed(secret, window).verify_truncated_left(given).is_ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const SECRET: [u8; 32] = [7; 32];

        #[test]
        fn a_nonce_is_current_in_its_window_and_the_next_only() {
            let n = current(&SECRET, 1_000, 60);
            assert_eq!(n.len(), NONCE_CHARS);
            assert!(is_current(&n, &SECRET, 1_000, 60));
            assert!(is_current(&n, &SECRET, 1_079, 60), "the next window");
            assert!(!is_current(&n, &SECRET, 1_080, 60), "two windows on");
            assert!(!is_current(&n, &SECRET, 959, 60), "before it was made");
            assert!(!is_current(&n, &[8; 32], 1_000, 60), "another secret's");
        }

        #[test]
        fn anything_else_is_not_current_and_no_length_is_trouble() {
            let n = current(&SECRET, 1_000, 60);
            let mut changed = n.clone().into_bytes();
            changed[31] = if changed[31] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap();
            for other in [String::new(), "x".repeat(3000), changed, format!("{n}=")] {
                assert!(!is_current(&other, &SECRET, 1_000, 60), "{other:.40}");
            }
        }
    }
}

/// Whether `value` can be a `dpop_jkt` (§10): an RFC 7638 SHA-256 thumbprint, base64url
/// without padding.
pub fn is_thumbprint(value: &str) -> bool {
    value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok_and(|b| b.len() == 32)
}

/// A request that names `dpop_jkt` and carries a proof as well: the proof must be by the
/// key it names (§10.1), so what is issued has one key.
pub fn by_requested_key(proof: &Proof, requested: Option<&str>) -> Result<(), ProofError> {
    match requested {
        Some(jkt) if jkt != proof.jkt => Err(ProofError::NotRequestedKey),
        _ => Ok(()),
    }
}

/// `ath` (§4.2): base64url SHA-256 of the access token's ASCII.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The header, and its public key. The raw JSON is read as well as the typed header,
/// since a typed JWK silently drops the private members this must refuse.
fn read_header(proof: &str) -> Result<(Header, Jwk), ProofError> {
    let mut parts = proof.split('.');
    let (Some(encoded), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed("not three base64url parts"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| ProofError::Malformed("the header is not base64url"))?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| ProofError::Malformed("the header is not JSON"))?;
    if raw.get("typ").and_then(|t| t.as_str()) != Some(TYP) {
        return Err(ProofError::WrongType);
    }
    let alg = raw.get("alg").and_then(|a| a.as_str()).unwrap_or_default();
    if !ALGORITHMS.iter().any(|(name, _)| *name == alg) {
        return Err(ProofError::WrongAlgorithm);
    }
    // RFC 7515 §4.1.11: extensions the server does not know must not be ignored.
    if raw.get("crit").is_some() {
        return Err(ProofError::Malformed("crit is not supported"));
    }
    let raw_jwk = raw.get("jwk").and_then(|j| j.as_object());
    let raw_jwk = raw_jwk.ok_or(ProofError::NotAPublicKey)?;
    if PRIVATE_MEMBERS.iter().any(|m| raw_jwk.contains_key(*m)) {
        return Err(ProofError::NotAPublicKey);
    }
    let header: Header = serde_json::from_value(raw)
        .map_err(|_| ProofError::Malformed("the header's members are not as RFC 7515 says"))?;
    let jwk = header.jwk.clone().ok_or(ProofError::NotAPublicKey)?;
    Ok((header, jwk))
}

/// `htu` against the URL the client addressed: scheme, host, port and path, after RFC
/// 3986's syntax-based normalisation (case of scheme and host, default ports, percent
/// encoding, dot segments), which `url` applies when parsing; query and fragment ignored.
fn same_url(htu: &str, expected: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

fn replay_key(htu: &str, jti: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"dpop-jti\0");
    hash.update(htu.as_bytes());
    hash.update(b"\0");
    hash.update(jti.as_bytes());
    hash.finalize().into()
}

#[cfg(test)]
mod tests;
