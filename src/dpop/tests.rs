//! Proofs made here with `jsonwebtoken`'s signer and aws-lc-rs keys; the end-to-end suite
//! makes its own with a third-party JOSE library.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use jsonwebtoken::{EncodingKey, encode};
use serde_json::{Value, json};

use super::*;

const URL: &str = "https://as.example/prod/oauth/authorizeapp";
const NOW: u64 = 1_800_000_000;

struct Key {
    encoding: EncodingKey,
    jwk: Jwk,
    alg: Algorithm,
}

fn es256() -> Key {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let encoding = EncodingKey::from_ec_der(der.as_ref());
    let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    Key {
        encoding,
        jwk,
        alg: Algorithm::ES256,
    }
}

fn ed25519() -> Key {
    let der = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new()).unwrap();
    let encoding = EncodingKey::from_ed_der(der.as_ref());
    let jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).unwrap();
    Key {
        encoding,
        jwk,
        alg: Algorithm::EdDSA,
    }
}

fn claims() -> Value {
    json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW})
}

impl Key {
    fn header(&self) -> Header {
        let mut header = Header::new(self.alg);
        header.typ = Some(TYP.into());
        header.jwk = Some(self.jwk.clone());
        header
    }

    fn sign(&self, claims: &Value) -> String {
        encode(&self.header(), claims, &self.encoding).unwrap()
    }

    /// Signed with this key, but the header names `other`'s public key.
    fn sign_as(&self, other: &Key, claims: &Value) -> String {
        let mut header = self.header();
        header.jwk = Some(other.jwk.clone());
        encode(&header, claims, &self.encoding).unwrap()
    }
}

fn expected() -> Expected<'static> {
    Expected {
        method: "POST",
        url: URL,
        now_secs: NOW,
        window_secs: 60,
        access_token: None,
    }
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut c = claims();
    change(&mut c);
    c
}

/// A proof whose header is `header` (as JSON), with any signature.
fn forged(header: Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&header),
        part(&claims()),
        URL_SAFE_NO_PAD.encode(b"sig")
    )
}

#[test]
fn a_valid_proof_gives_its_key_s_thumbprint() {
    for key in [es256(), ed25519()] {
        let proof = check(&key.sign(&claims()), &expected()).unwrap();
        assert_eq!(
            proof.jkt,
            key.jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
        );
        assert_eq!(proof.jkt.len(), 43, "base64url of SHA-256");
        assert_eq!(proof.keep_until, NOW + 61);
        assert_eq!(proof.nonce, None);
    }
    let (a, b) = (es256(), es256());
    let jkt = |k: &Key| check(&k.sign(&claims()), &expected()).unwrap().jkt;
    assert_ne!(jkt(&a), jkt(&b));
}

#[test]
fn method_and_url_must_be_the_request_s() {
    let key = es256();
    let refused = |c: Value| check(&key.sign(&c), &expected()).unwrap_err();
    assert_eq!(
        refused(with(|c| c["htm"] = "GET".into())),
        ProofError::WrongMethod
    );
    assert_eq!(
        refused(with(|c| c["htm"] = "post".into())),
        ProofError::WrongMethod
    );
    for other in [
        "https://as.example/oauth/authorizeapp",
        "https://evil.example/prod/oauth/authorizeapp",
        "http://as.example/prod/oauth/authorizeapp",
        "https://as.example:8443/prod/oauth/authorizeapp",
        "/prod/oauth/authorizeapp",
    ] {
        assert_eq!(
            refused(with(|c| c["htu"] = other.into())),
            ProofError::WrongUrl,
            "{other}"
        );
    }
    for same in [
        "https://as.example/prod/oauth/authorizeapp?x=1#f",
        "HTTPS://AS.example:443/prod/oauth/authorizeapp",
        "https://as.example/prod/./oauth/authorizeapp",
    ] {
        let proof = key.sign(&with(|c| c["htu"] = same.into()));
        assert!(check(&proof, &expected()).is_ok(), "{same}");
    }
}

