//! DPoP where tokens are issued: a proof binds the token to its key (`token_type=DPoP`,
//! the record's `jkt`), is spent once, and is required where the application says so;
//! server nonces when configured.

use direct_oauth::dpop::ProofError;
use serde_json::json;

use super::code_flow::{VERIFIER, code_for, grant, to};
use super::*;
use crate::dpop_keys::ClientKey;

const ISSUER: &str = "https://as.example";
const HTU: &str = "https://as.example/oauth/authorizeapp";
const NOW: u64 = NOW_MS / 1000;

fn dpop_flow(nonce_secs: u64) -> TestFlow {
    flow_with(|s| {
        s.issuer = Some(ISSUER.into());
        s.dpop.nonce_lifetime = Some(Duration::from_secs(nonce_secs)).filter(|d| !d.is_zero());
    })
}

fn with_proof(proof: &str) -> Request<Vec<u8>> {
    let mut r = post(Some(QUAY_AUTH), GOOD_BODY);
    r.headers_mut().insert("dpop", proof.parse().unwrap());
    r
}

fn require_dpop(f: &TestFlow) {
    let mut app = f.store().application(CLIENT).unwrap();
    app.require_dpop = true;
    f.store().put_application(app);
}

#[tokio::test]
async fn a_proof_binds_the_token_to_its_key() {
    let f = dpop_flow(0);
    let key = ClientKey::new();
    let r = f
        .handle(&with_proof(&key.proof("POST", HTU, NOW, json!({}))))
        .await
        .response;
    assert_eq!(r.status(), 302, "{}", r.body());
    let pairs = fragment(&r);
    assert!(
        pairs.contains(&("token_type".into(), "DPoP".into())),
        "{pairs:?}"
    );
    let tokens = f.store().tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].jkt.as_deref(), Some(key.jkt().as_str()));
    // Without a proof, the same request gets an unbound Bearer token.
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert!(fragment(&r).contains(&("token_type".into(), "Bearer".into())));
    assert_eq!(
        f.store()
            .tokens()
            .iter()
            .filter(|t| t.jkt.is_none())
            .count(),
        1
    );
}

#[tokio::test]
async fn a_proof_is_spent_once_and_must_be_this_request_s() {
    let f = dpop_flow(0);
    let key = ClientKey::new();
    let proof = key.proof("POST", HTU, NOW, json!({}));
    assert_eq!(f.handle(&with_proof(&proof)).await.response.status(), 302);
    let again = f.handle(&with_proof(&proof)).await.response;
    assert_eq!(again.status(), 400);
    assert_eq!(json(&again)["error"], "invalid_dpop_proof");
    assert_eq!(
        json(&again)["error_description"],
        ProofError::Replayed.to_string()
    );
    for bad in [
        key.proof("GET", HTU, NOW, json!({})),
        key.proof("POST", "https://as.example/oauth/token", NOW, json!({})),
        key.proof("POST", HTU, NOW - 61, json!({})),
    ] {
        let r = f.handle(&with_proof(&bad)).await.response;
        assert_eq!(json(&r)["error"], "invalid_dpop_proof", "{}", r.body());
    }
    assert_eq!(
        f.store().tokens().len(),
        1,
        "only the first proof got a token"
    );
}

#[tokio::test]
async fn an_application_that_requires_dpop_gets_no_bearer_token() {
    let f = dpop_flow(0);
    require_dpop(&f);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 400, "invalid_dpop_proof");
    assert_eq!(
        json(&r)["error_description"],
        ProofError::Missing.to_string()
    );
    let key = ClientKey::new();
    let r = f
        .handle(&with_proof(&key.proof("POST", HTU, NOW, json!({}))))
        .await
        .response;
    assert_eq!(r.status(), 302);
    // A code is bound at its exchange: asking for one needs no proof.
    let code = code_for(&f, CLIENT, "").await;
    let body = grant(CLIENT, &code, VERIFIER);
    let r = f.handle(&to("/oauth/token", None, &body)).await.response;
    assert_eq!(
        json(&r)["error"],
        "invalid_dpop_proof",
        "the exchange needs one"
    );
}

#[tokio::test]
async fn the_code_s_exchange_binds_the_token_to_the_proof_s_key() {
    let f = dpop_flow(0);
    let key = ClientKey::new();
    let code = code_for(&f, CLIENT, "").await;
    let body = grant(CLIENT, &code, VERIFIER);
    let mut r = to("/oauth/token", None, &body);
    let proof = key.proof("POST", "https://as.example/oauth/token", NOW, json!({}));
    r.headers_mut().insert("dpop", proof.parse().unwrap());
    let answer = f.handle(&r).await.response;
    assert_eq!(answer.status(), 200, "{}", answer.body());
    let body: serde_json::Value = serde_json::from_str(answer.body()).unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let record = &f.store().tokens()[0];
    assert_eq!(record.jkt.as_deref(), Some(key.jkt().as_str()));
}

