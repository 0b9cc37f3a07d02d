//! The contract, row by row, through the whole request flow with in-memory adapters:
//! no network, no AWS. The DynamoDB and SSM adapters have their own tests against moto.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine;
use direct_oauth::clock::ManualClock;
use direct_oauth::config::{Config, QUAY_SCOPES};
use direct_oauth::password::{PasswordHasherArgon, Passwords};
use direct_oauth::random::CountingRandom;
use direct_oauth::service::{Service, Settings};
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::{Application, User};
use direct_oauth::token::AccessToken;
use direct_oauth::whitelist::{CachedWhitelist, MemorySource, SourceError, WhitelistSource};
use lambda_http::Body;
use lambda_http::http::{Request, Response};

const CLIENT: &str = "some_client_id";
const REDIRECT: &str = "https://my/internal/application/token_created";
const QUAY_AUTH: &str = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl";
const GOOD_BODY: &str = "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin";
const NOW_MS: u64 = 1_800_000_000_000;

type Flow = Service<MemoryStore, MemorySource, ManualClock, CountingRandom>;

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn flow_with(settings: impl FnOnce(&mut Settings)) -> Flow {
    service(settings, |_| {
        MemorySource::new(Some("some_client_id,multi,unregistered"))
    })
}

/// The flow over the demo data, with the whitelist read from whatever `source` makes.
fn service<S: WhitelistSource>(
    settings: impl FnOnce(&mut Settings),
    source: impl FnOnce(&MemoryStore) -> S,
) -> Service<MemoryStore, S, ManualClock, CountingRandom> {
    let hasher = PasswordHasherArgon::new().unwrap();
    let store = MemoryStore::default();
    for (name, superuser, enabled) in [
        ("username", false, true),
        ("root", true, true),
        ("gone", false, false),
    ] {
        store.put_user(User {
            username: name.into(),
            password_hash: hasher.hash("passwordhere").unwrap(),
            enabled,
            superuser,
        });
    }
    store.put_application(Application {
        client_id: CLIENT.into(),
        name: "Quay example".into(),
        redirect_uris: vec![REDIRECT.into()],
        scope_ceiling: None,
    });
    store.put_application(Application {
        client_id: "multi".into(),
        name: "two URIs".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
    });
    let config = Config::from_lookup(|_| None).unwrap();
    let mut s = Settings::from(&config);
    settings(&mut s);
    let source = source(&store);
    let whitelist = CachedWhitelist::new(source, Duration::from_secs(60), Duration::from_secs(0));
    Service::new(
        store,
        whitelist,
        ManualClock::at(NOW_MS),
        CountingRandom::default(),
        hasher,
        s,
    )
}

fn flow() -> Flow {
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

fn header<'a>(r: &'a Response<Body>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn json(r: &Response<Body>) -> serde_json::Value {
    assert_eq!(header(r, "content-type"), Some("application/json"));
    serde_json::from_slice(r.body().as_ref()).expect("a JSON error body")
}

/// Every JSON error: status, error code, no redirect, no-store; and no token written.
fn assert_refused(f: &Flow, r: &Response<Body>, status: u16, error: &str) {
    assert_eq!(r.status(), status, "{:?}", r.body());
    assert_eq!(json(r)["error"], error);
    assert!(header(r, "location").is_none());
    assert_eq!(header(r, "cache-control"), Some("no-store"));
    assert_eq!(header(r, "pragma"), Some("no-cache"));
    assert!(f.store().tokens().is_empty(), "no token may be written");
}

fn fragment(r: &Response<Body>) -> Vec<(String, String)> {
    let location = header(r, "location").expect("a Location");
    let (_, frag) = location.split_once('#').expect("a fragment");
    url::form_urlencoded::parse(frag.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn success_issues_a_stored_token_in_the_contract_format() {
    let f = flow();
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_eq!(r.status(), 302);
    let location = header(&r, "location").unwrap();
    let token = location
        .strip_prefix(&format!("{REDIRECT}#access_token="))
        .and_then(|rest| rest.strip_suffix("&token_type=Bearer&expires_in=315576000"))
        .unwrap_or_else(|| panic!("unexpected Location {location}"));
    assert!(
        token.len() >= 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert!(r.body().is_empty());

    let records = f.store().tokens();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    let parsed = AccessToken::parse(token).unwrap();
    assert_eq!(rec.token_id, parsed.id());
    assert!(parsed.secret_matches(&rec.secret_hash));
    assert_eq!(
        (rec.username.as_str(), rec.client_id.as_str()),
        ("username", CLIENT)
    );
    assert_eq!(rec.scopes, ["repo:write", "org:admin"]);
    assert_eq!(rec.issued_at, NOW_MS / 1000);
    assert_eq!(rec.expires_at, NOW_MS / 1000 + 315_576_000);
    assert!(
        !format!("{rec:?}").contains(&token[22..]),
        "the secret is not stored"
    );
}

#[tokio::test]
async fn state_is_echoed_last_and_lifetime_is_configurable() {
    let f = flow_with(|s| s.token_lifetime = Duration::from_secs(3600));
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("{GOOD_BODY}&state=xyz%26access_token%3Devil"),
        ))
        .await;
    let pairs = fragment(&r);
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["access_token", "token_type", "expires_in", "state"]);
    assert_eq!(pairs[2].1, "3600");
    assert_eq!(pairs[3].1, "xyz&access_token=evil");
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_with_one_registered() {
    let f = flow();
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            "client_id=some_client_id&scope=repo:read",
        ))
        .await;
    assert_eq!(r.status(), 302);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with(&format!("{REDIRECT}#access_token="))
    );
}

