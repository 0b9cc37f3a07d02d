//! The device authorization grant (RFC 8628) on the memory store: a tool asks for codes,
//! the person signs in at the verification page (the link's code carried through the
//! sign-in), sees the request with the phishing warning and decides; the tool's polls
//! answer pending, slow_down, access_denied, expired_token, then the token (with a
//! refresh token when the application gets them), once. Guessing codes is bounded.

use super::code_flow::to;
use super::web_approval::{ISSUER, ORIGIN, cookie_of, csrf_of, form_post, pages_flow};
use super::*;
use crate::faults::Operation;
use direct_oauth::device;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The pages' flow, its demo application registered for the device grant.
fn device_flow() -> TestFlow {
    let f = pages_flow();
    let mut app = f.store().application(CLIENT).unwrap();
    app.device_grant = true;
    f.store().put_application(app);
    f
}

/// The tool's request for codes, as sent.
async fn ask(f: &TestFlow, form: &str) -> Response<String> {
    f.handle(&to("/oauth/device_authorization", None, form))
        .await
        .response
}

/// The tool's request: the answer's JSON.
async fn authorize(f: &TestFlow, scope: &str) -> serde_json::Value {
    let mut r = to(
        "/oauth/device_authorization",
        None,
        &format!("client_id={CLIENT}&scope={scope}"),
    );
    r.headers_mut()
        .insert("user-agent", "doa-login/1.0".parse().unwrap());
    let r = f.handle(&r).await.response;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    json(&r)
}

async fn poll(f: &TestFlow, device_code: &str) -> Response<String> {
    let body = format!("grant_type={DEVICE_GRANT}&client_id={CLIENT}&device_code={device_code}");
    f.handle(&to("/oauth/token", None, &body)).await.response
}

fn error_of(r: &Response<String>) -> String {
    assert_eq!(r.status(), 400, "{}", r.body());
    json(r)["error"].as_str().unwrap().to_string()
}

fn page(path: &str, cookie: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::builder().method("GET").uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Vec::new()).unwrap()
}

/// Follows `verification_uri_complete` without a session: the sign-in page, then the
/// sign-in, which comes back to the verification page with the code; its cookie.
async fn signed_in_through(f: &TestFlow, complete: &str) -> String {
    let path = complete.strip_prefix(ISSUER).unwrap();
    let first = f.handle(&page(path, None)).await.response;
    assert!(
        first.body().contains("name=\"next\" value=\"device\""),
        "{}",
        first.body()
    );
    let (_, code) = path.split_once("user_code=").unwrap();
    assert!(
        first
            .body()
            .contains(&format!("name=\"user_code\" value=\"{code}\""))
    );
    let body = format!("next=device&user_code={code}&username=username&password=passwordhere");
    let signed = f
        .handle(&form_post("/oauth/signin", &body, None, ORIGIN))
        .await
        .response;
    assert_eq!(signed.status(), 303, "{}", signed.body());
    assert_eq!(header(&signed, "location"), Some(complete));
    cookie_of(&signed)
}

fn field<'a>(codes: &'a serde_json::Value, name: &str) -> &'a str {
    codes[name].as_str().unwrap()
}

/// The person signed in from the link of `codes` (the device authorization's answer).
async fn signed_in_for(f: &TestFlow, codes: &serde_json::Value) -> String {
    signed_in_through(f, field(codes, "verification_uri_complete")).await
}

/// The person signs in from the link of `codes` and allows the request.
async fn allowed(f: &TestFlow, codes: &serde_json::Value) {
    let cookie = signed_in_for(f, codes).await;
    let decision = format!("user_code={}&decision=allow", field(codes, "user_code"));
    let r = verify(f, &cookie, &decision).await;
    assert!(r.body().contains("Device connected"), "{}", r.body());
}

/// Posts the verification page's form: the request page, or the decision's.
async fn verify(f: &TestFlow, cookie: &str, fields: &str) -> Response<String> {
    let entry = f
        .handle(&page("/oauth/device", Some(cookie)))
        .await
        .response;
    let body = format!("csrf={}&{fields}", csrf_of(entry.body()));
    f.handle(&form_post("/oauth/device", &body, Some(cookie), ORIGIN))
        .await
        .response
}

