//! The device authorization grant (RFC 8628), its pure part: user codes a person types
//! on another screen, the device code's terms, and what a poll is answered.
//!
//! A tool without a browser asks `POST /oauth/device_authorization` for a device code (a
//! secret it keeps, 256 random bits, stored hashed) and a user code (what the person
//! types at the verification page after signing in). The tool polls the token endpoint
//! with the device code until the person allowed or denied, or the codes expired.

use std::time::Duration;

use crate::random::{Random, RandomError};

/// RFC 8628 §6.1's base-20 alphabet: consonants only, so no look-alikes (no 0/O, 1/I/L,
/// 5/S is avoided by having no digits) and no words.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code: 20^8 ≈ 2^34.6 codes.
pub const USER_CODE_LEN: usize = 8;
/// How long the codes live: long enough to find a browser and sign in.
pub const LIFETIME: Duration = Duration::from_secs(600);
/// The interval a tool is told to poll at (RFC 8628 §3.2's default).
pub const INTERVAL: Duration = Duration::from_secs(5);
/// What `slow_down` adds to the interval, for that poll and every later one (§3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Wrong user codes a person may enter in a [`MISS_WINDOW`] before being made to wait:
/// with 20^8 codes, guessing a live one is then out of reach.
pub const MAX_MISSES: u32 = 5;
pub const MISS_WINDOW: Duration = Duration::from_secs(900);

/// A fresh user code, [`USER_CODE_LEN`] letters of [`ALPHABET`] (no modulo bias: 256 is
/// not a multiple of 20, so bytes past the last whole multiple are drawn again).
pub fn new_user_code(random: &impl Random) -> Result<String, RandomError> {
    const FAIR: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8 - 1;
    let mut code = String::with_capacity(USER_CODE_LEN);
    let mut byte = [0u8; 1];
    while code.len() < USER_CODE_LEN {
        random.fill(&mut byte)?;
        if byte[0] <= FAIR {
            code.push(ALPHABET[usize::from(byte[0]) % ALPHABET.len()] as char);
        }
    }
    Ok(code)
}

/// How a user code is shown: two groups of four (`BCDF-GHJK`).
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// A typed user code in its normal form: case, spaces and dashes forgiven (RFC 8628
/// §6.1); `None` when what remains is not a code we could have issued (checked before
/// any read).
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ours = code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    ours.then_some(code)
}

/// What the person decided at the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, for this person as they were then.
    Approved {
        username: String,
        /// The user's generation and the application's token epoch at the approval: a
        /// change since makes it worthless, as for a code.
        user_generation: u64,
        client_epoch: u64,
    },
    Denied,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{CountingRandom, OsRandom};

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet_and_differ() {
        let a = new_user_code(&OsRandom).unwrap();
        let b = new_user_code(&OsRandom).unwrap();
        assert_ne!(a, b);
        for code in [&a, &b] {
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(code.bytes().all(|c| ALPHABET.contains(&c)), "{code}");
        }
        // Bytes past the fair range are drawn again, never folded onto the alphabet.
        let counting = new_user_code(&CountingRandom::default()).unwrap();
        assert_eq!(counting.len(), USER_CODE_LEN);
    }

    #[test]
    fn no_look_alikes_and_no_vowels() {
        for c in b"AEIOUY01258" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
    }

    #[test]
    fn typed_codes_forgive_case_spaces_and_dashes_and_nothing_else() {
        assert_eq!(normalize("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize(" BCDF GHJK ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
        for wrong in [
            "BCDFGHJ",
            "BCDFGHJKL",
            "BCDF-GHJA",
            "BCDF0HJK",
            "",
            "ВCDFGHJK",
        ] {
            assert_eq!(normalize(wrong), None, "{wrong}");
        }
    }
}