#[tokio::test]
async fn loopback_redirect_may_change_port() {
    let f = flow();
    let body = "client_id=multi&redirect_uri=http://127.0.0.1:53111/cb&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await;
    assert_eq!(r.status(), 302);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with("http://127.0.0.1:53111/cb#access_token=")
    );
}

#[tokio::test]
async fn row_1_method_must_be_post() {
    let f = flow();
    for m in ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"] {
        let req = Request::builder().method(m).body(Vec::new()).unwrap();
        let r = f.handle(&req).await;
        assert_refused(&f, &r, 405, "invalid_request");
        assert_eq!(header(&r, "allow"), Some("POST"));
    }
}

#[tokio::test]
async fn row_2_body_must_be_a_small_well_formed_form() {
    let f = flow();
    let mut json_req = post(Some(QUAY_AUTH), r#"{"client_id":"some_client_id"}"#);
    json_req
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_refused(&f, &f.handle(&json_req).await, 415, "invalid_request");

    let mut text = post(Some(QUAY_AUTH), GOOD_BODY);
    text.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_refused(&f, &f.handle(&text).await, 415, "invalid_request");

    let big = format!("{GOOD_BODY}&pad={}", "x".repeat(16 * 1024));
    assert_refused(
        &f,
        &f.handle(&post(Some(QUAY_AUTH), &big)).await,
        413,
        "invalid_request",
    );

    for body in [
        &format!("{GOOD_BODY}&client_id=other")[..],
        &format!("{GOOD_BODY}&scope=super:user")[..],
        &format!("{GOOD_BODY}&redirect_uri=https://evil.example/")[..],
        "client_id=some%zzclient",
        "client_id=%FF",
    ] {
        assert_refused(
            &f,
            &f.handle(&post(Some(QUAY_AUTH), body)).await,
            400,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn row_3_client_id_is_required() {
    let f = flow();
    for body in ["", "scope=repo:read", "client_id=&scope=repo:read"] {
        let r = f.handle(&post(Some(QUAY_AUTH), body)).await;
        assert_refused(&f, &r, 400, "invalid_request");
        assert_eq!(json(&r)["error_description"], "client_id is required");
    }
}

#[tokio::test]
async fn row_4_client_must_be_whitelisted_before_credentials_matter() {
    let f = flow();
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    for auth in [Some(QUAY_AUTH), None, Some("Basic !!")] {
        assert_refused(
            &f,
            &f.handle(&post(auth, body)).await,
            403,
            "unauthorized_client",
        );
    }
}

#[tokio::test]
async fn row_4_whitelist_outage_with_nothing_cached_is_503() {
    let f = flow();
    f.whitelist().source().set(None);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert!(header(&r, "retry-after").is_some());
}

#[tokio::test]
async fn row_4_refusal_from_the_cached_list_reads_nothing() {
    let f = flow();
    let reads = f.store().lookup_counter();
    f.whitelist().current(NOW_MS).await.unwrap();
    let before = reads.load(Ordering::Relaxed);
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await;
    assert_refused(&f, &r, 403, "unauthorized_client");
    assert_eq!(
        reads.load(Ordering::Relaxed),
        before,
        "no DynamoDB read for a refusal"
    );
}

#[tokio::test]
async fn row_4_comes_before_a_store_outage_on_a_cold_list() {
    let f = flow();
    f.store().set_unavailable(true);
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await;
    assert_refused(&f, &r, 403, "unauthorized_client");
}

/// A whitelist source that answers only once the store has been read, and fails if it is
/// never read: the flow passes only when it asks both at the same time.
struct AnswersAfterTheStoreRead(Arc<AtomicU32>);

impl WhitelistSource for AnswersAfterTheStoreRead {
    async fn fetch(&self) -> Result<String, SourceError> {
        for _ in 0..100 {
            if self.0.load(Ordering::Relaxed) > 0 {
                return Ok("some_client_id".into());
            }
            tokio::task::yield_now().await;
        }
        Err(SourceError(
            "the store was not read while SSM was asked".into(),
        ))
    }
}

#[tokio::test]
async fn a_due_whitelist_is_fetched_while_the_store_is_read() {
    let f = service(
        |_| {},
        |store| AnswersAfterTheStoreRead(store.lookup_counter()),
    );
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_eq!(r.status(), 302, "{:?}", json(&r));
    assert_eq!(
        f.store().lookup_counter().load(Ordering::Relaxed),
        1,
        "one read, not two"
    );
}

#[tokio::test]
async fn row_5_application_must_be_registered() {
    let f = flow();
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            "client_id=unregistered&scope=repo:read",
        ))
        .await;
    assert_refused(&f, &r, 400, "invalid_request");
    assert_eq!(json(&r)["error_description"], "unknown client");
}

#[tokio::test]
async fn row_6_redirect_uri_must_match_exactly_and_never_redirects() {
    let f = flow();
    for uri in [
        "https://my/internal/application/token_created/",
        "https://my/internal/application/token_created?x=1",
        "https://my/internal/application/token_created%23frag",
        "https://MY/internal/application/token_created",
        "https://my/internal/application/token_createdx",
        "https://my/internal/application/",
        "https://my.evil.example/internal/application/token_created",
        "javascript:alert(1)",
    ] {
        let body = format!("client_id=some_client_id&redirect_uri={uri}&scope=repo:read");
        // Even without credentials: the URI is judged before them and never redirected to.
        for auth in [Some(QUAY_AUTH), None] {
            assert_refused(
                &f,
                &f.handle(&post(auth, &body)).await,
                400,
                "invalid_request",
            );
        }
    }
    let r = f
        .handle(&post(Some(QUAY_AUTH), "client_id=multi&scope=repo:read"))
        .await;
    assert_refused(&f, &r, 400, "invalid_request");
}

#[tokio::test]
async fn row_7_credentials_are_required_and_well_formed() {
    let f = flow();
    let no_colon = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("usernamepasswordhere")
    );
    for auth in [
        None,
        Some("Bearer abc"),
        Some("Basic %%%"),
        Some(no_colon.as_str()),
        Some("Basic Og=="),
    ] {
        let r = f.handle(&post(auth, GOOD_BODY)).await;
        assert_refused(&f, &r, 401, "access_denied");
        assert_eq!(
            header(&r, "www-authenticate"),
            Some("Basic realm=\"direct-oauth\", charset=\"UTF-8\"")
        );
    }
    // Malformed credentials are not a login attempt: nothing is counted.
    assert!(f.store().failed_logins("username").is_none());
}

#[tokio::test]
async fn row_8_failed_logins_back_off_without_verifying() {
    let f = flow();
    let wrong = basic("username", "wrong");
    assert_refused(
        &f,
        &f.handle(&post(Some(&wrong), GOOD_BODY)).await,
        401,
        "access_denied",
    );
    // Within 0.5 s even the right password is refused, and not verified.
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_refused(&f, &r, 429, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert_eq!(f.store().failed_logins("username").unwrap().failures, 1);
    f.clock().advance_ms(500);
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.status(),
        302
    );
    assert!(
        f.store().failed_logins("username").is_none(),
        "a success resets the count"
    );
}

#[tokio::test]
async fn row_8_windows_grow_and_are_capped() {
    let f = flow_with(|s| s.backoff_cap = Duration::from_secs(4));
    let wrong = basic("nobody", "x");
    let mut retry_afters = Vec::new();
    for _ in 0..5 {
        let r = f.handle(&post(Some(&wrong), GOOD_BODY)).await;
        assert_eq!(r.status(), 401);
        let r = f.handle(&post(Some(&wrong), GOOD_BODY)).await;
        assert_eq!(r.status(), 429);
        let secs: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
        retry_afters.push(secs);
        f.clock().advance_ms(secs * 1000);
    }
    assert_eq!(retry_afters, [1, 2, 4, 4, 4]);
}

#[tokio::test]
async fn row_9_unknown_disabled_and_wrong_password_look_the_same() {
    let f = flow();
    let mut seen = Vec::new();
    for (user, password) in [
        ("username", "wrong"),
        ("no-such-user", "passwordhere"),
        ("gone", "passwordhere"),
    ] {
        let r = f
            .handle(&post(Some(&basic(user, password)), GOOD_BODY))
            .await;
        assert_refused(&f, &r, 401, "access_denied");
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        seen.push((headers, r.body().as_ref().to_vec()));
        assert_eq!(
            f.store().failed_logins(user).unwrap().failures,
            1,
            "{user} counted"
        );
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "responses differ: {seen:?}"
    );
}

#[tokio::test]
async fn row_10_response_type_must_be_token() {
    let f = flow();
    for rt in ["code", "id_token", "token%20code"] {
        let r = f
            .handle(&post(
                Some(QUAY_AUTH),
                &format!("{GOOD_BODY}&response_type={rt}&state=s1"),
            ))
            .await;
        assert_eq!(r.status(), 302);
        let pairs = fragment(&r);
        assert_eq!(
            pairs[0],
            ("error".into(), "unsupported_response_type".into())
        );
        assert_eq!(pairs.last().unwrap(), &("state".into(), "s1".into()));
        assert!(
            header(&r, "location")
                .unwrap()
                .starts_with(&format!("{REDIRECT}#error="))
        );
        assert!(f.store().tokens().is_empty());
    }
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("{GOOD_BODY}&response_type=token"),
        ))
        .await;
    assert_eq!(r.status(), 302);
    assert_eq!(fragment(&r)[0].0, "access_token");
}

