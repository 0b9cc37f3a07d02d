//! The authorizer's handler with the memory store: what it reads, what it answers, and
//! that an outage is never an allow.

use direct_oauth::authorizer::AuthorizerAnswer;
use direct_oauth::clock::ManualClock;
use direct_oauth::config::Config;
use direct_oauth::lambda::token_authorizer::TokenAuthorizer;
use direct_oauth::random::OsRandom;
use direct_oauth::store::TokenRecord;
use direct_oauth::store::memory::{MemoryStore, token_record};
use direct_oauth::token::{AccessToken, IssuedTo};

use crate::dpop_keys::ClientKey;
use crate::faults::{Faulty, Operation};
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
        dpop: Config::from_lookup(|_| None).unwrap().dpop,
        calls: Default::default(),
    }
}

fn record(token: &AccessToken) -> TokenRecord {
    TokenRecord {
        secret_hash: token.secret_hash(),
        scopes: vec!["repo:read".into()],
        issued_at: NOW_SECS - 10,
        expires_at: Some(NOW_SECS + 10),
        ..token_record(token.id(), "alice", "cli")
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

/// The token as issued now: naming alice and her application after its secret.
fn issued_now(token: &AccessToken) -> String {
    let named = token.clone().issued_to(IssuedTo::new("alice", "cli"));
    named.expose()
}

#[tokio::test]
async fn a_token_issued_now_is_checked_in_one_read_and_an_older_one_in_two() {
    let a = authorizer();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    // Only the one read that fetches the token with its user and application works.
    a.tokens.set_failing(Operation::GetToken, true);
    a.tokens.set_failing(Operation::OwnerAndClient, true);
    let now = rest_token_event(&format!("Bearer {}", issued_now(&token)));
    assert_eq!(effect(&a.check(now.clone()).await.unwrap()), "Allow");
    let before = rest_token_event(&format!("Bearer {}", token.expose()));
    let err = a.check(before.clone()).await.unwrap_err();
    assert_eq!(err.to_string(), "token store unavailable");
    // The older form's two reads, and the one read down: the older form still checks.
    a.tokens.set_failing(Operation::GetToken, false);
    a.tokens.set_failing(Operation::OwnerAndClient, false);
    a.tokens.set_failing(Operation::TokenAndParties, true);
    assert_eq!(effect(&a.check(before).await.unwrap()), "Allow");
    let err = a.check(now).await.unwrap_err();
    assert_eq!(err.to_string(), "token store unavailable");
}

#[tokio::test]
async fn a_token_whose_names_were_changed_is_refused() {
    let a = authorizer();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    let bob = store_contract::user("bob");
    a.tokens.put_user(bob);
    // The record is alice's: naming bob (who exists, enabled) must not make it his, nor
    // let bob's standing stand in for alice's.
    let renamed = token.clone().issued_to(IssuedTo::new("bob", "cli"));
    let event = rest_token_event(&format!("Bearer {}", renamed.expose()));
    assert_eq!(
        a.check(event).await.unwrap_err().to_string(),
        "Unauthorized"
    );
    let mut alice = a.tokens.user("alice").expect("alice");
    alice.enabled = false;
    a.tokens.put_user(alice);
    let named_alice = rest_token_event(&format!("Bearer {}", issued_now(&token)));
    assert_eq!(
        a.check(named_alice).await.unwrap_err().to_string(),
        "Unauthorized",
        "alice's own standing decides, read beside the token"
    );
}

const WHOAMI: &str = "https://d.example/whoami";

/// An HTTP API event for `GET /whoami` on `d.example`, with `authorization` and a proof.
fn dpop_event(authorization: &str, proof: Option<&str>) -> Value {
    let mut headers = json!({ "authorization": authorization });
    if let Some(p) = proof {
        headers["dpop"] = p.into();
    }
    json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:r", "rawPath": "/whoami",
           "headers": headers,
           "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d.example",
               "domainPrefix": "d", "requestId": "r", "routeKey": "GET /whoami",
               "stage": "$default", "time": "t", "timeEpoch": 0,
               "http": {"method": "GET", "path": "/whoami", "protocol": "HTTP/1.1",
                        "sourceIp": "1.2.3.4", "userAgent": "x"}}})
}

fn authorized(answer: &AuthorizerAnswer) -> bool {
    match answer {
        AuthorizerAnswer::Simple(s) => s.is_authorized,
        AuthorizerAnswer::Policy(_) => panic!("an HTTP API event gets a simple answer"),
    }
}

