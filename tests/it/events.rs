//! Every file in `events/` through the real event conversion (the event guard, then
//! `lambda_http`'s own conversion) into the flow and the authorizer, with in-memory
//! adapters: each answers what its file name promises. A new front door or scenario file
//! without an expectation here fails the test.

use std::path::{Path, PathBuf};

use direct_oauth::authorizer::AuthorizerAnswer;
use direct_oauth::clock::ManualClock;
use direct_oauth::config::Config;
use direct_oauth::lambda::guard;
use direct_oauth::lambda::server::{self, App};
use direct_oauth::lambda::token_authorizer::{TokenAuthorizer, read_event};
use direct_oauth::store::memory::MemoryStore;
use direct_oauth::store::{Application, TokenRecord};
use direct_oauth::token::AccessToken;
use http::header::LOCATION;
use lambda_http::request::LambdaRequest;
use serde_json::Value;

use crate::flow::{NOW_MS, flow as demo_flow};
use crate::store_contract;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// `(scenario, event)` for each file of one folder, sorted.
fn files(dir: &Path) -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let scenario = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (scenario, json)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

const FRONT_DOORS: [&str; 5] = [
    "alb",
    "alb-multi-value",
    "apigw-http-v2",
    "apigw-rest-v1",
    "function-url",
];

