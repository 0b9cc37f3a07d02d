//! PKCE (RFC 7636) with S256 only: `plain` sends the verifier itself through the browser
//! and adds nothing over no PKCE, so OAuth 2.1 and RFC 9700 drop it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The one method accepted.
pub const S256: &str = "S256";

/// RFC 7636 §4.1's unreserved characters.
fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The challenge of an authorization request with `response_type=code`: required, S256,
/// 43 base64url characters (a SHA-256). `Err` is the redirect error's description.
pub fn challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, String> {
    let Some(challenge) = challenge else {
        return Err("code_challenge is required (PKCE, S256)".into());
    };
    if method != Some(S256) {
        return Err("code_challenge_method must be S256".into());
    }
    let decodes = URL_SAFE_NO_PAD
        .decode(challenge)
        .is_ok_and(|b| b.len() == 32);
    if challenge.len() != 43 || !decodes {
        return Err("code_challenge must be the base64url SHA-256 of the verifier".into());
    }
    Ok(challenge.to_string())
}

/// The S256 challenge of a token request's `code_verifier`; `None` when the verifier
/// breaks RFC 7636 §4.1 (43-128 unreserved characters).
pub fn challenge_of(verifier: &str) -> Option<String> {
    let ok = (43..=128).contains(&verifier.len()) && unreserved(verifier);
    ok.then(|| URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_base64url_of_sha256() {
        // Computed apart: Python's base64.urlsafe_b64encode(hashlib.sha256(v).digest()).
        let verifier = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let expected = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
        assert_eq!(challenge_of(verifier).as_deref(), Some(expected));
        assert_eq!(challenge(Some(expected), Some("S256")).unwrap(), expected);
    }

    #[test]
    fn plain_missing_and_malformed_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(challenge(None, Some("S256")).is_err());
        assert!(
            challenge(Some(c), None).is_err(),
            "the default method is plain"
        );
        assert!(challenge(Some(c), Some("plain")).is_err());
        assert!(challenge(Some("short"), Some("S256")).is_err());
        // The right length, but standard base64 ('+', '/') or padding: not base64url.
        for wrong in [
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
        ] {
            assert_eq!(wrong.len(), 43);
            assert!(challenge(Some(wrong), Some("S256")).is_err(), "{wrong}");
        }
        // Base64url of 32 bytes, but padded to 44 characters.
        assert!(challenge(Some(&format!("{c}=")), Some("S256")).is_err());
        // The boundaries of the verifier's length: 43 and 128 are allowed.
        assert!(challenge_of(&"a".repeat(43)).is_some());
        assert!(challenge_of(&"a".repeat(128)).is_some());
        assert!(challenge_of(&"a".repeat(42)).is_none());
        assert!(challenge_of("too-short").is_none());
        assert!(challenge_of(&"a".repeat(129)).is_none());
        assert!(challenge_of(&format!("{}!", "a".repeat(50))).is_none());
    }
}
