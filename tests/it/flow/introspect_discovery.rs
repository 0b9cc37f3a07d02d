//! Introspection (RFC 7662) and discovery (RFC 8414), over codes and tokens from the code
//! flow.

use direct_oauth::flow::Issuer;
use direct_oauth::store::TokenCanceller;

use super::code_flow::{SECRET, VERIFIER, code_for, confidential, exchange, grant, to};
use super::*;

#[tokio::test]
async fn introspection_tells_active_tokens_to_confidential_clients_only() {
    let f = confidential();
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
    for other in [format!("{}x", &token[..64]), "garbage".into()] {
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
        .revoke_by_id(&token[..22], NOW_MS / 1000, u64::MAX)
        .await
        .unwrap();
    let r = ask(Some(basic("multi", SECRET)), token).await;
    assert_eq!(
        json(&r),
        serde_json::json!({ "active": false }),
        "revoked: nothing more"
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
