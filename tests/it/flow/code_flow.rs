//! Quay's other flow, with PKCE: `response_type=code` at the direct endpoint, the code's
//! exchange at `/oauth/access_token`, introspection and discovery. A row per check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use direct_oauth::secret;
use sha2::{Digest, Sha256};

use super::*;

pub(super) const VERIFIER: &str = "a-verifier-of-forty-three-or-more-characters-0123456789";
pub(super) const SECRET: &str = "the-multi-app-secret";

pub(super) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(super) fn to(path: &str, auth: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut r = post(auth, body);
    *r.uri_mut() = path.parse().unwrap();
    r
}

/// A flow where `multi` is a confidential application.
pub(super) fn confidential() -> TestFlow {
    let f = flow();
    f.store().put_application(Application {
        name: "two URIs".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
        secret_hash: Some(secret::hash(SECRET)),
        ..application("multi")
    });
    f
}

pub(super) fn query(r: &Response<String>) -> Vec<(String, String)> {
    let location = header(r, "location").expect("a Location");
    assert!(
        !location.contains('#'),
        "a code's answer is in the query: {location}"
    );
    let (_, q) = location.split_once('?').expect("a query");
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

/// Asks for a code for `username` with PKCE; returns it.
pub(super) async fn code_for(f: &TestFlow, client: &str, extra: &str) -> String {
    let body = format!(
        "client_id={client}&response_type=code&scope=repo:read&state=st\
         &code_challenge={}&code_challenge_method=S256{extra}",
        challenge(VERIFIER)
    );
    let r = f.handle(&post(Some(QUAY_AUTH), &body)).await.response;
    assert_eq!(r.status().as_u16(), 302, "{}", r.body());
    let pairs = query(&r);
    assert_eq!(pairs[0].0, "code");
    assert_eq!(pairs[1], ("state".into(), "st".into()));
    pairs[0].1.clone()
}

pub(super) async fn exchange(f: &TestFlow, auth: Option<&str>, body: &str) -> Response<String> {
    f.handle(&to("/oauth/access_token", auth, body))
        .await
        .response
}

pub(super) fn grant(client: &str, code: &str, verifier: &str) -> String {
    format!("grant_type=authorization_code&client_id={client}&code={code}&code_verifier={verifier}")
}

#[tokio::test]
async fn row_10_a_code_is_issued_with_pkce_into_the_query_and_stored_hashed() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    assert!(code.len() >= 43, "at least 128 random bits");
    assert!(
        f.store().tokens().is_empty(),
        "no token before the exchange"
    );
    let (stored,) = <[_; 1]>::try_from(f.store().codes()).unwrap().into();
    assert_eq!(
        stored.code_hash,
        secret::hash(&code),
        "only the hash is kept"
    );
    assert_eq!(stored.expires_at, NOW_MS / 1000 + 60);
    assert_eq!(
        (stored.client_id.as_str(), stored.username.as_str()),
        (CLIENT, "username")
    );
    assert_eq!(stored.redirect_uri, REDIRECT);
}

#[tokio::test]
async fn row_10_a_code_s_audit_line_names_who_asked_for_what_and_never_the_code() {
    let f = flow();
    let body = format!(
        "client_id={CLIENT}&response_type=code&scope=repo:read\
         &code_challenge={}&code_challenge_method=S256",
        challenge(VERIFIER)
    );
    let answer = f.handle(&post(Some(QUAY_AUTH), &body)).await;
    let code = query(&answer.response).remove(0).1;
    let log = &answer.log;
    assert_eq!(
        (
            log.event,
            answer.response.status().as_u16(),
            log.client_id.as_str()
        ),
        (Event::CodeIssued, 302, CLIENT)
    );
    assert_eq!(
        (log.username.as_str(), log.scopes.as_str()),
        ("username", "repo:read")
    );
    assert!(!format!("{log:?}").contains(&code));
}

