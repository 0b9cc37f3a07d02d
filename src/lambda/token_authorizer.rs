//! The `token-authorizer` function: reads an API Gateway authorizer event (HTTP API payload
//! 2.0, REST TOKEN or REST REQUEST) with `aws_lambda_events`' types, checks the bearer
//! token with two reads (the token, then its user and application), and answers in the
//! event's shape. Generic over the token reader and the clock, so it is tested with the
//! memory store.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::{info, warn};

use crate::authorizer::{self, AuthorizerAnswer, Check, Door, UNAUTHORIZED};
use crate::aws::{self, AwsCalls};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;

use super::{logging, metrics};
use crate::store::dynamodb::DynamoStore;
use crate::store::{Holders, StoreError, TokenReader};

/// What a check needs, built once per cold start and borrowed by every invocation.
pub struct TokenAuthorizer<T, C> {
    pub tokens: T,
    pub clock: C,
    /// Round trips of the AWS client behind `tokens` (zero for other readers).
    pub calls: AwsCalls,
}

impl TokenAuthorizer<DynamoStore, SystemClock> {
    /// The production wiring: DynamoDB and the system clock.
    pub async fn from_config(config: &Config) -> Self {
        let sdk = aws::sdk_config().await;
        let calls = AwsCalls::default();
        let tokens = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
        TokenAuthorizer {
            tokens,
            clock: SystemClock,
            calls,
        }
    }
}

impl<T: TokenReader, C: Clock> TokenAuthorizer<T, C> {
    /// Serves authorizer events on the Lambda Runtime API until the process ends.
    pub async fn serve(&self) -> Result<(), Error> {
        lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
            let context = &event.context;
            logging::begin_invocation(&context.request_id, context.xray_trace_id.as_deref());
            let answer = self.check(event.payload).await;
            logging::end_invocation();
            answer
        }))
        .await
    }

    /// One authorizer event. `Err` is how a REST authorizer says 401 (`Unauthorized`) and
    /// how any authorizer reports an outage (API Gateway answers 500; never an allow).
    pub async fn check(&self, event: Value) -> Result<AuthorizerAnswer, Error> {
        self.calls.reset();
        let Some(check) = read_event(event) else {
            warn!(event = "authorizer", outcome = "unknown_event_shape");
            return Err(Error::from(UNAUTHORIZED));
        };
        let decision = match authorizer::bearer(check.authorization.as_deref()) {
            Err(denial) => Err(denial),
            Ok(token) => {
                let unavailable = |e: StoreError| {
                    warn!(event = "authorizer", outcome = "store_unavailable", error = %e);
                    Error::from("token store unavailable")
                };
                let record = self
                    .tokens
                    .get_token(token.id())
                    .await
                    .map_err(unavailable)?;
                let holders = match &record {
                    Some(r) => self
                        .tokens
                        .token_holders(&r.username, &r.client_id)
                        .await
                        .map_err(unavailable)?,
                    None => Holders::default(),
                };
                let now_secs = self.clock.now_ms() / 1000;
                authorizer::decide(&token, record.as_ref(), &holders, now_secs)
            }
        };
        let dynamodb_calls = self.calls.dynamodb.take();
        let now_ms = self.clock.now_ms();
        // CloudWatch metrics from the line (embedded metric format).
        let emf = metrics::TOKEN_AUTHORIZER_METADATA.at(now_ms);
        match &decision {
            Ok(g) => info!(
                event = "authorizer",
                outcome = "allow",
                username = %g.username,
                client_id = %g.client_id,
                token_id = %g.token_id,
                dynamodb_calls,
                _aws = emf,
                Function = "token-authorizer",
                AuthorizerAllowed = 1u32,
                AuthorizerDenied = 0u32,
            ),
            Err(d) => info!(
                event = "authorizer",
                outcome = "deny",
                reason = d.reason(),
                dynamodb_calls,
                _aws = emf,
                Function = "token-authorizer",
                AuthorizerAllowed = 0u32,
                AuthorizerDenied = 1u32,
            ),
        }
        authorizer::respond(&check, &decision).map_err(Error::from)
    }
}

/// What an authorizer event asks; `None` when it is none of the three shapes. The event's
/// `type` and `version` tell its door; the typed request of that door is then read.
pub fn read_event(event: Value) -> Option<Check> {
    let kind = event.get("type").and_then(Value::as_str)?.to_string();
    let version = event
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_string);
    match (kind.as_str(), version.as_deref()) {
        ("REQUEST", Some("2.0")) => {
            let e: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).ok()?;
            Some(Check {
                door: Door::HttpApi,
                authorization: header(&e.headers),
                resource: e.route_arn.unwrap_or_default(),
            })
        }
        ("TOKEN", _) => {
            let e: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(event).ok()?;
            Some(Check {
                door: Door::RestToken,
                authorization: e.authorization_token,
                resource: e.method_arn?,
            })
        }
        ("REQUEST", _) => {
            let e: ApiGatewayCustomAuthorizerRequestTypeRequest =
                serde_json::from_value(event).ok()?;
            Some(Check {
                door: Door::RestRequest,
                authorization: header(&e.headers),
                resource: e.method_arn?,
            })
        }
        _ => None,
    }
}

/// The one `Authorization` value (names are case-insensitive in a `HeaderMap`).
fn header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2(headers: Value) -> Value {
        json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:r", "headers": headers,
               "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d",
                   "domainPrefix": "d", "requestId": "r", "routeKey": "$default",
                   "stage": "$default", "time": "t", "timeEpoch": 0,
                   "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1",
                            "sourceIp": "1.2.3.4", "userAgent": "x"}}})
    }

    #[test]
    fn reads_the_three_event_shapes() {
        let c = read_event(v2(json!({"Authorization": "Bearer x"}))).unwrap();
        assert_eq!(
            (c.door, c.authorization.as_deref(), c.resource.as_str()),
            (Door::HttpApi, Some("Bearer x"), "arn:r")
        );
        let token =
            json!({"type": "TOKEN", "authorizationToken": "Bearer y", "methodArn": "arn:m"});
        let c = read_event(token).unwrap();
        assert_eq!(
            (c.door, c.authorization.as_deref(), c.resource.as_str()),
            (Door::RestToken, Some("Bearer y"), "arn:m")
        );
        let request = json!({"type": "REQUEST", "methodArn": "arn:m",
                             "headers": {"authorization": "Bearer z"},
                             "requestContext": {}});
        let c = read_event(request).unwrap();
        assert_eq!(
            (c.door, c.authorization.as_deref()),
            (Door::RestRequest, Some("Bearer z"))
        );
    }

    #[test]
    fn other_shapes_are_none() {
        assert!(read_event(json!({"type": "OTHER"})).is_none());
        assert!(read_event(json!({})).is_none());
        assert!(read_event(json!("a string")).is_none());
        assert!(
            read_event(json!({"type": "TOKEN", "authorizationToken": "Bearer y"})).is_none(),
            "a REST authorizer event names its method"
        );
    }
}
