//! Revocation (RFC 7009) of a refresh token: its client authenticates, then the family's
//! live token, or the one its last rotation retired, ends the family and the access tokens
//! it issued (§2.1); an unknown, forged or foreign token answers 200 and ends nothing
//! (§2.2); `token_type_hint` is only a hint. Introspection calls a refresh token inactive.

use direct_oauth::random::OsRandom;
use direct_oauth::refresh::RefreshToken;
use direct_oauth::secret;
use direct_oauth::token_check::{self, Denial};

use super::code_flow::{SECRET, to};
use super::refresh::{refresh, refreshing, refused, signed_in};
use super::*;

const NOW: u64 = NOW_MS / 1000;

async fn revoke(f: &TestFlow, auth: Option<&str>, body: &str) -> Response<String> {
    f.handle(&to("/oauth/revoke", auth, body)).await.response
}

/// A public client's revocation of `token`, with `hint`: 200 and an empty body.
async fn revoked(f: &TestFlow, token: &str, hint: &str, client: &str) {
    let body = format!("token={token}&token_type_hint={hint}&client_id={client}");
    let r = revoke(f, None, &body).await;
    assert_eq!((r.status().as_u16(), r.body().as_str()), (200, ""));
}

/// The token check's verdict on an access token, as the authorizer would give it.
async fn denial(f: &TestFlow, access: &str) -> Option<Denial> {
    let token = AccessToken::parse(access).unwrap();
    let checked = token_check::check(f.store(), &token, None, NOW).await;
    checked.unwrap().err()
}

