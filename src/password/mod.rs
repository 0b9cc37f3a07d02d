//! Password hashing and verification.
//!
//! New hashes are argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1). Hashes
//! imported from Quay are bcrypt; they verify, and the caller replaces them with argon2id
//! at the next successful login.

use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version};
use subtle::ConstantTimeEq;
use thiserror::Error;

mod timing;
mod workspace;

use std::time::{Duration, Instant};

use timing::Timings;
use workspace::{WORKSPACE_BLOCKS, Workspace};

#[derive(Debug, Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

fn hash_error(e: impl std::fmt::Display) -> HashError {
    HashError(e.to_string())
}

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
    /// A verification may follow: get ready for it (in the background) while the caller
    /// waits on the network. Cheap to call on every request.
    fn prepare(&self) {}
    /// How long the slowest verification in use takes, while bcrypt hashes of up to
    /// `bcrypt_cost` remain: a failed login is answered no sooner.
    fn failure_floor(&self, bcrypt_cost: u32) -> Duration {
        let _ = bcrypt_cost;
        Duration::ZERO
    }
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
    memory: Workspace,
    /// argon2 evaluations made for verifications, dummy ones included: what a login cost.
    runs: AtomicU64,
    timings: Timings,
}

impl std::fmt::Debug for PasswordHasherArgon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasherArgon")
    }
}

impl PasswordHasherArgon {
    pub fn new() -> Result<Self, HashError> {
        let dummy = PasswordHash::new(DUMMY_HASH).map_err(hash_error)?;
        Ok(PasswordHasherArgon {
            argon2: Argon2::default(),
            dummy,
            memory: Workspace::default(),
            runs: AtomicU64::new(0),
            timings: Timings::default(),
        })
    }

    /// How many argon2 evaluations verifications have made so far (dummy ones included).
    pub fn argon2_runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Whether `password` hashes to `parsed`, computed in the kept working memory.
    /// Hashes with more memory than the shipped parameters (only an import could bring
    /// one) are verified by the crate with memory of their own, not kept.
    fn argon2_matches(&self, parsed: &PasswordHash, password: &[u8]) -> bool {
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let (Ok(params), Ok(algorithm)) = (
            Params::try_from(parsed),
            Algorithm::try_from(parsed.algorithm.as_str()),
        ) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(_) => return false,
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        let count = params.block_count();
        if count > WORKSPACE_BLOCKS {
            return self.argon2.verify_password(password, parsed).is_ok();
        }
        let mut out = [0u8; 64];
        let Some(out) = out.get_mut(..expected.len()) else {
            return false;
        };
        let mut blocks = self.memory.lock();
        let started = Instant::now();
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut blocks[..count],
        );
        self.timings.argon2(started.elapsed());
        hashed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
    }

    /// A new argon2id hash at the shipped parameters, computed in the kept working memory
    /// (a rehash follows a verification, and a second 19 MiB would raise the peak by that).
    fn hash_now(&self, password: &str) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(hash_error)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut out,
                &mut self.memory.lock()[..WORKSPACE_BLOCKS],
            )
            .map_err(hash_error)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&Params::DEFAULT).map_err(hash_error)?,
            salt: Some(Salt::new(&salt).map_err(hash_error)?),
            hash: Some(Output::new(&out).map_err(hash_error)?),
        };
        Ok(hash.to_string())
    }

    /// Verifies `password` against a stored PHC (argon2) or modular-crypt (bcrypt) hash.
    /// An unreadable hash never verifies.
    fn check(&self, stored: &str, password: &str) -> Verification {
        if let Some(cost) = bcrypt_cost(stored) {
            let started = Instant::now();
            let verified = bcrypt::verify(password, stored);
            self.timings.bcrypt(cost, started.elapsed());
            return match verified {
                Ok(true) => Verification::ValidNeedsRehash,
                _ => Verification::Invalid,
            };
        }
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verification::Invalid;
        };
        if !self.argon2_matches(&parsed, password.as_bytes()) {
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
        let _ = self.argon2_matches(&self.dummy, password.as_bytes());
        Verification::Invalid
    }

    fn hash(&self, password: &str) -> Result<String, HashError> {
        self.hash_now(password)
    }

    fn prepare(&self) {
        self.memory.allocate_in_background();
    }

    fn failure_floor(&self, bcrypt_cost: u32) -> Duration {
        self.timings.bcrypt_estimate(bcrypt_cost)
    }
}

/// bcrypt reads at most this many bytes of a password and ignores the rest.
pub const BCRYPT_MAX_BYTES: usize = 72;

/// Whether `stored` is a bcrypt hash (as Quay stores them).
pub fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// The cost of a bcrypt hash (`$2b$12$…` is 12), or `None` for anything else.
pub fn bcrypt_cost(stored: &str) -> Option<u32> {
    if !is_bcrypt(stored) {
        return None;
    }
    stored.get(4..6)?.parse().ok()
}

/// Whether `stored` is a hash this module can verify (for the admin CLI's import).
pub fn is_supported_hash(stored: &str) -> bool {
    (is_bcrypt(stored) && stored.len() == 60) || PasswordHash::new(stored).is_ok()
}

#[cfg(test)]
mod tests;