#[tokio::test]
async fn row_10_a_code_without_s256_pkce_is_an_invalid_request_redirect() {
    let f = flow();
    for pkce in [
        "",
        "&code_challenge=abc&code_challenge_method=S256",
        &format!(
            "&code_challenge={}&code_challenge_method=plain",
            challenge(VERIFIER)
        ),
        &format!("&code_challenge={}", challenge(VERIFIER)),
    ] {
        let body = format!("client_id={CLIENT}&response_type=code&scope=repo:read{pkce}");
        let r = f.handle(&post(Some(QUAY_AUTH), &body)).await.response;
        assert_eq!(r.status().as_u16(), 302);
        assert_eq!(
            query(&r)[0],
            ("error".into(), "invalid_request".into()),
            "{pkce}"
        );
    }
    assert!(f.store().codes().is_empty());
}

#[tokio::test]
async fn exchange_a_public_client_gets_a_token_by_pkce_alone() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    let body = json(&r);
    assert_eq!(
        (body["token_type"].as_str(), body["scope"].as_str()),
        (Some("Bearer"), Some("repo:read"))
    );
    assert_eq!(body["expires_in"], 315_576_000);
    let token = AccessToken::parse(body["access_token"].as_str().unwrap()).unwrap();
    let stored = f.store().tokens();
    assert_eq!(stored.len(), 1);
    assert!(token.secret_matches(&stored[0].secret_hash));
    assert_eq!(stored[0].client_id, CLIENT);
}

#[tokio::test]
async fn exchange_a_replayed_code_is_invalid_grant_and_revokes_what_it_gave() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    assert_eq!(
        exchange(&f, None, &grant(CLIENT, &code, VERIFIER))
            .await
            .status(),
        200
    );
    let again = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(
        (again.status().as_u16(), json(&again)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        f.store().tokens()[0].revoked_at.is_some(),
        "the first token no longer works"
    );
}

#[tokio::test]
async fn exchange_a_redemption_whose_answer_was_lost_still_gives_the_token() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    f.store().inject_lost_redemptions(1);
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(f.store().tokens().len(), 1);
}

#[tokio::test]
async fn exchange_two_at_once_yield_one_token() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    let body = grant(CLIENT, &code, VERIFIER);
    let (a, b) = tokio::join!(exchange(&f, None, &body), exchange(&f, None, &body));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
    assert_eq!(f.store().tokens().len(), 1);
}

#[tokio::test]
async fn exchange_a_wrong_verifier_or_client_leaves_the_code_to_its_owner() {
    let f = confidential();
    let code = code_for(&f, CLIENT, "").await;
    let other = format!("{VERIFIER}-other");
    for (auth, body) in [
        (None, grant(CLIENT, &code, &other)),
        (
            Some(basic("multi", SECRET)),
            grant("multi", &code, VERIFIER),
        ),
    ] {
        let r = exchange(&f, auth.as_deref(), &body).await;
        assert_eq!(
            (r.status().as_u16(), json(&r)["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    assert_eq!(
        exchange(&f, None, &grant(CLIENT, &code, VERIFIER))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn exchange_a_verifier_for_another_code_is_invalid_grant() {
    let f = flow();
    let first = code_for(&f, CLIENT, "").await;
    let second_verifier = format!("{VERIFIER}-second");
    let body = format!(
        "client_id={CLIENT}&response_type=code&code_challenge={}&code_challenge_method=S256",
        challenge(&second_verifier)
    );
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), &body))
            .await
            .response
            .status(),
        302
    );
    let r = exchange(&f, None, &grant(CLIENT, &first, &second_verifier)).await;
    assert_eq!(json(&r)["error"], "invalid_grant");
}

#[tokio::test]
async fn exchange_the_redirect_uri_must_be_the_one_the_code_was_asked_with() {
    let f = confidential();
    let auth = basic("multi", SECRET);
    let code = code_for(&f, "multi", "&redirect_uri=https://a.example/cb").await;
    let changed = format!(
        "{}&redirect_uri=http://127.0.0.1/cb",
        grant("multi", &code, VERIFIER)
    );
    assert_eq!(
        json(&exchange(&f, Some(&auth), &changed).await)["error"],
        "invalid_grant"
    );
    let code = code_for(&f, "multi", "&redirect_uri=https://a.example/cb").await;
    let omitted = grant("multi", &code, VERIFIER);
    assert_eq!(
        json(&exchange(&f, Some(&auth), &omitted).await)["error"],
        "invalid_grant"
    );
    let code = code_for(&f, "multi", "&redirect_uri=https://a.example/cb").await;
    let same = format!(
        "{}&redirect_uri=https://a.example/cb",
        grant("multi", &code, VERIFIER)
    );
    assert_eq!(exchange(&f, Some(&auth), &same).await.status(), 200);
}

#[tokio::test]
async fn exchange_an_expired_code_is_invalid_grant() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    f.clock().advance_ms(60_000);
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(json(&r)["error"], "invalid_grant");
}