/// A code's exchange and one refresh: the access tokens and the two refresh tokens.
async fn rotated_once(f: &TestFlow) -> ([String; 2], String, String) {
    let (access, first) = signed_in(f).await;
    let r = json(&refresh(f, &first, "").await);
    let second = r["refresh_token"].as_str().unwrap().to_string();
    let access2 = r["access_token"].as_str().unwrap().to_string();
    ([access, access2], first, second)
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_its_access_tokens() {
    let f = refreshing(0);
    let (access, _, second) = rotated_once(&f).await;
    assert_eq!(denial(&f, &access[1]).await, None, "live before");
    let body = format!("token={second}&token_type_hint=refresh_token&client_id={CLIENT}");
    let answer = f.handle(&to("/oauth/revoke", None, &body)).await;
    assert_eq!(answer.response.status().as_u16(), 200);
    assert_eq!(answer.log.event, Event::TokenRevoked);
    let family_id = RefreshToken::parse(&second)
        .unwrap()
        .family_id()
        .to_string();
    let line = format!("{:?}", answer.log);
    assert!(!line.contains(&family_id), "never the family's id: {line}");
    let r = refused(&f, &second, "", "invalid_grant").await;
    assert!(
        json(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    for a in &access {
        assert_eq!(denial(&f, a).await, Some(Denial::Revoked));
    }
    // Again: still 200, nothing more to do.
    revoked(&f, &second, "refresh_token", CLIENT).await;
}

#[tokio::test]
async fn the_retired_token_revokes_too_and_a_wrong_hint_is_passed_over() {
    let f = refreshing(0);
    let (access, first, second) = rotated_once(&f).await;
    revoked(&f, &first, "access_token", CLIENT).await;
    refused(&f, &second, "", "invalid_grant").await;
    assert_eq!(denial(&f, &access[1]).await, Some(Denial::Revoked));
}

#[tokio::test]
async fn an_access_token_is_revoked_alone_whatever_the_hint() {
    let f = refreshing(0);
    let (access, first) = signed_in(&f).await;
    let body = format!("token={access}&token_type_hint=refresh_token");
    assert_eq!(revoke(&f, None, &body).await.status().as_u16(), 200);
    assert_eq!(denial(&f, &access).await, Some(Denial::Revoked));
    // The family goes on: a client may drop an access token and refresh.
    assert_eq!(refresh(&f, &first, "").await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_foreign_forged_or_unknown_refresh_token_revokes_nothing() {
    let f = refreshing(0);
    let (access, _, second) = rotated_once(&f).await;
    // Another application's client id: the family is not its to end.
    revoked(&f, &second, "refresh_token", "multi").await;
    // The family's id with a secret it never had (the checksum right).
    let forged = RefreshToken::parse(&second)
        .unwrap()
        .next(&OsRandom)
        .unwrap();
    revoked(&f, &forged.expose(), "refresh_token", CLIENT).await;
    // A family there never was, and strings that are no token of ours.
    let unknown = RefreshToken::start(&OsRandom).unwrap().expose();
    for other in [unknown.as_str(), "dor_nope", "garbage"] {
        revoked(&f, other, "refresh_token", CLIENT).await;
    }
    assert_eq!(denial(&f, &access[1]).await, None, "its access token lives");
    let r = refresh(&f, &second, "").await;
    assert_eq!(r.status().as_u16(), 200, "the family lives: {}", r.body());
}

#[tokio::test]
async fn a_refresh_token_s_client_must_authenticate() {
    let f = refreshing(0);
    let (access, token) = signed_in(&f).await;
    // Without a client id: nobody's token can be told from the request.
    let r = revoke(&f, None, &format!("token={token}")).await;
    assert_eq!(json(&r)["error"], "invalid_request", "{}", r.body());
    let r = revoke(&f, None, &format!("token={token}&client_id=nobody")).await;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (400, Some("invalid_client"))
    );
    // The application made confidential: its secret is asked for.
    let mut app = f.store().application(CLIENT).unwrap();
    app.secret_hash = Some(secret::hash(SECRET));
    f.store().put_application(app);
    let r = revoke(&f, None, &format!("token={token}&client_id={CLIENT}")).await;
    assert_eq!(json(&r)["error"], "invalid_client");
    let wrong = basic(CLIENT, "wrong");
    let r = revoke(&f, Some(&wrong), &format!("token={token}")).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(header(&r, "www-authenticate").is_some_and(|h| h.starts_with("Basic")));
    assert_eq!(denial(&f, &access).await, None, "nothing revoked");
    let right = basic(CLIENT, SECRET);
    let r = revoke(&f, Some(&right), &format!("token={token}")).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    assert_eq!(denial(&f, &access).await, Some(Denial::Revoked));
}

#[tokio::test]
async fn an_outage_of_the_families_is_503_and_ends_nothing() {
    let f = refreshing(0);
    let (access, token) = signed_in(&f).await;
    f.store().set_failing(Operation::Refresh, true);
    let body = format!("token={token}&client_id={CLIENT}");
    let r = revoke(&f, None, &body).await;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    assert_eq!(header(&r, "retry-after"), Some("2"));
    let r = refresh(&f, &token, "").await;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    f.store().set_failing(Operation::Refresh, false);
    assert_eq!(denial(&f, &access).await, None);
    assert_eq!(refresh(&f, &token, "").await.status().as_u16(), 200);
}

#[tokio::test]
async fn introspection_calls_a_refresh_token_inactive_even_for_its_own_client() {
    let f = refreshing(0);
    let (_, token) = signed_in(&f).await;
    let mut app = f.store().application(CLIENT).unwrap();
    app.secret_hash = Some(secret::hash(SECRET));
    f.store().put_application(app);
    let body = format!("token={token}&token_type_hint=refresh_token");
    let auth = basic(CLIENT, SECRET);
    let r = f
        .handle(&to("/oauth/introspect", Some(&auth), &body))
        .await
        .response;
    assert_eq!(json(&r), serde_json::json!({ "active": false }));
    // Untouched: it still refreshes, with the client's secret now.
    let body = format!("grant_type=refresh_token&refresh_token={token}");
    let r = f
        .handle(&to("/oauth/token", Some(&auth), &body))
        .await
        .response;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
}