#[tokio::test]
async fn row_10_and_11_come_after_the_password() {
    let f = flow();
    let wrong = basic("username", "wrong");
    let body = format!("{GOOD_BODY}&response_type=code");
    assert_refused(
        &f,
        &f.handle(&post(Some(&wrong), &body)).await,
        401,
        "access_denied",
    );
    let body = "client_id=some_client_id&scope=repo:push";
    assert_refused(&f, &f.handle(&post(None, body)).await, 401, "access_denied");
}

#[tokio::test]
async fn row_11_scopes_are_checked() {
    let f = flow();
    let cases = [
        (
            "client_id=some_client_id&scope=repo:push,org:admin",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id&scope=%22bad%22",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id&scope=super:user",
            QUAY_AUTH.to_string(),
            "access_denied",
        ),
        (
            "client_id=multi&redirect_uri=https://a.example/cb&scope=repo:write",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
    ];
    for (body, auth, error) in cases {
        let r = f.handle(&post(Some(&auth), body)).await;
        assert_eq!(r.status(), 302, "{body}");
        assert_eq!(
            fragment(&r)[0],
            ("error".to_string(), error.to_string()),
            "{body}"
        );
        assert!(f.store().tokens().is_empty());
    }
    let root = basic("root", "passwordhere");
    let r = f
        .handle(&post(
            Some(&root),
            "client_id=some_client_id&scope=super:user repo:read",
        ))
        .await;
    assert_eq!(fragment(&r)[0].0, "access_token");
}

#[tokio::test]
async fn row_12_store_outage_is_503_without_a_token() {
    let f = flow();
    f.store().set_unavailable(true);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("2"));
}

#[tokio::test]
async fn row_12_an_id_collision_is_retried_once_then_500() {
    let f = flow();
    f.store().inject_conflicts(1);
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.status(),
        302
    );
    assert_eq!(f.store().tokens().len(), 1);
    let f = flow();
    f.store().inject_conflicts(2);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    assert_refused(&f, &r, 500, "server_error");
}

#[tokio::test]
async fn bcrypt_hashes_from_quay_verify_and_are_upgraded() {
    let f = flow();
    f.store().put_user(User {
        username: "quay-user".into(),
        password_hash: bcrypt::hash("s3cret", 4).unwrap(),
        enabled: true,
        superuser: false,
    });
    let r = f
        .handle(&post(Some(&basic("quay-user", "s3cret")), GOOD_BODY))
        .await;
    assert_eq!(r.status(), 302);
    let upgraded = f.store().user("quay-user").unwrap().password_hash;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
}

#[test]
fn the_default_catalogue_is_quays() {
    let config = Config::from_lookup(|_| None).unwrap();
    let expected: BTreeSet<String> = QUAY_SCOPES.split(' ').map(str::to_string).collect();
    assert_eq!(config.scopes, expected);
}