#[tokio::test]
async fn every_front_door_event_gets_the_answer_its_name_promises() {
    let mut folders: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "token-authorizer")
        .collect();
    folders.sort();
    assert_eq!(folders, FRONT_DOORS, "a front door without expectations");
    let mut checked = 0;
    for door in FRONT_DOORS {
        for (scenario, json) in files(&events_dir().join(door)) {
            // A fresh flow per event, so one event's failed login cannot back off the next.
            let demo = demo_flow();
            let store = demo.store().clone();
            let app = App {
                server: demo.into_server(),
                calls: Default::default(),
                hashing: Default::default(),
            };
            let mut event: LambdaRequest = serde_json::from_value(json)
                .unwrap_or_else(|e| panic!("{door}/{scenario}: not a Lambda HTTP event: {e}"));
            guard::sanitize(&mut event);
            let request: lambda_http::Request = event.into();
            let response = server::answer(&app, request).await;
            let status = response.status().as_u16();
            let body: Value = match response.body() {
                lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
                _ => Value::Null,
            };
            let what = format!("{door}/{scenario}: {status} {body}");
            let location = response.headers().get(LOCATION);
            let location = location.map(|l| l.to_str().unwrap()).unwrap_or_default();
            expect(&scenario, status, &body, location, &store, &what);
            if scenario != "success" {
                assert!(store.tokens().is_empty(), "{what}: no token");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 50, "ten scenarios at each of five front doors");
}

/// What each sample event's scenario promises, by its file's name.
fn expect(
    scenario: &str,
    status: u16,
    body: &Value,
    location: &str,
    store: &MemoryStore,
    what: &str,
) {
    match scenario {
        "success" => {
            assert_eq!(status, 302, "{what}");
            assert!(
                location.starts_with("https://my/internal/application/token_created#access_token="),
                "{what}: {location}"
            );
            assert_eq!(store.tokens().len(), 1, "{what}: one record");
        }
        "wrong-password" => assert_eq!(
            (status, &body["error"]),
            (401, &"access_denied".into()),
            "{what}"
        ),
        "not-whitelisted" => assert_eq!(
            (status, &body["error"]),
            (403, &"unauthorized_client".into()),
            "{what}"
        ),
        "redirect-mismatch" => assert_eq!(
            (status, &body["error"]),
            (400, &"invalid_request".into()),
            "{what}"
        ),
        "get" => assert_eq!(status, 405, "{what}"),
        "code" => {
            assert_eq!(status, 302, "{what}");
            let prefix = "https://my/internal/application/token_created?code=";
            assert!(location.starts_with(prefix), "{what}: {location}");
            // The state, then the issuer this door names (RFC 9207).
            assert!(
                location.contains("&state=s1&iss=https%3A%2F%2F"),
                "{what}: {location}"
            );
            assert_eq!(store.codes().len(), 1, "{what}: one code");
        }
        "exchange-unknown-code" => assert_eq!(
            (status, &body["error"]),
            (400, &"invalid_grant".into()),
            "{what}"
        ),
        "introspect-public-client" => assert_eq!(
            (status, &body["error"]),
            (400, &"invalid_client".into()),
            "{what}"
        ),
        // Where each door carries a DPoP header; the proof is from 2020.
        "dpop-stale-proof" => assert_eq!(
            (status, &body["error"]),
            (400, &"invalid_dpop_proof".into()),
            "{what}"
        ),
        "discovery" => {
            assert_eq!(status, 200, "{what}");
            let issuer = body["issuer"].as_str().unwrap_or_default();
            let token = body["token_endpoint"].as_str().unwrap_or_default();
            assert_eq!(token, format!("{issuer}/oauth/access_token"), "{what}");
        }
        other => panic!("{what}: no expectation for the scenario {other}"),
    }
}

/// The sample tokens' records, as `tests/support/sample_tokens.py` writes them into a local stack:
/// taken from the events themselves, so the two cannot disagree.
fn sample_records(store: &MemoryStore) {
    store.put_user(store_contract::user("username"));
    store.put_application(Application {
        client_id: "some_client_id".into(),
        name: "Quay example".into(),
        ..store_contract::app()
    });
    let dir = events_dir().join("token-authorizer").join("http-api-v2");
    for (scenario, json) in files(&dir) {
        let (expires_at, revoked_at, jkt) = match scenario.as_str() {
            "valid" => (NOW_MS / 1000 + 3600, None, None),
            "expired" => (NOW_MS / 1000 - 60, None, None),
            "revoked" => (NOW_MS / 1000 + 3600, Some(NOW_MS / 1000 - 30), None),
            // tools/gen_events.py's SAMPLE_DPOP_JKT.
            "dpop-bound-as-bearer" => (
                NOW_MS / 1000 + 3600,
                None,
                Some("esYLfTqfVY8miXwfnky2uTNg-loRAve95BV8R8ivsds".to_string()),
            ),
            _ => continue,
        };
        let check = read_event(json, None).expect("a sample event");
        let presented = check.authorization.unwrap();
        let token = AccessToken::parse(presented.strip_prefix("Bearer ").unwrap()).unwrap();
        store.put_token_record(TokenRecord {
            token_id: token.id().to_string(),
            secret_hash: token.secret_hash(),
            username: "username".into(),
            client_id: "some_client_id".into(),
            scopes: vec!["repo:read".into(), "org:admin".into()],
            issued_at: NOW_MS / 1000 - 3600,
            expires_at: Some(expires_at),
            revoked_at,
            user_generation: 0,
            client_epoch: 0,
            jkt,
            name: None,
            last_used_at: None,
        });
    }
}

#[tokio::test]
async fn every_authorizer_event_gets_the_answer_its_name_promises() {
    let authorizer = TokenAuthorizer {
        tokens: MemoryStore::default(),
        clock: ManualClock::at(NOW_MS),
        dpop: Config::from_lookup(|_| None).unwrap().dpop,
        calls: Default::default(),
    };
    sample_records(&authorizer.tokens);
    let doors = ["http-api-v2", "rest-request", "rest-token"];
    let mut checked = 0;
    for door in doors {
        for (scenario, json) in files(&events_dir().join("token-authorizer").join(door)) {
            let answer = authorizer.check(json).await;
            let what = format!("{door}/{scenario}: {answer:?}");
            let allowed = match &answer {
                Ok(AuthorizerAnswer::Simple(a)) => Some(a.is_authorized),
                Ok(AuthorizerAnswer::Policy(p)) => {
                    Some(p.policy_document.statement[0].effect == "Allow")
                }
                Err(_) => None,
            };
            match scenario.as_str() {
                "valid" => {
                    assert_eq!(allowed, Some(true), "{what}");
                    let context = match answer.unwrap() {
                        AuthorizerAnswer::Simple(a) => a.context,
                        AuthorizerAnswer::Policy(p) => p.context,
                    };
                    assert_eq!(context.unwrap().username, "username", "{what}");
                }
                "wrong-secret"
                | "unknown"
                | "expired"
                | "revoked"
                | "malformed"
                | "basic-scheme"
                | "missing-header"
                | "dpop-bound-as-bearer"
                | "dpop-stale-proof" => {
                    if door == "http-api-v2" {
                        assert_eq!(allowed, Some(false), "{what}");
                    } else {
                        let err = answer.unwrap_err().to_string();
                        assert_eq!(err, "Unauthorized", "{what}: REST's 401");
                    }
                }
                other => panic!("token-authorizer/{door}/{other}.json: no expectation"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 30, "ten scenarios at each of three doors");
}
