//! The Lambda authorizer: API Gateway asks it whether a bearer token may call a route.
//! One DynamoDB read per check, no password hashing.

use std::process::ExitCode;

use direct_oauth::authorizer::{self, UNAUTHORIZED};
use direct_oauth::clock::{Clock, SystemClock};
use direct_oauth::store::TokenReader;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::{aws, lambda};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::{info, warn};

/// What a check needs, built once per cold start.
struct Authorizer {
    store: DynamoStore,
    calls: aws::AwsCalls,
}

async fn check(state: &Authorizer, event: LambdaEvent<Value>) -> Result<Value, Error> {
    state.calls.dynamodb.take();
    let store = &state.store;
    let Some(check) = authorizer::parse_event(&event.payload) else {
        warn!(event = "authorizer", outcome = "unknown_event_shape");
        return Err(Error::from(UNAUTHORIZED));
    };
    let decision = match authorizer::bearer(check.authorization.as_deref()) {
        Err(denial) => Err(denial),
        Ok(token) => {
            // An outage is an error, never an allow: API Gateway answers 500 and the client retries.
            let record = store.get_token(token.id()).await.map_err(|e| {
                warn!(event = "authorizer", outcome = "store_unavailable", error = %e);
                Error::from("token store unavailable")
            })?;
            authorizer::decide(&token, record.as_ref(), SystemClock.now_ms() / 1000)
        }
    };
    let dynamodb_calls = state.calls.dynamodb.take();
    match &decision {
        Ok(g) => {
            info!(event = "authorizer", outcome = "allow", username = %g.username, client_id = %g.client_id, token_id = %g.token_id, dynamodb_calls)
        }
        Err(d) => info!(
            event = "authorizer",
            outcome = "deny",
            reason = d.reason(),
            dynamodb_calls
        ),
    }
    authorizer::respond(&check, &decision).map_err(Error::from)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match lambda::start() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sdk = aws::sdk_config().await;
    let calls = aws::AwsCalls::default();
    let store = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
    let state: &'static Authorizer = Box::leak(Box::new(Authorizer { store, calls }));
    match lambda_runtime::run(service_fn(move |event| check(state, event))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