#[tokio::test]
async fn the_device_flow_end_to_end() {
    let f = device_flow();
    let codes = authorize(&f, "repo:read").await;
    let user_code = field(&codes, "user_code");
    assert_eq!(user_code.len(), 9, "BCDF-GHJK");
    assert!(device::normalize(user_code).is_some());
    assert_eq!(codes["verification_uri"], format!("{ISSUER}/oauth/device"));
    assert_eq!(
        (codes["interval"].as_u64(), codes["expires_in"].as_u64()),
        (Some(5), Some(600))
    );
    let device_code = field(&codes, "device_code");
    f.clock().advance_ms(5_000);
    assert_eq!(
        error_of(&poll(&f, device_code).await),
        "authorization_pending"
    );
    let complete = codes["verification_uri_complete"].as_str().unwrap();
    let cookie = signed_in_through(&f, complete).await;
    // The link's GET fills the entry; only the person's post shows the request.
    let shown = f
        .handle(&page(complete.strip_prefix(ISSUER).unwrap(), Some(&cookie)))
        .await;
    assert!(
        shown
            .response
            .body()
            .contains(&format!("value=\"{user_code}\""))
    );
    let request = verify(&f, &cookie, &format!("user_code={user_code}")).await;
    let html = request.body();
    assert_eq!(request.status(), 200, "{html}");
    for expected in [
        "Quay example",
        "repo:read",
        "doa-login/1.0",
        "If someone sent you this code",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let decided = verify(
        &f,
        &cookie,
        &format!("user_code={user_code}&decision=allow"),
    )
    .await;
    assert!(
        decided.body().contains("Device connected"),
        "{}",
        decided.body()
    );
    assert!(f.store().tokens().is_empty(), "no token before the poll");
    f.clock().advance_ms(5_000);
    let r = poll(&f, device_code).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let token = json(&r)["access_token"].as_str().unwrap().to_string();
    assert_eq!(f.store().tokens()[0].token_id, token_id(&token));
    assert_eq!(f.store().tokens()[0].username, "username");
    // Once.
    f.clock().advance_ms(5_000);
    assert_eq!(error_of(&poll(&f, device_code).await), "invalid_grant");
    assert_eq!(f.store().tokens().len(), 1);
}

#[tokio::test]
async fn polling_sooner_than_the_interval_slows_the_tool_down() {
    let f = device_flow();
    let codes = authorize(&f, "repo:read").await;
    let device_code = field(&codes, "device_code");
    assert_eq!(
        error_of(&poll(&f, device_code).await),
        "slow_down",
        "at once: too soon"
    );
    // The interval is now 10 s: 5 s later is still too soon, 10 s after that is in time.
    f.clock().advance_ms(5_000);
    assert_eq!(error_of(&poll(&f, device_code).await), "slow_down");
    f.clock().advance_ms(15_000);
    assert_eq!(
        error_of(&poll(&f, device_code).await),
        "authorization_pending"
    );
}

#[tokio::test]
async fn a_denial_and_an_expiry_end_the_polling() {
    let f = device_flow();
    let codes = authorize(&f, "repo:read").await;
    let (device_code, user_code) = (field(&codes, "device_code"), field(&codes, "user_code"));
    let cookie = signed_in_for(&f, &codes).await;
    let denied = verify(&f, &cookie, &format!("user_code={user_code}&decision=deny")).await;
    assert!(denied.body().contains("Denied"));
    f.clock().advance_ms(5_000);
    assert_eq!(error_of(&poll(&f, device_code).await), "access_denied");
    let late = authorize(&f, "repo:read").await;
    f.clock().advance_ms(600_000);
    assert_eq!(
        error_of(&poll(&f, late["device_code"].as_str().unwrap()).await),
        "expired_token"
    );
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn wrong_codes_are_counted_and_bounded() {
    let f = device_flow();
    let codes = authorize(&f, "repo:read").await;
    let cookie = signed_in_for(&f, &codes).await;
    // Not a code of ours: refused without a read, not counted.
    let r = verify(&f, &cookie, "user_code=AAAA-0000").await;
    assert_eq!(r.status(), 400);
    for _ in 0..device::MAX_MISSES {
        let r = verify(&f, &cookie, "user_code=BBBB-BBBB").await;
        assert!(r.body().contains("That code is wrong"), "{}", r.body());
    }
    // Now even the right code waits for the window's end.
    let right = field(&codes, "user_code");
    let r = verify(&f, &cookie, &format!("user_code={right}")).await;
    assert_eq!(r.status(), 429, "{}", r.body());
    // The window outlives the codes: a new request's code is taken once it is over.
    f.clock().advance_ms(device::MISS_WINDOW.as_millis() as u64);
    let fresh = authorize(&f, "repo:read").await;
    let cookie = signed_in_through(&f, fresh["verification_uri_complete"].as_str().unwrap()).await;
    let r = verify(
        &f,
        &cookie,
        &format!("user_code={}", fresh["user_code"].as_str().unwrap()),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body());
}

#[tokio::test]
async fn an_application_not_registered_for_the_device_grant_gets_no_codes() {
    let f = pages_flow();
    let r = ask(&f, &format!("client_id={CLIENT}&scope=repo:read")).await;
    assert_eq!(error_of(&r), "unauthorized_client");
    let r = ask(&f, "client_id=nobody&scope=repo:read").await;
    assert_eq!(error_of(&r), "invalid_client");
    let f = device_flow();
    let r = ask(&f, &format!("client_id={CLIENT}&scope=no:such")).await;
    assert_eq!(error_of(&r), "invalid_scope");
}

#[tokio::test]
async fn the_super_user_scope_needs_a_superuser_to_approve() {
    let f = device_flow();
    let codes = authorize(&f, "super:user").await;
    let user_code = field(&codes, "user_code");
    let cookie = signed_in_for(&f, &codes).await;
    let r = verify(
        &f,
        &cookie,
        &format!("user_code={user_code}&decision=allow"),
    )
    .await;
    assert!(r.body().contains("Not allowed"), "{}", r.body());
    f.clock().advance_ms(5_000);
    assert_eq!(
        error_of(&poll(&f, field(&codes, "device_code")).await),
        "access_denied"
    );
}

#[tokio::test]
async fn a_user_disabled_after_the_approval_gets_nothing() {
    let f = device_flow();
    let codes = authorize(&f, "repo:read").await;
    allowed(&f, &codes).await;
    let mut user = f.store().user("username").unwrap();
    user.enabled = false;
    user.generation += 1;
    f.store().put_user(user);
    f.clock().advance_ms(5_000);
    assert_eq!(
        error_of(&poll(&f, field(&codes, "device_code")).await),
        "invalid_grant"
    );
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn an_outage_answers_503_and_writes_nothing() {
    let f = device_flow();
    f.store().set_failing(Operation::Device, true);
    let r = ask(&f, &format!("client_id={CLIENT}&scope=repo:read")).await;
    assert_eq!(r.status(), 503, "{}", r.body());
}

#[tokio::test]
async fn discovery_names_the_device_endpoint_and_grant() {
    let f = pages_flow();
    let meta = json(
        &f.handle(&page("/.well-known/oauth-authorization-server", None))
            .await
            .response,
    );
    assert_eq!(
        meta["device_authorization_endpoint"],
        format!("{ISSUER}/oauth/device_authorization")
    );
    let types = meta["grant_types_supported"].as_array().unwrap();
    assert!(types.iter().any(|t| t == DEVICE_GRANT), "{types:?}");
}

#[tokio::test]
async fn an_application_with_refresh_tokens_gets_one_from_the_device_grant() {
    let f = device_flow();
    let mut app = f.store().application(CLIENT).unwrap();
    app.refresh = Some(Default::default());
    f.store().put_application(app);
    let codes = authorize(&f, "repo:read").await;
    allowed(&f, &codes).await;
    f.clock().advance_ms(5_000);
    let r = poll(&f, field(&codes, "device_code")).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let body = json(&r);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("dor_"));
    assert_eq!(body["expires_in"], 3_600);
}
