//! A DPoP client's key, for the Rust tests: aws-lc-rs makes the key, jsonwebtoken signs
//! (the end-to-end suite signs with a third-party JOSE library instead).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use direct_oauth::dpop;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub(crate) struct ClientKey {
    encoding: EncodingKey,
    jwk: Jwk,
    jti: std::sync::atomic::AtomicU32,
}

impl ClientKey {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let encoding = EncodingKey::from_ec_der(der.as_ref());
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
        ClientKey {
            encoding,
            jwk,
            jti: Default::default(),
        }
    }

    /// The key's RFC 7638 thumbprint: a bound token's `cnf.jkt`.
    pub(crate) fn jkt(&self) -> String {
        self.jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    /// A fresh proof (new `jti`) for `method` at `url`, issued at `iat`; `extra` claims
    /// (`ath`, `nonce`) are added.
    pub(crate) fn proof(&self, method: &str, url: &str, iat: u64, extra: Value) -> String {
        let n = self.jti.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut claims = json!({"jti": format!("jti-{n}"), "htm": method, "htu": url, "iat": iat});
        if let Value::Object(more) = extra {
            claims.as_object_mut().unwrap().extend(more);
        }
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        encode(&header, &claims, &self.encoding).unwrap()
    }

    /// A proof for presenting `token` at a resource.
    pub(crate) fn proof_for_token(&self, method: &str, url: &str, iat: u64, token: &str) -> String {
        self.proof(method, url, iat, json!({"ath": dpop::token_hash(token)}))
    }
}
