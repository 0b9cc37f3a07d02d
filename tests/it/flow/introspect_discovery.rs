//! Introspection (RFC 7662) and discovery (RFC 8414), over codes and tokens from the code
//! flow.

use direct_oauth::endpoints::Issuer;
use direct_oauth::store::TokenCanceller;

use super::code_flow::{SECRET, VERIFIER, code_for, confidential, exchange, grant, to};
use super::*;

#[tokio::test]
async fn introspection_tells_active_tokens_to_confidential_clients_only() {
    let f = confidential();
    // `multi` asks about another application's token: it must be a resource server.
    resource_server(&f, "multi", SECRET, true);
    let code = code_for(&f, CLIENT, "").await;
    let issued = json(&exchange(&f, None, &grant(CLIENT, &code, VERIFIER)).await);
    let token = issued["access_token"].as_str().unwrap().to_string();
    let ask = |auth: Option<String>, token: String| {
        let f = &f;
        async move {
            let body = format!("token={token}");
            f.handle(&to("/oauth/introspect", auth.as_deref(), &body))
                .await
                .response
        }
    };
    let r = ask(Some(basic("multi", SECRET)), token.clone()).await;
    let body = json(&r);
    assert_eq!(body["active"], true);
    assert_eq!(
        (body["username"].as_str(), body["client_id"].as_str()),
        (Some("username"), Some(CLIENT))
    );
    assert_eq!(body["scope"], "repo:read");
    assert!(body["exp"].as_u64().unwrap() > body["iat"].as_u64().unwrap());
    let last = if token.ends_with('x') { "y" } else { "x" };
    let other = format!("{}{last}", &token[..token.len() - 1]);
    for other in [other, "garbage".into()] {
        let r = ask(Some(basic("multi", SECRET)), other).await;
        assert_eq!(json(&r), serde_json::json!({ "active": false }));
    }
    assert_eq!(
        ask(Some(basic("multi", "wrong")), token.clone())
            .await
            .status(),
        401
    );
    let public = format!("token={token}&client_id={CLIENT}");
    let r = f
        .handle(&to("/oauth/introspect", None, &public))
        .await
        .response;
    assert_eq!(
        json(&r)["error"],
        "invalid_client",
        "a public client may not introspect"
    );
    let r = ask(Some(basic("multi", "wrong")), String::new()).await;
    assert_eq!(
        r.status(),
        401,
        "the client is judged before the request's fields"
    );
    f.store()
        .revoke_by_id(&token_id(&token), NOW_MS / 1000, u64::MAX)
        .await
        .unwrap();
    let r = ask(Some(basic("multi", SECRET)), token).await;
    assert_eq!(
        json(&r),
        serde_json::json!({ "active": false }),
        "revoked: nothing more"
    );
}

/// Registers (or re-registers) a confidential application that may, or may not,
/// introspect other applications' tokens.
fn resource_server(f: &TestFlow, client_id: &str, secret: &str, introspect_any: bool) {
    f.store().put_application(Application {
        redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
        scope_ceiling: Some(["repo:read".to_string()].into()),
        secret_hash: Some(direct_oauth::secret::hash(secret)),
        introspect_any,
        ..application(client_id)
    });
}

