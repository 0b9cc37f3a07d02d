//! The person's own pages on the memory store: sign-in that comes back to them, API tokens
//! created (shown once, as the application's terms allow, under its cap), revoked, the
//! authorized applications and an application's access ended; a session that outlives an
//! operator's reset; and the implicit response, only where registered.

use super::web_approval::{ISSUER, ORIGIN, cookie_of, csrf_of, form_post, get, pages_flow, query};
use super::*;
use crate::faults::Operation;
use direct_oauth::api_token::ApiTokenTerms;
use direct_oauth::store::ConsentStore;

/// Signs `username` in from the sign-in page an account page showed.
async fn signed_in_to(f: &TestFlow, next: &str) -> String {
    let body = format!("next={next}&username=username&password=passwordhere");
    let signed = f
        .handle(&form_post("/oauth/signin", &body, None, ORIGIN))
        .await;
    let signed = signed.response;
    assert_eq!(signed.status(), 303, "{}", signed.body());
    assert_eq!(
        header(&signed, "location"),
        Some(&*format!("{ISSUER}/oauth/{next}"))
    );
    cookie_of(&signed)
}

fn page(path: &str, cookie: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::builder().method("GET").uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Vec::new()).unwrap()
}

/// The token a page shows once.
fn shown_token(html: &str) -> Option<String> {
    let after = html
        .split("id=\"created-token\" readonly value=\"")
        .nth(1)?;
    Some(after.split('"').next()?.to_string())
}

/// Creates a token on the Tokens page; the page answered.
async fn create(f: &TestFlow, cookie: &str, fields: &str) -> Response<String> {
    let tokens = f
        .handle(&page("/oauth/tokens", Some(cookie)))
        .await
        .response;
    let csrf = csrf_of(tokens.body());
    let body = format!("csrf={csrf}&client_id={CLIENT}&{fields}");
    f.handle(&form_post("/oauth/tokens", &body, Some(cookie), ORIGIN))
        .await
        .response
}

#[tokio::test]
async fn a_token_is_created_shown_once_listed_and_revoked() {
    let f = pages_flow();
    let first = f.handle(&page("/oauth/tokens", None)).await.response;
    assert!(
        first.body().contains("Sign in") && first.body().contains("name=\"next\" value=\"tokens\"")
    );
    let cookie = signed_in_to(&f, "tokens").await;
    let made = create(&f, &cookie, "name=ci+deploys&scope.repo%3Aread=on&life=7").await;
    assert_eq!(made.status(), 200, "{}", made.body());
    let token = shown_token(made.body()).expect("the token, once");
    let stored = f.store().tokens();
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    assert_eq!(record.token_id, token_id(&token));
    assert_eq!(record.name.as_deref(), Some("ci deploys"));
    assert_eq!(record.scopes, ["repo:read"]);
    assert_eq!(record.expires_at, Some(NOW_MS / 1000 + 7 * 86_400));
    let again = f
        .handle(&page("/oauth/tokens", Some(&cookie)))
        .await
        .response;
    assert!(again.body().contains("ci deploys"));
    assert!(shown_token(again.body()).is_none(), "shown once");
    assert!(!again.body().contains(&token));

    let csrf = csrf_of(again.body());
    let body = format!("csrf={csrf}&token_id={}", record.token_id);
    let revoked = f
        .handle(&form_post(
            "/oauth/tokens/revoke",
            &body,
            Some(&cookie),
            ORIGIN,
        ))
        .await;
    assert_eq!(revoked.log.event.as_str(), "api_token_revoked");
    assert_eq!(f.store().tokens()[0].revoked_at, Some(NOW_MS / 1000));
    assert!(revoked.response.body().contains("revoked"));
}

