//! Refresh tokens through the token endpoint: a code's exchange starts a family; each
//! refresh rotates it; a retired token presented again revokes the family and its access
//! tokens (after the application's grace window); the family ends by its lifetimes and with
//! its user and application; scopes only narrow; a public client's DPoP key binds it.

use std::time::Duration;

use direct_oauth::refresh::RefreshTerms;
use serde_json::json;

use super::code_flow::{VERIFIER, code_for, exchange, grant, to};
use super::*;
use crate::dpop_keys::ClientKey;

const NOW: u64 = NOW_MS / 1000;

/// A flow whose demo application gets refresh tokens, `grace` seconds of grace.
pub(super) fn refreshing(grace: u64) -> TestFlow {
    let f = flow_with(|s| s.issuer = Some("https://as.example".into()));
    let mut app = f.store().application(CLIENT).unwrap();
    app.refresh = Some(RefreshTerms {
        idle: Duration::from_secs(600),
        absolute: Duration::from_secs(3_600),
        grace: Duration::from_secs(grace),
    });
    app.scope_ceiling = None;
    f.store().put_application(app);
    f
}

/// A code's exchange: the answer's access and refresh tokens.
pub(super) async fn signed_in(f: &TestFlow) -> (String, String) {
    let code = code_for(f, CLIENT, "").await;
    let r = exchange(f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    let body = json(&r);
    assert_eq!(
        body["expires_in"], 3_600,
        "an hour: the application sets none"
    );
    let refresh = body["refresh_token"].as_str().expect("a refresh token");
    assert!(refresh.starts_with("dor_"));
    (
        body["access_token"].as_str().unwrap().into(),
        refresh.into(),
    )
}

pub(super) async fn refresh(f: &TestFlow, token: &str, extra: &str) -> Response<String> {
    let body = format!("grant_type=refresh_token&client_id={CLIENT}&refresh_token={token}{extra}");
    f.handle(&to("/oauth/token", None, &body)).await.response
}

/// A refresh refused with `error`, writing no token.
pub(super) async fn refused(
    f: &TestFlow,
    token: &str,
    extra: &str,
    error: &str,
) -> Response<String> {
    let before = f.store().tokens().len();
    let r = refresh(f, token, extra).await;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (400, Some(error)),
        "{}",
        r.body()
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(f.store().tokens().len(), before, "no token written");
    r
}

fn live(f: &TestFlow, access: &str) -> bool {
    let id = token_id(access);
    f.store()
        .tokens()
        .iter()
        .any(|t| t.token_id == id && t.revoked_at.is_none())
}

#[tokio::test]
async fn a_refresh_rotates_the_family_and_the_old_token_is_retired() {
    let f = refreshing(0);
    let (access, first) = signed_in(&f).await;
    let r = refresh(&f, &first, "").await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    let body = json(&r);
    let second = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(
        (body["scope"].as_str(), body["token_type"].as_str()),
        (Some("repo:read"), Some("Bearer"))
    );
    let new_access = body["access_token"].as_str().unwrap();
    assert!(
        live(&f, &access) && live(&f, new_access),
        "both access tokens live"
    );
    // The second refresh with the second token works; stored: one family, its third token.
    let r = refresh(&f, &second, "").await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    assert_eq!(f.store().tokens().len(), 3);
}

#[tokio::test]
async fn a_retired_token_after_the_grace_revokes_the_family_and_its_access_tokens() {
    let f = refreshing(10);
    let (access, first) = signed_in(&f).await;
    let r = refresh(&f, &first, "").await;
    let second_access = json(&r)["access_token"].as_str().unwrap().to_string();
    let second = json(&r)["refresh_token"].as_str().unwrap().to_string();
    f.clock().advance_ms(11_000);
    let r = refused(&f, &first, "", "invalid_grant").await;
    assert!(
        json(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    assert!(
        !live(&f, &access) && !live(&f, &second_access),
        "its access tokens are revoked"
    );
    // The live token of the family is worthless now too.
    refused(&f, &second, "", "invalid_grant").await;
}

#[tokio::test]
async fn a_retry_within_the_grace_gets_the_next_token_and_retires_the_lost_one() {
    let f = refreshing(10);
    let (_, first) = signed_in(&f).await;
    let lost = json(&refresh(&f, &first, "").await)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    f.clock().advance_ms(5_000);
    let r = refresh(&f, &first, "").await;
    assert_eq!(
        r.status().as_u16(),
        200,
        "a retry within the grace: {}",
        r.body()
    );
    let retried = json(&r)["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(retried, lost);
    // The token the lost answer carried was never used: presenting it is a reuse.
    refused(&f, &lost, "", "invalid_grant").await;
    refused(&f, &retried, "", "invalid_grant").await;
}

#[tokio::test]
async fn without_grace_a_retired_token_is_a_reuse_at_once() {
    let f = refreshing(0);
    let (_, first) = signed_in(&f).await;
    let second = json(&refresh(&f, &first, "").await)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    refused(&f, &first, "", "invalid_grant").await;
    refused(&f, &second, "", "invalid_grant").await;
}

#[tokio::test]
async fn the_family_ends_by_its_idle_and_absolute_lifetimes() {
    let f = refreshing(0);
    let (_, first) = signed_in(&f).await;
    f.clock().advance_ms(600_000);
    let r = refused(&f, &first, "", "invalid_grant").await;
    assert!(
        json(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    // Used every 500 s, it still ends an hour after the sign-in.
    let f = refreshing(0);
    let (_, mut token) = signed_in(&f).await;
    for _ in 0..7 {
        f.clock().advance_ms(500_000);
        let r = refresh(&f, &token, "").await;
        assert_eq!(r.status().as_u16(), 200, "{}", r.body());
        token = json(&r)["refresh_token"].as_str().unwrap().to_string();
    }
    f.clock().advance_ms(100_000);
    refused(&f, &token, "", "invalid_grant").await;
}

#[tokio::test]
async fn the_user_and_the_application_decide_at_every_refresh() {
    // Disabled.
    let f = refreshing(0);
    let (_, token) = signed_in(&f).await;
    let mut user = f.store().user("username").unwrap();
    user.enabled = false;
    user.generation += 1;
    f.store().put_user(user);
    refused(&f, &token, "", "invalid_grant").await;
    // `token revoke --user`.
    let f = refreshing(0);
    let (_, token) = signed_in(&f).await;
    let mut user = f.store().user("username").unwrap();
    user.generation += 1;
    user.tokens_from = user.generation;
    f.store().put_user(user);
    refused(&f, &token, "", "invalid_grant").await;
    // `token revoke --client`, then refresh tokens turned off.
    for change in [
        (|a: &mut Application| a.token_epoch += 1) as fn(&mut Application),
        |a| a.refresh = None,
    ] {
        let f = refreshing(0);
        let (_, token) = signed_in(&f).await;
        let mut app = f.store().application(CLIENT).unwrap();
        change(&mut app);
        f.store().put_application(app);
        refused(&f, &token, "", "invalid_grant").await;
    }
}

#[tokio::test]
async fn scopes_only_narrow() {
    let f = refreshing(0);
    let (_, token) = signed_in(&f).await;
    refused(&f, &token, "&scope=repo:read%20repo:write", "invalid_scope").await;
    // Refused before any write: the token is still the live one.
    let r = refresh(&f, &token, "&scope=repo:read").await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
}

#[tokio::test]
async fn another_client_s_token_and_a_forged_one_are_refused() {
    let f = refreshing(0);
    let (_, token) = signed_in(&f).await;
    let body = format!("grant_type=refresh_token&client_id=multi&refresh_token={token}");
    let r = f.handle(&to("/oauth/token", None, &body)).await.response;
    assert_eq!(
        (r.status().as_u16(), json(&r)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    for forged in ["dor_x", "doa_abc", &token.replacen("dor_", "doa_", 1)] {
        refused(&f, forged, "", "invalid_grant").await;
    }
    // Neither touched the family.
    assert_eq!(refresh(&f, &token, "").await.status().as_u16(), 200);
}

#[tokio::test]
async fn an_application_without_refresh_tokens_gets_none() {
    let f = flow();
    let code = code_for(&f, CLIENT, "").await;
    let r = exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(json(&r).get("refresh_token").is_none());
}

const HTU: &str = "https://as.example/oauth/token";

#[tokio::test]
async fn a_public_client_s_family_is_bound_to_its_dpop_key() {
    let f = refreshing(0);
    let (key, other) = (ClientKey::new(), ClientKey::new());
    let code = code_for(&f, CLIENT, "").await;
    let mut r = to("/oauth/token", None, &grant(CLIENT, &code, VERIFIER));
    let proof = key.proof("POST", HTU, NOW, json!({}));
    r.headers_mut().insert("dpop", proof.parse().unwrap());
    let body = json(&f.handle(&r).await.response);
    assert_eq!(body["token_type"], "DPoP");
    let token = body["refresh_token"].as_str().unwrap().to_string();
    let with = |proof: Option<String>| {
        let body = format!("grant_type=refresh_token&client_id={CLIENT}&refresh_token={token}");
        let mut r = to("/oauth/token", None, &body);
        if let Some(p) = proof {
            r.headers_mut().insert("dpop", p.parse().unwrap());
        }
        r
    };
    // Past the jti the exchange's proof by `key` used.
    other.proof("POST", HTU, NOW, json!({}));
    for proof in [None, Some(other.proof("POST", HTU, NOW, json!({})))] {
        let r = f.handle(&with(proof)).await.response;
        assert_eq!(json(&r)["error"], "invalid_grant", "{}", r.body());
    }
    // Refused without revoking: its key's proof still refreshes (a jti neither used).
    key.proof("POST", HTU, NOW, json!({}));
    key.proof("POST", HTU, NOW, json!({}));
    let r = f
        .handle(&with(Some(key.proof("POST", HTU, NOW, json!({})))))
        .await
        .response;
    assert_eq!(r.status().as_u16(), 200, "{}", r.body());
    assert_eq!(json(&r)["token_type"], "DPoP");
}

#[tokio::test]
async fn discovery_lists_every_grant_type() {
    let f = refreshing(0);
    let mut r = post(None, "");
    *r.method_mut() = http::Method::GET;
    *r.uri_mut() = "/.well-known/oauth-authorization-server".parse().unwrap();
    let meta = json(&f.handle(&r).await.response);
    let types = meta["grant_types_supported"].as_array().unwrap();
    for t in ["authorization_code", "refresh_token", "implicit"] {
        assert!(types.iter().any(|v| v == t), "{t} in {types:?}");
    }
}