#[tokio::test]
async fn introspection_of_another_applications_token_is_inactive_unless_introspect_any() {
    let f = confidential();
    let code = code_for(&f, "multi", "&redirect_uri=https://a.example/cb").await;
    let body = format!(
        "{}&redirect_uri=https://a.example/cb",
        grant("multi", &code, VERIFIER)
    );
    let issued = json(&exchange(&f, Some(&basic("multi", SECRET)), &body).await);
    let token = issued["access_token"].as_str().unwrap().to_string();
    let ask = |client: &'static str, secret: &'static str| {
        let (f, token) = (&f, token.clone());
        async move {
            let body = format!("token={token}");
            let auth = basic(client, secret);
            json(
                &f.handle(&to("/oauth/introspect", Some(&auth), &body))
                    .await
                    .response,
            )
        }
    };
    resource_server(&f, "other", "the-other-secret", false);
    assert_eq!(
        ask("other", "the-other-secret").await,
        serde_json::json!({ "active": false }),
        "another application learns nothing of multi's token"
    );
    let own = ask("multi", SECRET).await;
    assert_eq!(
        (own["active"].as_bool(), own["client_id"].as_str()),
        (Some(true), Some("multi")),
        "its own token: {own}"
    );
    resource_server(&f, "other", "the-other-secret", true);
    let seen = ask("other", "the-other-secret").await;
    assert_eq!(
        (seen["active"].as_bool(), seen["username"].as_str()),
        (Some(true), Some("username")),
        "a resource server registered with introspect_any: {seen}"
    );
}

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_issuer() {
    let f = flow();
    let mut get = Request::builder()
        .method("GET")
        .uri("/.well-known/oauth-authorization-server")
        .body(vec![])
        .unwrap();
    get.extensions_mut()
        .insert(Issuer("https://id.example/prod".into()));
    let r = f.handle(&get).await.response;
    assert_eq!(r.status().as_u16(), 200);
    let meta = json(&r);
    assert_eq!(meta["issuer"], "https://id.example/prod");
    assert_eq!(
        meta["token_endpoint"],
        "https://id.example/prod/oauth/access_token"
    );
    assert_eq!(
        meta["introspection_endpoint"],
        "https://id.example/prod/oauth/introspect"
    );
    assert_eq!(
        meta["revocation_endpoint"],
        "https://id.example/prod/oauth/revoke"
    );
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(meta["scopes_supported"].as_array().unwrap().len(), 8);
    let configured = flow_with(|s| s.issuer = Some("https://auth.example".into()));
    let meta = json(&configured.handle(&get).await.response);
    assert_eq!(meta["issuer"], "https://auth.example", "configured wins");
    let unknown = Request::builder()
        .method("GET")
        .uri("/.well-known/oauth-authorization-server")
        .body(vec![])
        .unwrap();
    let r = f.handle(&unknown).await.response;
    assert_eq!(
        r.status(),
        400,
        "no issuer known: the request's fault, not a 500"
    );
    let post = to("/.well-known/oauth-authorization-server", None, "");
    let r = f.handle(&post).await.response;
    assert_eq!(
        (r.status().as_u16(), header(&r, "allow")),
        (405, Some("GET"))
    );
}

fn get(path: &str, issuer: Option<&str>) -> Request<Vec<u8>> {
    let mut get = Request::builder()
        .method("GET")
        .uri(path)
        .body(vec![])
        .unwrap();
    if let Some(issuer) = issuer {
        get.extensions_mut().insert(Issuer(issuer.into()));
    }
    get
}

#[tokio::test]
async fn a_configured_issuer_is_named_byte_for_byte_and_announces_iss() {
    let f = flow_with(|s| s.issuer = Some("https://auth.example/tenant/".into()));
    let meta = json(
        &f.handle(&get("/.well-known/oauth-authorization-server", None))
            .await
            .response,
    );
    assert_eq!(
        meta["issuer"], "https://auth.example/tenant/",
        "RFC 8414 §3.3"
    );
    assert_eq!(
        meta["token_endpoint"], "https://auth.example/tenant/oauth/access_token",
        "no doubled slash"
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn metadata_is_also_at_the_path_inserted_location_and_only_for_this_issuer() {
    let f = flow();
    let at = "/.well-known/oauth-authorization-server/prod";
    let r = f
        .handle(&get(at, Some("https://id.example/prod")))
        .await
        .response;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(json(&r)["issuer"], "https://id.example/prod");
    let other = get(
        "/.well-known/oauth-authorization-server/staging",
        Some("https://id.example/prod"),
    );
    let r = f.handle(&other).await.response;
    assert_eq!(r.status(), 404, "another issuer's path");
    assert_eq!(json(&r)["error"], "invalid_request");
}

#[tokio::test]
async fn every_authorization_response_names_its_issuer_last() {
    use super::code_flow::{challenge, query};
    let f = flow_with(|s| s.issuer = Some("https://auth.example/".into()));
    let iss = ("iss".to_string(), "https://auth.example/".to_string());
    let token = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(fragment(&token).last(), Some(&iss), "a token's fragment");
    let code_body = format!(
        "client_id={CLIENT}&response_type=code&scope=repo:read&state=s\
         &code_challenge={}&code_challenge_method=S256",
        challenge(VERIFIER)
    );
    let code = f.handle(&post(Some(QUAY_AUTH), &code_body)).await.response;
    let pairs = query(&code);
    assert_eq!(pairs.last(), Some(&iss), "a code's query: {pairs:?}");
    let refused = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("client_id={CLIENT}&redirect_uri={REDIRECT}&scope=no:such"),
        ))
        .await
        .response;
    let pairs = fragment(&refused);
    assert_eq!(pairs[0].1, "invalid_scope");
    assert_eq!(pairs.last(), Some(&iss), "an error redirect: {pairs:?}");
}
