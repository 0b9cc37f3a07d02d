//! CPU cost of one request through the whole flow with in-memory adapters and the password
//! check left out (target: ≤ 20 µs), and of password verification at the shipped parameters.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use direct_oauth::api_token::Cap;
use direct_oauth::clock::ManualClock;
use direct_oauth::config::Config;
use direct_oauth::device::Decision;
use direct_oauth::endpoints::{Server, Settings};
use direct_oauth::lambda::token_authorizer;
use direct_oauth::password::{HashError, PasswordHasherArgon, Passwords, Verification};
use direct_oauth::random::OsRandom;
use direct_oauth::session::Session;
use direct_oauth::store::memory::{application, user};
use direct_oauth::store::{
    Admission, Application, ClientAndToken, CodeClaim, CodeRecord, CodeStore, DirectoryLink,
    FailedLogins, Failure, FailureCounter, Lease, Lookup, LookupReader, OneTimeValues,
    OwnerAndClient, Redemption, StoreError, TokenCanceller, TokenReader, TokenRecord, TokenRevoker,
    TokenWriter, User, UserLinker, Verified,
};
use direct_oauth::store::{ApiTokenStore, ConsentStore, Holdings, SessionStore};
use direct_oauth::store::{DeviceAuthorization, DeviceStore, Poll, RefreshFamily, RefreshStore};
use direct_oauth::token_check;
use direct_oauth::whitelist::{CachedWhitelist, MemorySource};
use lambda_http::http::Request;
use std::collections::BTreeSet;

/// Answers every lookup with the Quay example and accepts every write: no growth, no I/O.
struct FixedStore(Lookup);

impl LookupReader for FixedStore {
    async fn lookup(&self, _: &str, _: Option<&str>) -> Result<Lookup, StoreError> {
        Ok(self.0.clone())
    }
}

impl UserLinker for FixedStore {
    async fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> Result<User, StoreError> {
        Ok(User::linked(username, link, since))
    }
}

impl TokenWriter for FixedStore {
    async fn put_token(&self, _: &TokenRecord, _: &Verified) -> Result<(), StoreError> {
        Ok(())
    }
}

impl TokenReader for FixedStore {
    async fn get_token(&self, _: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(None)
    }

    async fn owner_and_client(&self, _: &str, _: &str) -> Result<OwnerAndClient, StoreError> {
        Ok(OwnerAndClient {
            user: self.0.user.clone(),
            application: self.0.application.clone(),
        })
    }

    async fn token_and_parties(
        &self,
        id: &str,
        username: &str,
        client_id: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        let parties = self.owner_and_client(username, client_id).await?;
        Ok((self.get_token(id).await?, parties))
    }
}

impl TokenRevoker for FixedStore {
    async fn revoke_token(&self, _: &str, _: &[u8; 32], _: u64) -> Result<bool, StoreError> {
        Ok(false)
    }
}

impl TokenCanceller for FixedStore {
    async fn revoke_by_id(&self, _: &str, _: u64, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
}

impl CodeStore for FixedStore {
    async fn put_code(&self, _: &CodeRecord) -> Result<(), StoreError> {
        Ok(())
    }
    async fn redeem_code(
        &self,
        _: &CodeClaim<'_>,
        _: &str,
        _: u64,
    ) -> Result<Redemption, StoreError> {
        Ok(Redemption::Refused)
    }
}

impl ClientAndToken for FixedStore {
    async fn client_and_token(
        &self,
        _: &str,
        _: &str,
    ) -> Result<(Option<Application>, Option<TokenRecord>), StoreError> {
        Ok((self.0.application.clone(), None))
    }
}

impl OneTimeValues for FixedStore {
    async fn first_use(&self, _: &[u8; 32], _: u64, _: u64) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn nonce_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        Ok(fresh)
    }
}