#[test]
fn iat_must_be_within_the_window_either_way() {
    let key = es256();
    for (iat, ok) in [
        (NOW - 60, true),
        (NOW + 60, true),
        (NOW - 61, false),
        (NOW + 61, false),
    ] {
        let result = check(&key.sign(&with(|c| c["iat"] = iat.into())), &expected());
        assert_eq!(result.is_ok(), ok, "iat {iat}");
        if !ok {
            assert_eq!(result.unwrap_err(), ProofError::OutOfWindow);
        }
    }
}

#[test]
fn at_a_resource_ath_must_hash_the_token() {
    let key = es256();
    let token = "sampleValidTokenId0001localTestSecretForTheValidSampleToken000001";
    let at = Expected {
        access_token: Some(token),
        ..expected()
    };
    assert_eq!(
        check(&key.sign(&claims()), &at).unwrap_err(),
        ProofError::MissingAth
    );
    let wrong = with(|c| c["ath"] = token_hash("another").into());
    assert_eq!(
        check(&key.sign(&wrong), &at).unwrap_err(),
        ProofError::WrongAth
    );
    let right = with(|c| c["ath"] = token_hash(token).into());
    assert!(check(&key.sign(&right), &at).is_ok());
}

#[test]
fn only_asymmetric_signatures_by_the_header_s_key() {
    let (a, b) = (es256(), es256());
    assert_eq!(
        check(&a.sign_as(&b, &claims()), &expected()).unwrap_err(),
        ProofError::BadSignature,
        "signed by another key than the header's"
    );
    let mut tampered = a.sign(&claims());
    tampered.push('A');
    assert!(check(&tampered, &expected()).is_err());
    let jwk = serde_json::to_value(&a.jwk).unwrap();
    for alg in ["none", "HS256", "RS1", ""] {
        let header = json!({"typ": TYP, "alg": alg, "jwk": jwk});
        assert_eq!(
            check(&forged(header), &expected()).unwrap_err(),
            ProofError::WrongAlgorithm
        );
    }
    // HMAC signed for real, with the secret as an `oct` key in the header.
    let mut hmac = Header::new(Algorithm::HS256);
    hmac.typ = Some(TYP.into());
    let secret = EncodingKey::from_secret(b"shared").unwrap();
    let hs = encode(&hmac, &claims(), &secret).unwrap();
    assert_eq!(
        check(&hs, &expected()).unwrap_err(),
        ProofError::WrongAlgorithm
    );
}

#[test]
fn the_header_must_be_a_dpop_header_with_a_public_key() {
    let key = es256();
    let mut jwk = serde_json::to_value(&key.jwk).unwrap();
    let header = |typ: &str, jwk: &Value| json!({"typ": typ, "alg": "ES256", "jwk": jwk});
    assert_eq!(
        check(&forged(header("JWT", &jwk)), &expected()).unwrap_err(),
        ProofError::WrongType
    );
    let no_key = json!({"typ": TYP, "alg": "ES256"});
    assert_eq!(
        check(&forged(no_key), &expected()).unwrap_err(),
        ProofError::NotAPublicKey
    );
    jwk["d"] = "private-part".into();
    assert_eq!(
        check(&forged(header(TYP, &jwk)), &expected()).unwrap_err(),
        ProofError::NotAPublicKey
    );
    let crit = json!({"typ": TYP, "alg": "ES256", "jwk": key.jwk, "crit": ["exp"]});
    assert!(matches!(
        check(&forged(crit), &expected()),
        Err(ProofError::Malformed(_))
    ));
    for junk in [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.e30",
        &"a".repeat(MAX_PROOF_BYTES + 1),
    ] {
        assert!(
            matches!(check(junk, &expected()), Err(ProofError::Malformed(_))),
            "{junk:.20}"
        );
    }
}

