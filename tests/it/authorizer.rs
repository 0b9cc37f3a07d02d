//! The authorizer's handler with the memory store: what it reads, what it answers, and
//! that an outage is never an allow.

use direct_oauth::authorizer::AuthorizerAnswer;
use direct_oauth::clock::ManualClock;
use direct_oauth::lambda::token_authorizer::TokenAuthorizer;
use direct_oauth::random::OsRandom;
use direct_oauth::store::TokenRecord;
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::token::AccessToken;

use crate::faults::Faulty;
use crate::store_contract;
use serde_json::{Value, json};

const NOW_SECS: u64 = 1_800_000_000;

/// The authorizer over a store that holds alice, enabled.
fn authorizer() -> TokenAuthorizer<Faulty<MemoryStore>, ManualClock> {
    let store = MemoryStore::default();
    store.put_user(store_contract::user("alice"));
    store.put_application(store_contract::app());
    TokenAuthorizer {
        tokens: Faulty::new(store),
        clock: ManualClock::at(NOW_SECS * 1000),
        calls: Default::default(),
    }
}

fn record(token: &AccessToken) -> TokenRecord {
    TokenRecord {
        token_id: token.id().to_string(),
        secret_hash: token.secret_hash(),
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into()],
        issued_at: NOW_SECS - 10,
        expires_at: NOW_SECS + 10,
        revoked_at: None,
        user_generation: 0,
        client_epoch: 0,
        jkt: None,
    }
}

fn rest_token_event(bearer: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": bearer,
           "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/GET/whoami"})
}

fn effect(answer: &AuthorizerAnswer) -> &'static str {
    match answer {
        AuthorizerAnswer::Policy(p) => p.policy_document.statement[0].effect,
        AuthorizerAnswer::Simple(_) => panic!("a REST event gets a policy"),
    }
}

#[tokio::test]
async fn a_stored_token_is_allowed_and_a_disabled_users_is_denied() {
    let a = authorizer();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    let event = rest_token_event(&format!("Bearer {}", token.expose()));
    let allowed = a.check(event.clone()).await.unwrap();
    assert_eq!(effect(&allowed), "Allow");
    let AuthorizerAnswer::Policy(policy) = allowed else {
        unreachable!()
    };
    assert_eq!(policy.principal_id, "alice");
    assert_eq!(policy.context.unwrap().scopes, "repo:read");

    let mut alice = a.tokens.user("alice").expect("alice");
    alice.enabled = false;
    a.tokens.put_user(alice);
    let refused = a.check(event).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Unauthorized",
        "REST's 401, not a Deny's 403"
    );
}

#[tokio::test]
async fn expiry_is_judged_by_the_clock() {
    let a = authorizer();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    let event = rest_token_event(&format!("Bearer {}", token.expose()));
    assert_eq!(effect(&a.check(event.clone()).await.unwrap()), "Allow");
    a.clock.advance_ms(10_000);
    let refused = a.check(event).await.unwrap_err();
    assert_eq!(refused.to_string(), "Unauthorized");
}

#[tokio::test]
async fn an_outage_is_an_error_never_an_allow() {
    let a = authorizer();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    a.tokens.set_unavailable(true);
    let err = a
        .check(rest_token_event(&format!("Bearer {}", token.expose())))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "token store unavailable");
}

#[tokio::test]
async fn a_malformed_header_reads_nothing() {
    let a = authorizer();
    // With the store down, any read would be an error: a 401 shows none was made.
    a.tokens.set_unavailable(true);
    let err = a
        .check(rest_token_event("Basic dXNlcjpwYXNz"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Unauthorized");
}