/// Direct approval reads no consent.
impl ConsentStore for FixedStore {
    async fn consent(&self, _: &str, _: &str) -> Result<BTreeSet<String>, StoreError> {
        Ok(BTreeSet::new())
    }
    async fn remember_consent(&self, _: &str, _: &str, _: &[String]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Direct approval holds no grant.
impl ApiTokenStore for FixedStore {
    async fn create_api_token(
        &self,
        _: &TokenRecord,
        _: &Verified,
        _: &Cap,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn revoke_api_token(&self, _: &str, _: &str, _: u64) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn applications(&self) -> Result<Vec<Application>, StoreError> {
        Ok(Vec::new())
    }
    async fn holdings(&self, _: &str) -> Result<Holdings, StoreError> {
        Ok(Holdings::default())
    }
    async fn revoke_access(&self, _: &str, _: &str, _: u64) -> Result<u32, StoreError> {
        Ok(0)
    }
}

/// Direct approval reads no session.
impl SessionStore for FixedStore {
    async fn put_session(&self, _: &Session) -> Result<(), StoreError> {
        Ok(())
    }
    async fn session(&self, _: &str) -> Result<Option<Session>, StoreError> {
        Ok(None)
    }
    async fn touch_session(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    async fn end_session(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Direct approval starts no refresh family.
impl RefreshStore for FixedStore {
    async fn family(&self, _: &str) -> Result<Option<RefreshFamily>, StoreError> {
        Ok(None)
    }
    async fn write_family(
        &self,
        _: &RefreshFamily,
        _: Option<&[u8; 32]>,
        _: &TokenRecord,
        _: &Verified,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn revoke_family(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Direct approval polls no device.
impl DeviceStore for FixedStore {
    async fn put_device(&self, _: &DeviceAuthorization) -> Result<(), StoreError> {
        Ok(())
    }
    async fn device_by_user_code(
        &self,
        _: &str,
        _: u64,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        Ok(None)
    }
    async fn decide_device(&self, _: &[u8; 32], _: &Decision, _: u64) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn poll_device(&self, _: &[u8; 32], _: &str, _: u64) -> Result<Poll, StoreError> {
        Ok(Poll::Unknown)
    }
    async fn redeem_device(&self, _: &[u8; 32], _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn note_wrong_user_code(&self, _: &str, _: u64) -> Result<u32, StoreError> {
        Ok(0)
    }
    async fn wrong_user_codes(&self, _: &str, _: u64) -> Result<u32, StoreError> {
        Ok(0)
    }
}

impl FailureCounter for FixedStore {
    async fn admit(&self, _: &str, _: &Lease, _: u64, _: u64) -> Result<Admission, StoreError> {
        Ok(Admission::Admitted { counts: None })
    }

    async fn record_failure(
        &self,
        _: &str,
        _: &Lease,
        failure: &Failure,
    ) -> Result<FailedLogins, StoreError> {
        Ok(FailedLogins {
            failures: 1,
            last_failure_ms: failure.now_ms,
        })
    }

    async fn release(&self, _: &str, _: &Lease) -> Result<(), StoreError> {
        Ok(())
    }
}

/// "The password check left out": compares the stored string with the password.
struct PlainPasswords;

impl Passwords for PlainPasswords {
    fn verify(&self, stored: &str, password: &str) -> Verification {
        if stored == password {
            Verification::Valid
        } else {
            Verification::Invalid
        }
    }
    fn verify_dummy(&self, _: &str) -> Verification {
        Verification::Invalid
    }
    fn hash(&self, password: &str) -> Result<String, HashError> {
        Ok(password.to_string())
    }
}

fn quay_request() -> Request<Vec<u8>> {
    Request::builder()
        .method("POST")
        .uri("/oauth/authorizeapp")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl")
        .body(
            b"client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin"
                .to_vec(),
        )
        .unwrap()
}

fn pure_core(c: &mut Criterion) {
    let lookup = Lookup {
        application: Some(Application {
            name: "Quay example".into(),
            redirect_uris: vec!["https://my/internal/application/token_created".into()],
            ..application("some_client_id")
        }),
        user: Some(User {
            password_hash: "passwordhere".into(),
            ..user("username")
        }),
        bcrypt_cost: None,
    };
    let config = Config::from_lookup(|_| None).unwrap();
    let whitelist = CachedWhitelist::new(
        MemorySource::new(Some("some_client_id")),
        Duration::from_secs(3600),
        Duration::ZERO,
    );
    let service = Server::new(
        FixedStore(lookup),
        whitelist,
        ManualClock::at(1_800_000_000_000),
        OsRandom,
        PlainPasswords,
        Settings::from(&config),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let req = quay_request();
    assert_eq!(rt.block_on(service.handle(&req)).response.status(), 302);
    c.bench_function("pure_core/quay_example_302", |b| {
        b.iter(|| rt.block_on(service.handle(&req)))
    });
}

fn passwords(c: &mut Criterion) {
    let argon = PasswordHasherArgon::new().unwrap();
    let stored = argon.hash("passwordhere").unwrap();
    let bcrypt12 = bcrypt::hash("passwordhere", 12).unwrap();
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id_m19456_t2_p1_verify", |b| {
        b.iter(|| assert!(argon.verify(&stored, "passwordhere").is_valid()))
    });
    group.bench_function("bcrypt_cost12_verify", |b| {
        b.iter(|| assert!(argon.verify(&bcrypt12, "passwordhere").is_valid()))
    });
    group.finish();
}

/// The authorizer's CPU per check, once the token's item is read: event parsing, bearer
/// parsing, the constant-time hash comparison and the answer.
fn authorizer_core(c: &mut Criterion) {
    use direct_oauth::authorizer;
    use direct_oauth::token::AccessToken;
    let token = AccessToken::generate(&OsRandom).unwrap();
    let record = TokenRecord {
        secret_hash: token.secret_hash(),
        scopes: vec!["repo:read".into(), "org:admin".into()],
        expires_at: None,
        ..direct_oauth::store::memory::token_record(token.id(), "username", "some_client_id")
    };
    let parties = OwnerAndClient {
        user: Some(user("username")),
        application: Some(Application {
            name: "Quay example".into(),
            ..application("some_client_id")
        }),
    };
    // The sample HTTP API event, carrying this token.
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../events/token-authorizer/http-api-v2/valid.json"
    ))
    .unwrap();
    event["headers"]["authorization"] = format!("Bearer {}", token.expose()).into();
    c.bench_function("authorizer/check_without_the_read", |b| {
        b.iter(|| {
            let check = token_authorizer::read_event(event.clone(), None).unwrap();
            let presented = authorizer::presented(check.authorization.as_deref()).unwrap();
            let token = &presented.token;
            let decision = token_check::decide(token, None, Some(&record), &parties, 1);
            authorizer::respond(&check, &decision).unwrap()
        })
    });
}

/// A DPoP proof's check (RFC 9449 §4.3): header, signature by its JWK, claims, thumbprint.
/// What a proof adds to a request's CPU, besides the replay guard's write.
fn dpop_check(c: &mut Criterion) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    use direct_oauth::dpop::{self, Expected};
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let url = "https://as.example/oauth/authorizeapp";
    let claims = serde_json::json!({"jti": "j", "htm": "POST", "htu": url, "iat": 1_800_000_000});
    let rng = SystemRandom::new();
    let es256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let eddsa = Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap();
    let keys = [
        (
            "proof_check_es256",
            EncodingKey::from_ec_der(es256.as_ref()),
            Algorithm::ES256,
        ),
        (
            "proof_check_eddsa",
            EncodingKey::from_ed_der(eddsa.as_ref()),
            Algorithm::EdDSA,
        ),
    ];
    let expected = Expected {
        method: "POST",
        url,
        now_secs: 1_800_000_000,
        window_secs: 60,
        access_token: None,
    };
    let mut group = c.benchmark_group("dpop");
    for (name, key, alg) in keys {
        let mut header = Header::new(alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(Jwk::from_encoding_key(&key, alg).unwrap());
        let proof = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert!(dpop::check(&proof, &expected).is_ok());
        group.bench_function(name, |b| b.iter(|| dpop::check(&proof, &expected).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, pure_core, passwords, authorizer_core, dpop_check);
criterion_main!(benches);
