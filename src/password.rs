//! Password hashing and verification.
//!
//! New hashes are argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1). Hashes
//! imported from Quay are bcrypt; they verify, and the caller replaces them with argon2id
//! at the next successful login.

use argon2::password_hash::PasswordHasher;
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    Valid,
    /// Valid, but stored with an older scheme or weaker parameters: store a fresh hash.
    ValidNeedsRehash,
}

impl Verification {
    pub fn is_valid(self) -> bool {
        self != Verification::Invalid
    }
}

/// Password hashing as the request flow needs it; [`PasswordHasherArgon`] in production.
pub trait Passwords: Send + Sync {
    /// Verifies `password` against a stored hash.
    fn verify(&self, stored: &str, password: &str) -> Verification;
    /// Costs what [`Passwords::verify`] costs, for a user that does not exist; never valid.
    fn verify_dummy(&self, password: &str) -> Verification;
    /// A new hash at the current parameters.
    fn hash(&self, password: &str) -> Result<String, HashError>;
}

/// A hash, at the current parameters, of a random password that was thrown away. Unknown
/// users are verified against it so that they cost as long as known ones (contract
/// check 9). A constant rather than a hash made at start-up: that cost a whole argon2 run
/// (about 14 ms) on every cold start, and knowing this hash reveals nothing — it is never
/// accepted, whatever verifies against it.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$W4wIY4AIsL0FLh/28gd+gQ$IqeghkNXOIZPTmh9Fyb455YhtMoOzUCqvZIS7a3M9Qw";

pub struct PasswordHasherArgon {
    argon2: Argon2<'static>,
    dummy: PasswordHash,
}

impl std::fmt::Debug for PasswordHasherArgon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasherArgon")
    }
}

impl PasswordHasherArgon {
    pub fn new() -> Result<Self, HashError> {
        let dummy = PasswordHash::new(DUMMY_HASH).map_err(|e| HashError(e.to_string()))?;
        Ok(PasswordHasherArgon {
            argon2: Argon2::default(),
            dummy,
        })
    }

    fn hash_now(&self, password: &str) -> Result<String, HashError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Verifies `password` against a stored PHC (argon2) or modular-crypt (bcrypt) hash.
    /// An unreadable hash never verifies.
    fn check(&self, stored: &str, password: &str) -> Verification {
        if is_bcrypt(stored) {
            return match bcrypt::verify(password, stored) {
                Ok(true) => Verification::ValidNeedsRehash,
                _ => Verification::Invalid,
            };
        }
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verification::Invalid;
        };
        if self
            .argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Verification::Invalid;
        }
        if self.is_current(&parsed) {
            Verification::Valid
        } else {
            Verification::ValidNeedsRehash
        }
    }

    /// Whether a hash uses the parameters new hashes get (those of the dummy).
    fn is_current(&self, parsed: &PasswordHash) -> bool {
        parsed.algorithm == self.dummy.algorithm
            && parsed.version == self.dummy.version
            && parsed.params == self.dummy.params
    }
}

impl Passwords for PasswordHasherArgon {
    fn verify(&self, stored: &str, password: &str) -> Verification {
        self.check(stored, password)
    }

    fn verify_dummy(&self, password: &str) -> Verification {
        let _ = self
            .argon2
            .verify_password(password.as_bytes(), &self.dummy);
        Verification::Invalid
    }

    fn hash(&self, password: &str) -> Result<String, HashError> {
        self.hash_now(password)
    }
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Whether `stored` is a hash this module can verify (for the admin CLI's import).
pub fn is_supported_hash(stored: &str) -> bool {
    (is_bcrypt(stored) && stored.len() == 60) || PasswordHash::new(stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip_at_owasp_parameters() {
        let h = PasswordHasherArgon::new().unwrap();
        let stored = h.hash("passwordhere").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(h.verify(&stored, "passwordhere"), Verification::Valid);
        assert_eq!(h.verify(&stored, "passwordHere"), Verification::Invalid);
        assert_eq!(h.verify(&stored, ""), Verification::Invalid);
        assert!(!stored.contains("passwordhere"));
    }

    #[test]
    fn weaker_argon2_parameters_ask_for_a_rehash() {
        let h = PasswordHasherArgon::new().unwrap();
        let weak = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert_eq!(h.verify(&weak, "pw"), Verification::ValidNeedsRehash);
    }

    #[test]
    fn bcrypt_from_quay_verifies_and_asks_for_a_rehash() {
        let h = PasswordHasherArgon::new().unwrap();
        let quay = bcrypt::hash("passwordhere", 4).unwrap();
        assert_eq!(
            h.verify(&quay, "passwordhere"),
            Verification::ValidNeedsRehash
        );
        assert_eq!(h.verify(&quay, "nope"), Verification::Invalid);
    }

    #[test]
    fn the_dummy_has_the_shipped_parameters() {
        let h = PasswordHasherArgon::new().unwrap();
        let fresh = h.hash("x").unwrap();
        assert!(h.is_current(&PasswordHash::new(&fresh).unwrap()));
        assert_eq!(fresh.split('$').nth(3), DUMMY_HASH.split('$').nth(3));
    }

    #[test]
    fn garbage_hashes_never_verify() {
        let h = PasswordHasherArgon::new().unwrap();
        for stored in ["", "plain", "$argon2id$broken", "$2b$12$short"] {
            assert_eq!(h.verify(stored, "plain"), Verification::Invalid, "{stored}");
        }
        assert_eq!(h.verify_dummy("anything"), Verification::Invalid);
    }
}