#[tokio::test]
async fn the_application_s_terms_bound_a_token_s_life_and_their_number() {
    let f = pages_flow();
    let mut app = f.store().application(CLIENT).unwrap();
    app.api_tokens = ApiTokenTerms {
        cap: 2,
        ..ApiTokenTerms::default()
    };
    f.store().put_application(app);
    let cookie = signed_in_to(&f, "tokens").await;
    let too_long = create(&f, &cookie, "name=a&scope.repo%3Aread=on&life=365").await;
    assert_eq!(too_long.status(), 400);
    assert!(
        too_long.body().contains("choose 1 to 90 days"),
        "{}",
        too_long.body()
    );
    let never = create(&f, &cookie, "name=a&scope.repo%3Aread=on&life=never").await;
    assert!(never.body().contains("must expire"));
    let admin = create(&f, &cookie, "name=a&scope.super%3Auser=on").await;
    assert_eq!(admin.status(), 400, "not a superuser");
    for name in ["one", "two"] {
        let made = create(&f, &cookie, &format!("name={name}&scope.repo%3Aread=on")).await;
        assert!(shown_token(made.body()).is_some());
    }
    let third = create(&f, &cookie, "name=three&scope.repo%3Aread=on").await;
    assert_eq!(third.status(), 400);
    assert!(
        third
            .body()
            .contains("most live tokens this application allows (2)")
    );
    assert_eq!(f.store().tokens().len(), 2, "what was stored");
}

