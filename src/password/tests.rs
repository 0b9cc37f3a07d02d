//! Unit tests of the password module (kept apart: they are longer than the code).

use super::*;
use argon2::password_hash::PasswordHasher;
use argon2::{AssociatedData, KeyId, ParamsBuilder};

#[test]
fn argon2id_round_trip_at_owasp_parameters() {
    let h = PasswordHasherArgon::new().unwrap();
    let stored = h.hash("passwordhere").unwrap();
    let parsed = PasswordHash::new(&stored).unwrap();
    assert!(
        Argon2::default()
            .verify_password(b"passwordhere", &parsed)
            .is_ok(),
        "the crate accepts what the kept memory computed"
    );
    assert_ne!(
        stored,
        h.hash("passwordhere").unwrap(),
        "a fresh salt each time"
    );
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

/// The kept-memory path must agree with the crate's own verification for every
/// parameter set a stored hash can carry, including ones that do not fit the workspace.
#[test]
fn kept_memory_agrees_with_the_crate() {
    let h = PasswordHasherArgon::new().unwrap();
    let cases = [
        (
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        ),
        (
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 3, 2, Some(16)).unwrap(),
        ),
        (
            Algorithm::Argon2d,
            Version::V0x13,
            Params::new(256, 1, 4, Some(64)).unwrap(),
        ),
        (Algorithm::Argon2id, Version::V0x13, Params::DEFAULT),
        (
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(20 * 1024, 1, 1, None).unwrap(),
        ),
        (
            Algorithm::Argon2id,
            Version::V0x13,
            ParamsBuilder::new()
                .m_cost(32)
                .t_cost(1)
                .keyid(KeyId::new(b"kid1").unwrap())
                .data(AssociatedData::new(b"context").unwrap())
                .build()
                .unwrap(),
        ),
    ];
    for (algorithm, version, params) in cases {
        let argon2 = Argon2::new(algorithm, version, params);
        let stored = argon2.hash_password(b"right").unwrap().to_string();
        let parsed = PasswordHash::new(&stored).unwrap();
        for (password, crate_says) in [(&b"right"[..], true), (b"wrong", false), (b"", false)] {
            assert_eq!(
                argon2.verify_password(password, &parsed).is_ok(),
                crate_says
            );
            assert_eq!(h.argon2_matches(&parsed, password), crate_says, "{stored}");
        }
    }
    // No `v=`: both read it as version 0x13.
    let stored = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8, 1, 1, None).unwrap(),
    )
    .hash_password(b"right")
    .unwrap()
    .to_string()
    .replace("$v=19", "");
    let parsed = PasswordHash::new(&stored).unwrap();
    assert!(parsed.version.is_none(), "{stored}");
    assert!(Argon2::default().verify_password(b"right", &parsed).is_ok());
    assert!(h.argon2_matches(&parsed, b"right"));
    assert!(!h.argon2_matches(&parsed, b"wrong"));
}

#[test]
fn garbage_hashes_never_verify() {
    let h = PasswordHasherArgon::new().unwrap();
    for stored in ["", "plain", "$argon2id$broken", "$2b$12$short"] {
        assert_eq!(h.verify(stored, "plain"), Verification::Invalid, "{stored}");
    }
    assert_eq!(h.verify_dummy("anything"), Verification::Invalid);
}

/// Unknown users must cost what known ones do: one argon2 run at the same parameters.
#[test]
fn a_dummy_verification_costs_one_argon2_run_like_a_real_one() {
    let h = PasswordHasherArgon::new().unwrap();
    let real = h.hash("secret").unwrap();
    assert_eq!(h.argon2_runs(), 0, "hashing is not verifying");
    assert_eq!(h.verify(&real, "wrong"), Verification::Invalid);
    assert_eq!(h.argon2_runs(), 1);
    assert_eq!(h.verify_dummy("secret"), Verification::Invalid);
    assert_eq!(h.argon2_runs(), 2, "the dummy ran argon2 too");
    let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
    assert_eq!(
        Params::try_from(&dummy).unwrap(),
        Params::try_from(&PasswordHash::new(&real).unwrap()).unwrap(),
        "at the parameters a real user's hash has"
    );
}
