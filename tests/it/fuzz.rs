//! Property tests: the parsers, the redirect matcher and the whole flow never panic, and
//! never hand out a token unless every input was valid. `make test` runs a bounded number
//! of cases; `PROPTEST_CASES=100000 cargo test --release --test fuzz` runs more.

use std::time::Duration;

use base64::Engine;
use direct_oauth::basic_auth;
use direct_oauth::clock::ManualClock;
use direct_oauth::config::Config;
use direct_oauth::directory::NoDirectory;
use direct_oauth::endpoints::{Server, Settings};
use direct_oauth::form;
use direct_oauth::identifier;
use direct_oauth::password::{PasswordHasherArgon, Passwords};
use direct_oauth::random::OsRandom;
use direct_oauth::redirect;
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::memory::{application, user};
use direct_oauth::store::{Application, User};
use direct_oauth::whitelist::{CachedWhitelist, MemorySource};
use http::Request;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// `PROPTEST_CASES` when set (for longer runs outside `make test`), else the default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed of every run unless `PROPTEST_RNG_SEED` says otherwise: a failure in `make test`
/// replays exactly, on any machine; set the variable to explore other inputs.
const SEED: u64 = 0x5eed_d1ec_7a0a_7401;

/// `cases` cases (or `PROPTEST_CASES`), from [`SEED`] (or `PROPTEST_RNG_SEED`).
pub(crate) fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(cases(default_cases));
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    // The seed replays a failure; no regression files in the tree.
    config.failure_persistence = None;
    config
}

/// A Basic header for `user:password`, in the spellings clients send.
fn basic_header(user: &str, password: &str, scheme: &str, padded: bool) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let encoded = if padded {
        encoded.as_str()
    } else {
        encoded.trim_end_matches('=')
    };
    format!("{scheme} {encoded}")
}

/// Clean usernames about half the time; otherwise a control character or colon planted
/// in one, an empty or over-long one, or anything at all.
fn username() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9._@+-]{1,20}",
        2 => "\\PC{1,12}",
        2 => "[a-z]{0,5}[\\x00-\\x1f:\\x7f][a-z]{0,5}",
        1 => "[a-z]{250,260}",
        1 => any::<String>(),
    ]
}

/// Printable passwords most of the time; otherwise one with a control character.
fn password() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,30}",
        1 => "\\PC{0,5}[\\x00-\\x1f\\x7f]\\PC{0,5}",
    ]
}

const REGISTERED: [&str; 3] = [
    "https://app.example/cb",
    "https://app.example/cb?x=1",
    "http://127.0.0.1/cb",
];

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn form_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = form::parse(&body);
    }

    #[test]
    fn form_parser_round_trips_what_it_accepts(
        pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,20}", 0..6)
    ) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let parsed = form::parse(body.as_bytes()).expect("a serialised form parses");
        for (k, v) in &pairs {
            let expected = (!v.is_empty()).then_some(v.as_str());
            prop_assert_eq!(parsed.get(k), expected);
        }
    }

    #[test]
    fn basic_parser_never_panics_on_any_bytes(
        value in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = basic_auth::parse([&value[..]]);
    }

    #[test]
    fn basic_parser_accepts_exactly_the_clean_credentials(
        user in username(),
        pass in password(),
        scheme in prop_oneof!["Basic", "basic", "BASIC"],
        padded in any::<bool>(),
    ) {
        let header = basic_header(&user, &pass, &scheme, padded);
        // Basic splits at the first colon, so a colon in `user` moves into the password.
        let raw = format!("{user}:{pass}");
        let (u, p) = raw.split_once(':').unwrap();
        let clean = identifier::is_username(u) && !p.chars().any(char::is_control);
        match basic_auth::parse([header.as_bytes()]) {
            Some(c) => {
                prop_assert!(clean, "accepted unclean {:?}", raw);
                prop_assert_eq!((c.username.as_str(), c.password.as_str()), (u, p));
            }
            None => prop_assert!(!clean, "refused clean {:?}", raw),
        }
    }

    #[test]
    fn redirect_matches_only_the_registered_uri_or_a_loopback_port(
        which in 0..REGISTERED.len(),
        candidate in "[a-zA-Z0-9:/?#@.%\\\\\\[\\]=&_-]{0,40}",
        port in 1u32..70000,
    ) {
        let registered = REGISTERED[which];
        for requested in [
            candidate.clone(),
            format!("{registered}{candidate}"),
            format!("http://127.0.0.1:{port}/cb"),
            format!("http://127.0.0.1:{port}{candidate}"),
        ] {
            if redirect::matches(registered, &requested) {
                let same = requested == registered;
                let loopback = registered.starts_with("http://127.0.0.1/")
                    && requested == format!("http://127.0.0.1:{port}/cb")
                    && (1..=65535).contains(&port);
                prop_assert!(same || loopback, "{} matched {}", requested, registered);
            }
        }
    }
}