#[tokio::test]
async fn exchange_a_user_changed_since_the_code_gets_nothing() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    let mut user = f.store().user("username").unwrap();
    user.generation += 1; // disabled, reset or revoked by an operator
    f.store().put_user(user);
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(json(&r)["error"], "invalid_grant");
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn exchange_an_application_s_ceiling_lowered_since_the_code_holds() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    let mut app = f.store().application(CLIENT).unwrap();
    app.scope_ceiling = Some(["user:read".to_string()].into());
    f.store().put_application(app);
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(json(&r)["error"], "invalid_grant", "{}", r.body());
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn exchange_confidential_clients_prove_their_secret() {
    let f = confidential();
    let code = code_for(&f, "multi", "&redirect_uri=https://a.example/cb").await;
    let body = format!(
        "{}&redirect_uri=https://a.example/cb",
        grant("multi", &code, VERIFIER)
    );
    let wrong = exchange(&f, Some(&basic("multi", "nope")), &body).await;
    assert_eq!(
        (wrong.status().as_u16(), json(&wrong)["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        header(&wrong, "www-authenticate").is_some(),
        "Basic was used: challenged"
    );
    let posted = exchange(&f, None, &format!("{body}&client_secret=nope")).await;
    let error = json(&posted)["error"].clone();
    assert_eq!(
        (posted.status().as_u16(), error),
        (400, "invalid_client".into())
    );
    assert!(
        header(&posted, "www-authenticate").is_none(),
        "no 401 without a challenge to send"
    );
    assert_eq!(
        exchange(&f, None, &body).await.status(),
        400,
        "no secret at all"
    );
    let r = exchange(&f, None, &format!("{body}&client_secret={SECRET}")).await;
    assert_eq!(r.status().as_u16(), 200, "client_secret_post");
}

#[tokio::test]
async fn exchange_grant_types_and_missing_fields() {
    let f = flow();
    let r = exchange(&f, None, "grant_type=password&client_id=x").await;
    assert_eq!(json(&r)["error"], "unsupported_grant_type");
    let r = exchange(&f, None, "client_id=x&code=y&code_verifier=z").await;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = exchange(&f, None, "grant_type=authorization_code&client_id=x&code=y").await;
    assert_eq!(
        json(&r)["error"],
        "invalid_request",
        "the verifier is required"
    );
    let get = Request::builder()
        .method("GET")
        .uri("/oauth/token")
        .body(vec![])
        .unwrap();
    assert_eq!(f.handle(&get).await.response.status(), 405);
}

/// An application's own access-token lifetime is what both doors announce and store; one
/// that sets none keeps the function's (Quay's ten years).
#[tokio::test]
async fn an_application_s_token_lifetime_is_announced_and_stored() {
    let f = flow();
    let mut app = f.store().application(CLIENT).unwrap();
    app.token_lifetime = Some(std::time::Duration::from_secs(3_600));
    f.store().put_application(app);
    let code = code_for(&f, CLIENT, "").await;
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(json(&r)["expires_in"], 3_600);
    let direct = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    let fragment = fragment(&direct);
    assert!(
        fragment.contains(&("expires_in".into(), "3600".into())),
        "{fragment:?}"
    );
    let now = NOW_MS / 1000;
    for t in f.store().tokens() {
        assert_eq!(t.expires_at, Some(now + 3_600), "{}", t.token_id);
    }
}