#[test]
fn claims_are_required_and_jti_is_bounded() {
    let key = es256();
    for missing in ["jti", "htm", "htu", "iat"] {
        let c = with(|c| {
            c.as_object_mut().unwrap().remove(missing);
        });
        assert!(matches!(
            check(&key.sign(&c), &expected()),
            Err(ProofError::Malformed(_))
        ));
    }
    for jti in [String::new(), "j".repeat(MAX_JTI_BYTES + 1)] {
        let c = with(|c| c["jti"] = jti.clone().into());
        assert!(matches!(
            check(&key.sign(&c), &expected()),
            Err(ProofError::Malformed(_))
        ));
    }
}

#[test]
fn the_replay_key_is_the_jti_at_its_url() {
    let key = es256();
    let key_of = |c: Value| check(&key.sign(&c), &expected()).unwrap().replay_key;
    let same = key_of(claims());
    assert_eq!(
        key_of(with(|c| c["iat"] = (NOW + 1).into())),
        same,
        "iat does not make it new"
    );
    assert_ne!(key_of(with(|c| c["jti"] = "other".into())), same);
    assert_ne!(key_of(with(|c| c["htu"] = format!("{URL}?x").into())), same);
    let nonce = with(|c| c["nonce"] = "n0nce".into());
    assert_eq!(
        check(&key.sign(&nonce), &expected())
            .unwrap()
            .nonce
            .as_deref(),
        Some("n0nce")
    );
}

#[test]
fn dpop_jkt_is_a_thumbprint_and_a_proof_must_be_by_its_key() {
    let key = es256();
    let proof = check(&key.sign(&claims()), &expected()).unwrap();
    assert!(is_thumbprint(&proof.jkt));
    for bad in [
        "",
        "short",
        &format!("{}=", proof.jkt),
        &"+".repeat(43),
        &"A".repeat(44),
    ] {
        assert!(!is_thumbprint(bad), "{bad:?}");
    }
    assert_eq!(by_requested_key(&proof, Some(&proof.jkt)), Ok(()));
    assert_eq!(by_requested_key(&proof, None), Ok(()));
    let other = check(&es256().sign(&claims()), &expected()).unwrap();
    assert_eq!(
        by_requested_key(&other, Some(&proof.jkt)),
        Err(ProofError::NotRequestedKey)
    );
}

#[test]
fn one_header_only() {
    let one = [b"a.b.c".as_slice()];
    assert_eq!(header_value(one.into_iter()), Ok(Some("a.b.c")));
    assert_eq!(header_value(std::iter::empty()), Ok(None));
    let two = [b"a.b.c".as_slice(), b"d.e.f".as_slice()];
    assert_eq!(header_value(two.into_iter()), Err(ProofError::Several));
    let joined = [b"a.b.c,d.e.f".as_slice()];
    assert_eq!(header_value(joined.into_iter()), Err(ProofError::Several));
}

proptest::proptest! {
    /// Any string, or a valid proof with one byte changed, is judged without a panic (a
    /// panic is a dead instance), and a changed proof is never accepted for another key.
    #[test]
    fn no_proof_panics_the_checker(junk in ".{0,300}", at in 0usize..400, byte in 0u8..128) {
        let _ = check(&junk, &expected());
        let key = es256();
        let good = key.sign(&claims());
        let mut bytes = good.clone().into_bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        let changed = String::from_utf8(bytes).unwrap_or_default();
        if let Ok(proof) = check(&changed, &expected()) {
            let jkt = key.jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
            proptest::prop_assert_eq!(proof.jkt, jkt);
        }
    }
}

#[test]
fn the_replay_guard_keeps_a_proof_past_the_last_second_it_is_accepted() {
    let key = es256();
    let proof = key.sign(&claims());
    let at = |now_secs| Expected {
        now_secs,
        ..expected()
    };
    // First used at the earliest moment the window allows, replayed at the last.
    let first = check(&proof, &at(NOW - 60)).unwrap();
    let last_second = NOW + 60;
    assert!(
        check(&proof, &at(last_second)).is_ok(),
        "still in the window"
    );
    assert!(
        first.keep_until > last_second,
        "a use stored until {} counts no longer at {last_second}",
        first.keep_until
    );
    assert!(check(&proof, &at(last_second + 1)).is_err());
}
