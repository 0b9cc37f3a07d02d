//! No event kills an instance. Arbitrary strings go into every field of a v1, v2, ALB and
//! function-URL event that a client can influence, then through the event guard and
//! `lambda_http`'s own conversion into the flow: no panic (with `panic = "abort"` a panic
//! is a dead instance, a 502, and a cold start that reads SSM again), and never a 5xx.

use std::sync::OnceLock;

use lambda_http::request::LambdaRequest;
use proptest::prelude::*;
use serde_json::Value;

use direct_oauth::endpoints::Server;
use direct_oauth::lambda::guard;
use direct_oauth::lambda::server::{self, App};

use crate::flow::{TestPorts, flow};
use crate::fuzz::config;

/// A sample event per front door, and the fields (JSON paths) a client's request fills.
const DOORS: [(&str, &[&str]); 5] = [
    (
        "apigw-rest-v1",
        &[
            "path",
            "headers/Host",
            "headers/X-Forwarded-Proto",
            "headers/Authorization",
            "headers/DPoP",
            "headers/Content-Type",
            "multiValueHeaders/Authorization/0",
            "queryStringParameters/q",
            "multiValueQueryStringParameters/q/0",
            "pathParameters/proxy",
            "body",
        ],
    ),
    (
        "apigw-http-v2",
        &[
            "rawPath",
            "rawQueryString",
            "headers/host",
            "headers/x-forwarded-proto",
            "headers/authorization",
            "headers/dpop",
            "headers/content-type",
            "cookies/0",
            "queryStringParameters/q",
            "requestContext/http/path",
            "body",
        ],
    ),
    (
        "function-url",
        &[
            "rawPath",
            "rawQueryString",
            "headers/host",
            "headers/authorization",
            "headers/dpop",
            "cookies/0",
            "queryStringParameters/q",
            "body",
        ],
    ),
    (
        "alb",
        &[
            "path",
            "queryStringParameters/q",
            "headers/host",
            "headers/x-forwarded-proto",
            "headers/authorization",
            "headers/dpop",
            "body",
        ],
    ),
    (
        "alb-multi-value",
        &[
            "path",
            "multiValueQueryStringParameters/q/0",
            "multiValueHeaders/host/0",
            "multiValueHeaders/x-forwarded-proto/0",
            "multiValueHeaders/authorization/0",
            "multiValueHeaders/dpop/0",
            "body",
        ],
    ),
];

fn sample(door: &str) -> Value {
    let path = format!("{}/events/{door}/success.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Sets the field at `path` (`a/b/0`), making the objects and arrays on the way.
fn set(event: &mut Value, path: &str, value: String) {
    let mut at = event;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let next = if last {
            Value::String(value.clone())
        } else if parts[i + 1].parse::<usize>().is_ok() {
            Value::Array(vec![])
        } else {
            Value::Object(Default::default())
        };
        if let Ok(index) = part.parse::<usize>() {
            let list = at.as_array_mut().expect("an array on the way");
            if list.len() <= index {
                list.resize(index + 1, Value::Null);
            }
            if last || list[index].is_null() {
                list[index] = next;
            }
            at = &mut list[index];
        } else {
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            let map = at.as_object_mut().unwrap();
            if last || !map.contains_key(*part) {
                map.insert(part.to_string(), next);
            }
            at = map.get_mut(*part).unwrap();
        }
    }
}

/// Strings a hostile client or a broken proxy could put anywhere: URI delimiters, quotes,
/// angle brackets, spaces, percent signs, control characters, anything.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ \"<>{}|\\\\^`%:@/?#\\[\\]a-z0-9]{0,12}",
        1 => "/[^\\x00-\\x1f]{0,12}",
        1 => ":[0-9]{1,7}",
        1 => any::<String>(),
    ]
}

/// The door, the field and what goes in it.
fn case() -> impl Strategy<Value = (usize, usize, String)> {
    (0..DOORS.len()).prop_flat_map(|d| (Just(d), 0..DOORS[d].1.len(), hostile()))
}

/// One warm instance for every case, as Lambda would keep it.
fn instance() -> &'static (tokio::runtime::Runtime, App<Server<TestPorts>>) {
    static INSTANCE: OnceLock<(tokio::runtime::Runtime, App<Server<TestPorts>>)> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let app = App {
            server: flow().into_server(),
            calls: Default::default(),
            hashing: Default::default(),
        };
        (rt, app)
    })
}

/// One event through the guard, the conversion and the flow: its status, or `None` when
/// the runtime could not even read it as an event (an error reply, not a dead instance).
fn status(event: Value) -> Option<u16> {
    let mut request: LambdaRequest = serde_json::from_value(event).ok()?;
    guard::sanitize(&mut request);
    let request: lambda_http::Request = request.into();
    let (rt, app) = instance();
    Some(rt.block_on(server::answer(app, request)).status().as_u16())
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn no_client_field_kills_an_instance_or_gets_a_5xx((door, field, value) in case()) {
        let (name, fields) = DOORS[door];
        let mut event = sample(name);
        set(&mut event, fields[field], value);
        if let Some(status) = status(event) {
            prop_assert!(status < 500, "{} {}: {}", name, fields[field], status);
        }
    }
}

/// The strings that used to end an instance, one per door: with `panic = "abort"`, each
/// was a 502 and a cold start.
#[test]
fn the_events_that_killed_instances_are_answered() {
    for (door, field, value) in [
        ("apigw-http-v2", "rawQueryString", "a b"),
        ("function-url", "rawQueryString", "x=\"<>\""),
        ("apigw-http-v2", "rawPath", ":99999"),
        ("apigw-rest-v1", "path", ":99999"),
        ("alb", "path", ":99999"),
    ] {
        let mut event = sample(door);
        set(&mut event, field, value.to_string());
        let got = status(event).expect("a readable event");
        assert!(got < 500, "{door} {field}={value:?}: {got}");
    }
}
