//! The web approval on the memory store: sign-in, consent, the code, sign-out, and the
//! refusals a page must make (another site's post, a stale form, a session that ended).

use super::*;
use direct_oauth::store::SessionStore;
use url::form_urlencoded;

pub(super) const ISSUER: &str = "https://as.example";
pub(super) const ORIGIN: &str = "https://as.example";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub(super) fn pages_flow() -> TestFlow {
    flow_with(|s| s.issuer = Some(ISSUER.into()))
}

pub(super) fn query(extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "repo:read"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub(super) fn get(cookie: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method("GET")
        .uri(format!("/oauth/authorize?{}", query(&[])));
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Vec::new()).unwrap()
}

pub(super) fn form_post(
    path: &str,
    body: &str,
    cookie: Option<&str>,
    origin: &str,
) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", origin);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// Signs `username` in; the session cookie's `name=value`.
pub(super) async fn signed_in(f: &TestFlow, password: &str) -> Response<String> {
    let body = query(&[("username", "username"), ("password", password)]);
    f.handle(&form_post("/oauth/signin", &body, None, ORIGIN))
        .await
        .response
}

pub(super) fn cookie_of(r: &Response<String>) -> String {
    let set = header(r, "set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_string()
}

pub(super) fn csrf_of(html: &str) -> String {
    let after = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a CSRF field");
    after.split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_then_consent_gives_the_client_a_code() {
    let f = pages_flow();
    let page = f.handle(&get(None)).await.response;
    assert_eq!(page.status(), 200);
    assert!(page.body().contains("Sign in") && page.body().contains("Quay example"));
    let signed = signed_in(&f, "passwordhere").await;
    assert_eq!(signed.status(), 303);
    assert!(header(&signed, "location").unwrap().starts_with(ISSUER));
    let cookie = cookie_of(&signed);
    let consent = f.handle(&get(Some(&cookie))).await.response;
    assert!(consent.body().contains("repo:read"), "{}", consent.body());
    let csrf = csrf_of(consent.body());
    let body = query(&[("csrf", &csrf), ("decision", "allow")]);
    let allowed = f
        .handle(&form_post("/oauth/authorize", &body, Some(&cookie), ORIGIN))
        .await
        .response;
    assert_eq!(allowed.status(), 302);
    let location = header(&allowed, "location").unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    assert!(
        location.ends_with("&state=st&iss=https%3A%2F%2Fas.example"),
        "{location}"
    );
    assert_eq!(f.store().codes().len(), 1);
}

#[tokio::test]
async fn a_wrong_password_says_one_thing_and_counts() {
    let f = pages_flow();
    let failed = signed_in(&f, "not the password").await;
    assert_eq!(failed.status(), 401);
    assert!(failed.body().contains("The username or password is wrong."));
    assert!(header(&failed, "set-cookie").is_none());
    assert_eq!(f.store().failed_logins("username").unwrap().failures, 1);
    let again = signed_in(&f, "passwordhere").await;
    assert_eq!(
        again.status(),
        429,
        "the back-off direct approval keeps too"
    );
}

#[tokio::test]
async fn forms_from_elsewhere_or_without_the_session_s_token_are_refused() {
    let f = pages_flow();
    let body = query(&[("username", "username"), ("password", "passwordhere")]);
    let forged = form_post("/oauth/signin", &body, None, "https://evil.example");
    assert_eq!(f.handle(&forged).await.response.status(), 403);
    let cookie = cookie_of(&signed_in(&f, "passwordhere").await);
    let body = query(&[("csrf", "not-the-token"), ("decision", "allow")]);
    let stale = form_post("/oauth/authorize", &body, Some(&cookie), ORIGIN);
    assert_eq!(f.handle(&stale).await.response.status(), 403);
    assert!(f.store().codes().is_empty());
}

#[tokio::test]
async fn a_session_ends_at_sign_out_and_when_idle() {
    let f = pages_flow();
    let cookie = cookie_of(&signed_in(&f, "passwordhere").await);
    let consent = f.handle(&get(Some(&cookie))).await.response;
    let csrf = csrf_of(consent.body());
    let out = form_post(
        "/oauth/signout",
        &format!("csrf={csrf}"),
        Some(&cookie),
        ORIGIN,
    );
    let out = f.handle(&out).await.response;
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    let id = cookie.split_once('=').unwrap().1;
    let key = direct_oauth::session::key_of(id);
    assert_eq!(f.store().session(&key).await.unwrap(), None);
    assert!(
        f.handle(&get(Some(&cookie)))
            .await
            .response
            .body()
            .contains("Sign in")
    );
    let idle = cookie_of(&signed_in(&f, "passwordhere").await);
    f.clock()
        .advance_ms(direct_oauth::session::IDLE.as_millis() as u64);
    let after = f.handle(&get(Some(&idle))).await.response;
    assert!(after.body().contains("Sign in"), "idle too long");
}

#[tokio::test]
async fn consent_once_given_is_not_asked_again_until_more_is_asked() {
    let f = pages_flow();
    let cookie = cookie_of(&signed_in(&f, "passwordhere").await);
    let consent = f.handle(&get(Some(&cookie))).await.response;
    let csrf = csrf_of(consent.body());
    let body = query(&[("csrf", &csrf), ("decision", "allow")]);
    let allow = form_post("/oauth/authorize", &body, Some(&cookie), ORIGIN);
    assert_eq!(f.handle(&allow).await.response.status(), 302);
    let again = f.handle(&get(Some(&cookie))).await.response;
    assert_eq!(again.status(), 302, "no page: the code at once");
    assert!(header(&again, "location").unwrap().contains("?code="));
    let more = query(&[]).replace("scope=repo%3Aread", "scope=repo%3Aread+repo%3Awrite");
    let wider = Request::builder()
        .uri(format!("/oauth/authorize?{more}"))
        .header("cookie", &cookie)
        .body(Vec::new())
        .unwrap();
    let asked = f.handle(&wider).await.response;
    assert_eq!(asked.status(), 200);
    assert!(asked.body().contains("repo:write"), "asked again for more");
}
