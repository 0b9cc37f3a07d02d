//! Random one-time values that are stored only as SHA-256: authorization codes and client
//! secrets. 256 random bits each, so a fast hash is enough (no password hashing).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::{Random, RandomError};

/// A fresh value: 32 random bytes as 43 base64url characters.
pub fn generate(random: &impl Random) -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Lowercase hex, as the stores key hashes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `presented` hashes to `stored`, in constant time.
pub fn matches(presented: &str, stored: &[u8; 32]) -> bool {
    hash(presented).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn values_are_long_random_and_match_only_their_hash() {
        let a = generate(&OsRandom).unwrap();
        let b = generate(&OsRandom).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(matches(&a, &hash(&a)));
        assert!(!matches(&b, &hash(&a)));
    }
}