type FuzzFlow = Server<(
    MemoryStore,
    MemorySource,
    ManualClock,
    OsRandom,
    PasswordHasherArgon,
    NoDirectory,
)>;

/// The flow, and a handle on its store (clones share it).
fn flow() -> (FuzzFlow, MemoryStore) {
    let hasher = PasswordHasherArgon::new().unwrap();
    let store = MemoryStore::default();
    store.put_user(User {
        password_hash: hasher.hash("pw").unwrap(),
        ..user("alice")
    });
    store.put_application(Application {
        redirect_uris: REGISTERED.iter().map(|s| s.to_string()).collect(),
        ..application("app")
    });
    let config = Config::from_lookup(|_| None).unwrap();
    let whitelist = CachedWhitelist::new(
        MemorySource::new(Some("app,other")),
        Duration::from_secs(60),
        Duration::ZERO,
    );
    let flow = Server::new(
        store.clone(),
        whitelist,
        ManualClock::at(1_000_000),
        OsRandom,
        hasher,
        Settings::from(&config),
    );
    (flow, store)
}

/// A request assembled from valid and invalid pieces.
#[derive(Debug, Clone)]
struct Attempt {
    method: &'static str,
    content_type: Option<&'static str>,
    client_id: Option<&'static str>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    response_type: Option<&'static str>,
    state: Option<String>,
    auth: Option<String>,
    junk: String,
}

