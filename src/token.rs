//! Access tokens: `<id><secret>`, base64url only, so they survive fragments and form
//! decoding untouched (contract "Tokens").
//!
//! The id (128 bits) is the public lookup key; only SHA-256 of the secret (256 bits) is
//! stored. A fast hash is enough: the secret is random, not a password.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::{Random, RandomError};

pub const ID_BYTES: usize = 16;
pub const SECRET_BYTES: usize = 32;
/// Characters of the encoded id and secret (unpadded base64url).
pub const ID_LEN: usize = 22;
pub const SECRET_LEN: usize = 43;
pub const TOKEN_LEN: usize = ID_LEN + SECRET_LEN;

/// A freshly generated token. `Debug` shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    id: String,
    secret: String,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl AccessToken {
    pub fn generate(random: &impl Random) -> Result<Self, RandomError> {
        let mut id = [0u8; ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        random.fill(&mut id)?;
        random.fill(&mut secret)?;
        Ok(AccessToken {
            id: URL_SAFE_NO_PAD.encode(id),
            secret: URL_SAFE_NO_PAD.encode(secret),
        })
    }

    /// Splits a presented token into id and secret; `None` if it cannot be one of ours.
    pub fn parse(token: &str) -> Option<Self> {
        let ok = token.len() == TOKEN_LEN
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| AccessToken {
            id: token[..ID_LEN].to_string(),
            secret: token[ID_LEN..].to_string(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The whole token, for the client only: never log it.
    pub fn expose(&self) -> String {
        format!("{}{}", self.id, self.secret)
    }

    pub fn secret_hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    /// Compares with a stored hash in constant time.
    pub fn secret_matches(&self, stored_hash: &[u8]) -> bool {
        self.secret_hash().ct_eq(stored_hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{CountingRandom, OsRandom};

    #[test]
    fn tokens_are_base64url_and_long_enough() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let s = t.expose();
        assert_eq!(s.len(), TOKEN_LEN);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>(),
            s
        );
        assert_ne!(AccessToken::generate(&OsRandom).unwrap(), t);
    }

    #[test]
    fn round_trips_and_verifies_its_secret() {
        let t = AccessToken::generate(&CountingRandom::default()).unwrap();
        let back = AccessToken::parse(&t.expose()).unwrap();
        assert_eq!(back.id(), t.id());
        assert!(back.secret_matches(&t.secret_hash()));
        let mut other = t.expose();
        other.replace_range(TOKEN_LEN - 1.., "A");
        let other = AccessToken::parse(&other).unwrap();
        assert!(!other.secret_matches(&t.secret_hash()) || t.expose().ends_with('A'));
    }

    #[test]
    fn parse_refuses_what_we_never_issue() {
        let t = AccessToken::generate(&OsRandom).unwrap().expose();
        assert!(AccessToken::parse(&t[1..]).is_none());
        assert!(AccessToken::parse(&format!("{t}A")).is_none());
        assert!(AccessToken::parse(&t.replace(|_| true, ".")).is_none());
        assert!(AccessToken::parse("").is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains(t.id()));
        assert!(!shown.contains(&t.expose()[ID_LEN..]));
    }
}