#[tokio::test]
async fn with_nonces_a_proof_without_the_current_one_is_told_to_use_one() {
    let f = dpop_flow(300);
    let key = ClientKey::new();
    let r = f
        .handle(&with_proof(&key.proof("POST", HTU, NOW, json!({}))))
        .await
        .response;
    assert_refused(&f, &r, 400, "use_dpop_nonce");
    let nonce = header(&r, "dpop-nonce").expect("a DPoP-Nonce").to_string();
    let wrong = key.proof("POST", HTU, NOW, json!({"nonce": "made-up"}));
    let r = f.handle(&with_proof(&wrong)).await.response;
    assert_eq!(json(&r)["error"], "use_dpop_nonce");
    let right = key.proof("POST", HTU, NOW, json!({"nonce": nonce}));
    assert_eq!(f.handle(&with_proof(&right)).await.response.status(), 302);
    // Good in its window and the next (at most twice its life), then refused.
    f.clock().advance_ms(601_000);
    let late = key.proof("POST", HTU, NOW + 601, json!({"nonce": nonce}));
    let r = f.handle(&with_proof(&late)).await.response;
    assert_eq!(json(&r)["error"], "use_dpop_nonce");
}

#[tokio::test]
async fn a_replay_guard_outage_is_a_503_and_no_token() {
    let f = dpop_flow(0);
    f.store().set_failing(Operation::FirstUse, true);
    let key = ClientKey::new();
    let r = f
        .handle(&with_proof(&key.proof("POST", HTU, NOW, json!({}))))
        .await
        .response;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
}

const TOKEN_HTU: &str = "https://as.example/oauth/token";

/// The code's exchange at `/oauth/token`, with a proof if one is given.
async fn exchange_with(f: &TestFlow, code: &str, proof: Option<String>) -> Response<String> {
    let mut r = to("/oauth/token", None, &grant(CLIENT, code, VERIFIER));
    if let Some(proof) = proof {
        r.headers_mut().insert("dpop", proof.parse().unwrap());
    }
    f.handle(&r).await.response
}

#[tokio::test]
async fn a_code_asked_for_with_a_proof_is_redeemed_only_with_its_key() {
    let f = dpop_flow(0);
    let (key, other) = (ClientKey::new(), ClientKey::new());
    let body = format!(
        "client_id={CLIENT}&response_type=code&scope=repo:read\
         &code_challenge={}&code_challenge_method=S256",
        super::code_flow::challenge(VERIFIER)
    );
    let mut r = post(Some(QUAY_AUTH), &body);
    let proof = key.proof("POST", HTU, NOW, json!({}));
    r.headers_mut().insert("dpop", proof.parse().unwrap());
    let r = f.handle(&r).await.response;
    assert_eq!(r.status(), 302, "{}", r.body());
    let code = super::code_flow::query(&r)[0].1.clone();
    assert_eq!(f.store().codes()[0].jkt, Some(key.jkt()));
    for proof in [None, Some(other.proof("POST", TOKEN_HTU, NOW, json!({})))] {
        let r = exchange_with(&f, &code, proof).await;
        assert_eq!(json(&r)["error"], "invalid_grant", "{}", r.body());
    }
    let r = exchange_with(
        &f,
        &code,
        Some(key.proof("POST", TOKEN_HTU, NOW, json!({}))),
    )
    .await;
    assert_eq!(
        r.status(),
        200,
        "the refusals did not use it up: {}",
        r.body()
    );
    let tokens = f.store().tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].jkt, Some(key.jkt()));
}

#[tokio::test]
async fn dpop_jkt_binds_what_is_issued_and_a_proof_must_be_by_that_key() {
    let f = dpop_flow(0);
    let (key, other) = (ClientKey::new(), ClientKey::new());
    let jkt = key.jkt();
    let code = code_for(&f, CLIENT, &format!("&dpop_jkt={jkt}")).await;
    assert_eq!(f.store().codes()[0].jkt, Some(jkt.clone()));
    let r = exchange_with(&f, &code, None).await;
    assert_eq!(json(&r)["error"], "invalid_grant");
    let r = exchange_with(
        &f,
        &code,
        Some(key.proof("POST", TOKEN_HTU, NOW, json!({}))),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    // A token asked for with dpop_jkt and no proof is bound to the key named.
    let body = format!("{GOOD_BODY}&dpop_jkt={jkt}");
    let r = f.handle(&post(Some(QUAY_AUTH), &body)).await.response;
    assert!(fragment(&r).contains(&("token_type".into(), "DPoP".into())));
    assert!(
        f.store()
            .tokens()
            .iter()
            .all(|t| t.jkt == Some(jkt.clone()))
    );
    // A proof by another key than dpop_jkt names is refused before the password.
    let mut r = post(Some(QUAY_AUTH), &body);
    let proof = other.proof("POST", HTU, NOW, json!({}));
    r.headers_mut().insert("dpop", proof.parse().unwrap());
    let r = f.handle(&r).await.response;
    assert_eq!(
        (r.status().as_u16(), &json(&r)["error"]),
        (400, &json!("invalid_dpop_proof"))
    );
    let why = ProofError::NotRequestedKey.to_string();
    assert_eq!(json(&r)["error_description"], why);
    let malformed = format!("{GOOD_BODY}&dpop_jkt=not-a-thumbprint");
    let r = f.handle(&post(Some(QUAY_AUTH), &malformed)).await.response;
    assert_eq!(
        (r.status().as_u16(), &json(&r)["error"]),
        (400, &json!("invalid_request"))
    );
    assert_eq!(f.store().tokens().len(), 2, "the refusals wrote no token");
}