/// Mostly valid pieces, so that a good share of cases gets all the way to a token.
fn attempt() -> impl Strategy<Value = Attempt> {
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    (
        prop_oneof![8 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT")],
        prop_oneof![
            8 => Just(Some("application/x-www-form-urlencoded")),
            1 => Just(None),
            1 => Just(Some("application/json")),
        ],
        prop_oneof![8 => Just(Some("app")), 1 => Just(Some("other")), 1 => Just(Some("nope")), 1 => Just(None)],
        prop_oneof![
            6 => prop::sample::select(REGISTERED.to_vec()).prop_map(|s| Some(s.to_string())),
            2 => "\\PC{0,30}".prop_map(Some),
            2 => (1u32..70000).prop_map(|p| Some(format!("http://127.0.0.1:{p}/cb"))),
            1 => Just(None),
        ],
        prop_oneof![
            4 => Just(Some("repo:read".to_string())),
            4 => Just(Some("repo:write,org:admin".to_string())),
            1 => Just(Some("super:user".to_string())),
            1 => "\\PC{0,20}".prop_map(Some),
            1 => Just(None),
        ],
        prop_oneof![6 => Just(None), 2 => Just(Some("token")), 1 => Just(Some("code"))],
        prop::option::of("\\PC{0,20}"),
        prop_oneof![
            7 => Just(Some(basic("alice:pw"))),
            1 => Just(Some(basic("alice:wrong"))),
            1 => Just(Some(basic("bob:pw"))),
            1 => "\\PC{0,30}".prop_map(Some),
            1 => Just(None),
        ],
        prop_oneof![8 => Just(String::new()), 2 => "[a-z=&%+]{0,10}"],
    )
        .prop_map(
            |(method, content_type, client_id, redirect_uri, scope, response_type, state, auth, junk)| Attempt {
                method,
                content_type,
                client_id,
                redirect_uri,
                scope,
                response_type,
                state,
                auth,
                junk,
            },
        )
}

impl Attempt {
    fn body(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("client_id", self.client_id.map(str::to_string)),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope.clone()),
            ("response_type", self.response_type.map(str::to_string)),
            ("state", self.state.clone()),
        ];
        for (k, v) in &fields {
            if let Some(v) = v {
                s.append_pair(k, v);
            }
        }
        if self.junk.is_empty() {
            s.finish()
        } else {
            format!("{}&{}", s.finish(), self.junk)
        }
    }

    fn request(&self) -> Request<Vec<u8>> {
        let mut b = Request::builder()
            .method(self.method)
            .uri("/oauth/authorizeapp");
        if let Some(ct) = self.content_type {
            b = b.header("content-type", ct);
        }
        if let Some(a) = self
            .auth
            .as_deref()
            .filter(|a| http::HeaderValue::from_str(a).is_ok())
        {
            b = b.header("authorization", a);
        }
        b.body(self.body().into_bytes()).unwrap()
    }
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn the_flow_never_panics_and_issues_only_for_valid_requests(a in attempt()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (f, store) = flow();
        let r = rt.block_on(f.handle(&a.request())).response;
        prop_assert!([302, 400, 401, 403, 405, 413, 415, 429, 503].contains(&r.status().as_u16()), "{}", r.status());
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        if let Some(loc) = &location {
            // A token's answer is in the fragment, a code request's in the query.
            let base = loc.split(['#', '?']).next().unwrap();
            prop_assert!(redirect::matches_any(REGISTERED.as_slice(), base), "redirected to {}", loc);
        }
        let issued = location.as_deref().is_some_and(|l| l.contains("#access_token="));
        prop_assert_eq!(issued, !store.tokens().is_empty());
        if issued {
            let junk_ok = form::parse(a.body().as_bytes()).is_ok();
            prop_assert!(a.method == "POST" && a.content_type != Some("application/json") && junk_ok);
            prop_assert_eq!(a.client_id, Some("app"));
            let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:pw"));
            prop_assert_eq!(a.auth.as_deref(), Some(good.as_str()));
            prop_assert!(matches!(a.response_type, None | Some("token") | Some("")));
            let scope = a.scope.clone().unwrap_or_default();
            prop_assert!(!scope.trim().is_empty() && !scope.contains("super:user"));
        }
    }
}

#[test]
fn the_basic_generator_reaches_both_answers() {
    // The property above is only worth its cases if both of its branches run often.
    let mut runner = proptest::test_runner::TestRunner::new(config(512));
    let accepted = std::cell::Cell::new(0u32);
    let strategy = (username(), password(), any::<bool>());
    runner
        .run(&strategy, |(user, pass, padded)| {
            let header = basic_header(&user, &pass, "Basic", padded);
            let ok = basic_auth::parse([header.as_bytes()]).is_some();
            accepted.set(accepted.get() + u32::from(ok));
            Ok(())
        })
        .unwrap();
    let accepted = accepted.get();
    eprintln!("{accepted} of 512 generated credentials were accepted");
    assert!(
        (128..=384).contains(&accepted),
        "{accepted} of 512 accepted: one branch is starved"
    );
}

#[test]
fn the_generator_reaches_issuance() {
    // Runs the property with its own runner so the count belongs to this test.
    const CASES: u32 = 400;
    let mut runner = proptest::test_runner::TestRunner::new(config(CASES));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issued = std::cell::Cell::new(0);
    runner
        .run(&attempt(), |a| {
            let (f, store) = flow();
            rt.block_on(f.handle(&a.request()));
            issued.set(issued.get() + usize::from(!store.tokens().is_empty()));
            Ok(())
        })
        .unwrap();
    let issued = issued.get();
    eprintln!("{issued} of {CASES} generated requests got a token");
    // About 12 % get one (47-54 of 400 in three runs). A floor of 5 % keeps random
    // generation from failing by chance (100 cases with a 10 % floor failed at 9),
    // while still catching a generator that stops reaching issuance.
    assert!(
        issued * 20 >= CASES as usize,
        "only {issued} of {CASES} generated requests got a token"
    );
}
