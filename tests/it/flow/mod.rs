//! The contract, row by row, through the whole request flow with in-memory adapters:
//! no network, no AWS. The DynamoDB and SSM adapters have their own tests against moto.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use direct_oauth::clock::{Clock, ManualClock};
use direct_oauth::config::{Config, QUAY_SCOPES};
use direct_oauth::directory::NoDirectory;
use direct_oauth::endpoints::{Event, Server, Settings};
use direct_oauth::password::{HashError, PasswordHasherArgon, Passwords, Verification};
use direct_oauth::random::CountingRandom;
use direct_oauth::store::memory::{MemoryStore, application, user};
use direct_oauth::store::{Application, Store, User};
use direct_oauth::token::{AccessToken, IssuedTo};
use direct_oauth::whitelist::{CachedWhitelist, MemorySource, SourceError, WhitelistSource};
use http::{Request, Response};

use crate::faults::{Faulty, Operation};

const CLIENT: &str = "some_client_id";
const REDIRECT: &str = "https://my/internal/application/token_created";
const QUAY_AUTH: &str = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl";
const GOOD_BODY: &str = "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin";
pub(crate) const NOW_MS: u64 = 1_800_000_000_000;

/// The flow under test, over the demo store (faults injectable) and a whitelist source,
/// with handles on its ports: clones that share their state with the flow's own, so a
/// test sets up, moves and inspects what the flow uses without the flow exposing it.
pub(crate) struct Harness<St: Store = Faulty<MemoryStore>, S: WhitelistSource = MemorySource> {
    flow: Server<(
        St,
        S,
        ManualClock,
        CountingRandom,
        CountingPasswords,
        NoDirectory,
    )>,
    store: St,
    clock: ManualClock,
    hasher: CountingPasswords,
    whitelist: CachedWhitelist<S>,
    source: S,
}

pub(crate) type TestFlow = Harness;
/// The ports of [`TestFlow`]'s flow.
pub(crate) type TestPorts = (
    Faulty<MemoryStore>,
    MemorySource,
    ManualClock,
    CountingRandom,
    CountingPasswords,
    NoDirectory,
);

impl<St: Store, S: WhitelistSource> Harness<St, S> {
    pub(crate) fn store(&self) -> &St {
        &self.store
    }
    pub(crate) fn clock(&self) -> &ManualClock {
        &self.clock
    }
    pub(crate) fn hasher(&self) -> &CountingPasswords {
        &self.hasher
    }
    pub(crate) fn whitelist(&self) -> &CachedWhitelist<S> {
        &self.whitelist
    }
    pub(crate) fn source(&self) -> &S {
        &self.source
    }
    /// The flow alone, for the glue's handlers to own.
    pub(crate) fn into_server(
        self,
    ) -> Server<(
        St,
        S,
        ManualClock,
        CountingRandom,
        CountingPasswords,
        NoDirectory,
    )> {
        self.flow
    }
}

impl<St: Store, S: WhitelistSource> std::ops::Deref for Harness<St, S> {
    type Target = Server<(
        St,
        S,
        ManualClock,
        CountingRandom,
        CountingPasswords,
        NoDirectory,
    )>;
    fn deref(&self) -> &Self::Target {
        &self.flow
    }
}

/// The real hasher, counting the verifications it is asked for (dummy ones included), so a
/// test can tell "refused without verifying" from "verified, then refused".
/// It can also make each verification take time on the flow's clock.
/// Clones share the counts.
#[derive(Clone)]
pub(crate) struct CountingPasswords {
    inner: Arc<PasswordHasherArgon>,
    verifications: Arc<AtomicU32>,
    clock: ManualClock,
    verification_ms: Arc<AtomicU64>,
}

impl CountingPasswords {
    fn on(clock: ManualClock) -> Self {
        CountingPasswords {
            inner: Arc::new(PasswordHasherArgon::new().unwrap()),
            verifications: Arc::default(),
            clock,
            verification_ms: Arc::default(),
        }
    }

    pub(crate) fn verifications(&self) -> u32 {
        self.verifications.load(Ordering::SeqCst)
    }

    /// From now on each verification moves the flow's clock on by `ms`.
    pub(crate) fn take_ms_per_verification(&self, ms: u64) {
        self.verification_ms.store(ms, Ordering::SeqCst);
    }

    fn counted(&self) {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        self.clock
            .advance_ms(self.verification_ms.load(Ordering::SeqCst));
    }
}