#[tokio::test]
async fn a_bound_token_needs_a_fresh_proof_by_its_key_for_this_request() {
    let a = authorizer();
    let key = ClientKey::new();
    let token = AccessToken::generate(&OsRandom).unwrap();
    let mut bound = record(&token);
    bound.jkt = Some(key.jkt());
    a.tokens.put_token_record(bound);
    let t = token.expose();
    let dpop = format!("DPoP {t}");
    let proof = key.proof_for_token("GET", WHOAMI, NOW_SECS, &t);
    let ok = a.check(dpop_event(&dpop, Some(&proof))).await.unwrap();
    assert!(authorized(&ok), "a proof by its key");
    let cases = [
        ("the same proof again", dpop_event(&dpop, Some(&proof))),
        (
            "presented as Bearer",
            dpop_event(&format!("Bearer {t}"), None),
        ),
        ("as Bearer, with a proof", {
            let p = key.proof_for_token("GET", WHOAMI, NOW_SECS, &t);
            dpop_event(&format!("Bearer {t}"), Some(&p))
        }),
        ("no proof", dpop_event(&dpop, None)),
        ("another key's proof", {
            let p = ClientKey::new().proof_for_token("GET", WHOAMI, NOW_SECS, &t);
            dpop_event(&dpop, Some(&p))
        }),
        ("no ath", {
            let p = key.proof("GET", WHOAMI, NOW_SECS, json!({}));
            dpop_event(&dpop, Some(&p))
        }),
        ("another request's", {
            let p = key.proof_for_token("POST", WHOAMI, NOW_SECS, &t);
            dpop_event(&dpop, Some(&p))
        }),
        ("another URL's", {
            let p = key.proof_for_token("GET", "https://d.example/other", NOW_SECS, &t);
            dpop_event(&dpop, Some(&p))
        }),
    ];
    for (case, event) in cases {
        let answer = a.check(event).await.unwrap();
        assert!(!authorized(&answer), "{case}");
    }
    let another = key.proof_for_token("GET", WHOAMI, NOW_SECS + 1, &t);
    let again = a.check(dpop_event(&dpop, Some(&another))).await.unwrap();
    assert!(authorized(&again), "a new proof by the key still works");
}

#[tokio::test]
async fn an_unbound_token_is_bearer_only_and_a_guard_outage_is_no_allow() {
    let a = authorizer();
    let key = ClientKey::new();
    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(record(&token));
    let t = token.expose();
    let proof = key.proof_for_token("GET", WHOAMI, NOW_SECS, &t);
    let answer = a
        .check(dpop_event(&format!("DPoP {t}"), Some(&proof)))
        .await
        .unwrap();
    assert!(!authorized(&answer), "an unbound token presented as DPoP");
    assert!(authorized(
        &a.check(dpop_event(&format!("Bearer {t}"), None))
            .await
            .unwrap()
    ));
    a.tokens.set_failing(Operation::FirstUse, true);
    let proof = key.proof_for_token("GET", WHOAMI, NOW_SECS, &t);
    let down = a
        .check(dpop_event(&format!("DPoP {t}"), Some(&proof)))
        .await;
    assert!(
        down.is_err(),
        "an outage of the replay guard is an error, never an allow"
    );
}

/// An API token's use is written when the authorizer accepts it and none is recorded within
/// the interval; a refused presentation writes none; a failed write still allows.
#[tokio::test]
async fn an_api_token_s_use_is_written_once_per_interval() {
    let a = authorizer();
    let api = |token: &AccessToken| TokenRecord {
        name: Some("ci".into()),
        expires_at: None,
        ..record(token)
    };
    let used = |token: &AccessToken| {
        let mut tokens = a.tokens.tokens().into_iter();
        tokens
            .find(|t| t.token_id == token.id())
            .unwrap()
            .last_used_at
    };
    let revoked = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(TokenRecord {
        revoked_at: Some(NOW_SECS - 1),
        ..api(&revoked)
    });
    let event = rest_token_event(&format!("Bearer {}", revoked.expose()));
    assert!(a.check(event).await.is_err());
    assert_eq!(used(&revoked), None, "a refused token was not used");

    let token = AccessToken::generate(&OsRandom).unwrap();
    a.tokens.put_token_record(api(&token));
    let event = rest_token_event(&format!("Bearer {}", token.expose()));
    assert_eq!(effect(&a.check(event.clone()).await.unwrap()), "Allow");
    assert_eq!(used(&token), Some(NOW_SECS));
    a.clock.advance_ms(899_000);
    a.check(event.clone()).await.unwrap();
    assert_eq!(
        used(&token),
        Some(NOW_SECS),
        "within the interval: no write"
    );
    a.clock.advance_ms(1_000);
    a.tokens.set_failing(Operation::RecordUse, true);
    assert_eq!(effect(&a.check(event.clone()).await.unwrap()), "Allow");
    assert_eq!(
        used(&token),
        Some(NOW_SECS),
        "the write failed; the token still works"
    );
    a.tokens.set_failing(Operation::RecordUse, false);
    a.check(event).await.unwrap();
    assert_eq!(used(&token), Some(NOW_SECS + 900));
}