#[tokio::test]
async fn an_operator_s_reset_ends_the_session_and_its_forms() {
    let f = pages_flow();
    let cookie = signed_in_to(&f, "tokens").await;
    let tokens = f
        .handle(&page("/oauth/tokens", Some(&cookie)))
        .await
        .response;
    let csrf = csrf_of(tokens.body());
    let mut user = f.store().user("username").unwrap();
    user.generation += 1;
    f.store().put_user(user);
    let body = format!("csrf={csrf}&client_id={CLIENT}&name=x&scope.repo%3Aread=on");
    let refused = f
        .handle(&form_post("/oauth/tokens", &body, Some(&cookie), ORIGIN))
        .await;
    assert!(refused.response.body().contains("Sign in again"));
    assert!(
        header(&refused.response, "set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(f.store().tokens().is_empty());
    let after = f
        .handle(&page("/oauth/tokens", Some(&cookie)))
        .await
        .response;
    assert!(after.body().contains("name=\"password\""), "signed out");
}

#[tokio::test]
async fn forms_of_the_pages_need_the_site_s_origin_and_the_session_s_token() {
    let f = pages_flow();
    let cookie = signed_in_to(&f, "tokens").await;
    let body = format!("client_id={CLIENT}&name=x&scope.repo%3Aread=on");
    let elsewhere = form_post(
        "/oauth/tokens",
        &body,
        Some(&cookie),
        "https://evil.example",
    );
    assert_eq!(f.handle(&elsewhere).await.response.status(), 403);
    let no_token = form_post("/oauth/tokens", &body, Some(&cookie), ORIGIN);
    assert_eq!(f.handle(&no_token).await.response.status(), 403);
    let no_session = form_post("/oauth/tokens", &body, None, ORIGIN);
    let back = f.handle(&no_session).await.response;
    assert_eq!(
        back.status(),
        303,
        "back to the page, which asks to sign in"
    );
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn ending_an_application_s_access_revokes_its_tokens_and_forgets_consent() {
    let f = pages_flow();
    let cookie = signed_in_to(&f, "applications").await;
    let empty = f
        .handle(&page("/oauth/applications", Some(&cookie)))
        .await
        .response;
    assert!(empty.body().contains("not authorized any application"));
    let made = create(&f, &cookie, "name=ci&scope.repo%3Aread=on").await;
    assert!(shown_token(made.body()).is_some());
    f.store()
        .remember_consent("username", CLIENT, &["repo:read".into()])
        .await
        .unwrap();
    let listed = f
        .handle(&page("/oauth/applications", Some(&cookie)))
        .await
        .response;
    assert!(listed.body().contains("Quay example") && listed.body().contains("1 live token"));
    let csrf = csrf_of(listed.body());
    let body = format!("csrf={csrf}&client_id={CLIENT}");
    let revoke = form_post("/oauth/applications/revoke", &body, Some(&cookie), ORIGIN);
    let ended = f.handle(&revoke).await;
    assert_eq!(ended.log.event.as_str(), "access_revoked");
    assert!(f.store().tokens().iter().all(|t| t.revoked_at.is_some()));
    assert!(
        f.store()
            .consent("username", CLIENT)
            .await
            .unwrap()
            .is_empty()
    );
    // The consent page is asked again.
    let consent = f.handle(&get(Some(&cookie))).await.response;
    assert!(consent.body().contains("Allow"), "{}", consent.body());
}

fn implicit_query() -> String {
    let q = query(&[]);
    q.replace("response_type=code", "response_type=token")
}

#[tokio::test]
async fn the_implicit_response_only_for_an_application_registered_for_it() {
    let f = pages_flow();
    let cookie = signed_in_to(&f, "tokens").await;
    let ask = |cookie: &str| {
        page(
            &format!("/oauth/authorize?{}", implicit_query()),
            Some(cookie),
        )
    };
    let refused = f.handle(&ask(&cookie)).await.response;
    let error = fragment(&refused);
    assert!(
        error.contains(&("error".into(), "unsupported_response_type".into())),
        "{error:?}"
    );
    let mut app = f.store().application(CLIENT).unwrap();
    app.implicit = true;
    f.store().put_application(app);
    f.store()
        .remember_consent("username", CLIENT, &["repo:read".into()])
        .await
        .unwrap();
    let issued = f.handle(&ask(&cookie)).await.response;
    let pairs = fragment(&issued);
    let token = pairs
        .iter()
        .find(|(k, _)| k == "access_token")
        .expect("a token")
        .1
        .clone();
    assert!(pairs.contains(&("state".into(), "st".into())));
    assert_eq!(f.store().tokens()[0].token_id, token_id(&token));
    assert!(f.store().codes().is_empty());
}

/// Ids no token or application can have are answered on the page without a read or a
/// write (DynamoDB refuses keys past 2 KiB: a read would be a 503).
#[tokio::test]
async fn ids_of_no_possible_token_or_application_are_answered_without_the_store() {
    let f = pages_flow();
    let long = "x".repeat(3000);
    f.store().set_failing(Operation::Lookup, true);
    let query = format!("/oauth/authorize?client_id={long}&response_type=code");
    let refused = f.handle(&page(&query, None)).await.response;
    assert_eq!(refused.status(), 400, "{}", refused.body());
    f.store().set_failing(Operation::Lookup, false);
    let cookie = signed_in_to(&f, "tokens").await;
    let made = create(&f, &cookie, "name=x&scope.repo%3Aread=on").await;
    assert!(shown_token(made.body()).is_some());
    let tokens = f
        .handle(&page("/oauth/tokens", Some(&cookie)))
        .await
        .response;
    let csrf = csrf_of(tokens.body());
    f.store().set_failing(Operation::RevokeToken, true);
    for (path, field) in [
        ("/oauth/tokens/revoke", "token_id"),
        ("/oauth/applications/revoke", "client_id"),
    ] {
        let body = format!("csrf={csrf}&{field}={long}");
        let answer = f
            .handle(&form_post(path, &body, Some(&cookie), ORIGIN))
            .await
            .response;
        assert_eq!(answer.status(), 200, "{path}: {}", answer.body());
    }
    let body = format!("csrf={csrf}&client_id={long}&name=x&scope.repo%3Aread=on");
    let answer = f
        .handle(&form_post("/oauth/tokens", &body, Some(&cookie), ORIGIN))
        .await;
    assert!(
        answer
            .response
            .body()
            .contains("choose a registered application")
    );
    assert_eq!(f.store().tokens().len(), 1, "nothing more written");
    assert!(f.store().tokens()[0].revoked_at.is_none());
}