impl Passwords for CountingPasswords {
    fn verify(&self, stored: &str, password: &str) -> Verification {
        self.counted();
        self.inner.verify(stored, password)
    }
    fn verify_dummy(&self, password: &str) -> Verification {
        self.counted();
        self.inner.verify_dummy(password)
    }
    fn hash(&self, password: &str) -> Result<String, HashError> {
        self.inner.hash(password)
    }
    /// A stand-in for the timed floor, so tests can see the wait: 25 ms per cost step.
    fn failure_floor(&self, bcrypt_cost: u32) -> Duration {
        Duration::from_millis(25 * u64::from(bcrypt_cost))
    }
}

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn flow_with(settings: impl FnOnce(&mut Settings)) -> TestFlow {
    service(settings, |_| {
        MemorySource::new(Some("some_client_id,multi,unregistered"))
    })
}

/// The flow over the demo data, with the whitelist read from whatever `source` makes.
fn service<S: WhitelistSource + Clone>(
    settings: impl FnOnce(&mut Settings),
    source: impl FnOnce(&Faulty<MemoryStore>) -> S,
) -> Harness<Faulty<MemoryStore>, S> {
    service_over(Faulty::new, settings, source)
}

/// [`service`] over a store made from the demo store (a test double around it, say).
fn service_over<St, S: WhitelistSource + Clone>(
    wrap: impl FnOnce(MemoryStore) -> St,
    settings: impl FnOnce(&mut Settings),
    source: impl FnOnce(&St) -> S,
) -> Harness<St, S>
where
    St: Store + Clone,
{
    let clock = ManualClock::at(NOW_MS);
    let hasher = CountingPasswords::on(clock.clone());
    let store = MemoryStore::default();
    for (name, superuser, enabled) in [
        ("username", false, true),
        ("root", true, true),
        ("gone", false, false),
    ] {
        store.put_user(User {
            password_hash: hasher.hash("passwordhere").unwrap(),
            enabled,
            superuser,
            ..user(name)
        });
    }
    store.put_application(Application {
        name: "Quay example".into(),
        redirect_uris: vec![REDIRECT.into()],
        ..application(CLIENT)
    });
    store.put_application(Application {
        name: "two URIs".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
        ..application("multi")
    });
    let config = Config::from_lookup(|_| None).unwrap();
    let mut s = Settings::from(&config);
    settings(&mut s);
    let store = wrap(store);
    let source = source(&store);
    let whitelist = CachedWhitelist::new(
        source.clone(),
        Duration::from_secs(60),
        Duration::from_secs(0),
    );
    Harness {
        flow: Server::new(
            store.clone(),
            whitelist.clone(),
            clock.clone(),
            CountingRandom::default(),
            hasher.clone(),
            s,
        ),
        store,
        clock,
        hasher,
        whitelist,
        source,
    }
}

pub(crate) fn flow() -> TestFlow {
    flow_with(|_| {})
}

fn post(auth: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/oauth/authorizeapp")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

fn header<'a>(r: &'a Response<String>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn json(r: &Response<String>) -> serde_json::Value {
    assert_eq!(header(r, "content-type"), Some("application/json"));
    serde_json::from_str(r.body()).expect("a JSON error body")
}

/// Every JSON error: status, error code, no redirect, no-store; and no token written.
fn assert_refused(f: &TestFlow, r: &Response<String>, status: u16, error: &str) {
    assert_eq!(r.status(), status, "{:?}", r.body());
    assert_eq!(json(r)["error"], error);
    assert!(header(r, "location").is_none());
    assert_eq!(header(r, "cache-control"), Some("no-store"));
    assert_eq!(header(r, "pragma"), Some("no-cache"));
    assert!(f.store().tokens().is_empty(), "no token may be written");
}

fn fragment(r: &Response<String>) -> Vec<(String, String)> {
    let location = header(r, "location").expect("a Location");
    let (_, frag) = location.split_once('#').expect("a fragment");
    url::form_urlencoded::parse(frag.as_bytes())
        .into_owned()
        .collect()
}

mod account;
mod attempts;
mod checks_1_to_7;
mod checks_8_to_12;
mod code_flow;
mod device;
pub(crate) mod directory;
mod dpop;
mod identity;
mod introspect_discovery;
mod overlap;
mod refresh;
mod revocation;
mod success;
mod web_approval;

/// A handed-out token's public id.
pub(crate) fn token_id(token: &str) -> String {
    let parsed = direct_oauth::token::AccessToken::parse(token);
    parsed.expect("one of our tokens").id().to_string()
}

/// A handed-out token's secret: what must never be stored or logged.
pub(crate) fn secret_of(token: &str) -> &str {
    use direct_oauth::token::{ID_LEN, PREFIX, SECRET_LEN};
    let body = token.strip_prefix(PREFIX).unwrap_or(token);
    &body[ID_LEN..ID_LEN + SECRET_LEN]
}
