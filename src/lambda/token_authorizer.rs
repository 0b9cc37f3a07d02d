//! The `token-authorizer` function: reads an API Gateway authorizer event (HTTP API payload
//! 2.0, REST TOKEN or REST REQUEST) with `aws_lambda_events`' types, checks the bearer
//! token in one read (the token with the user and application it names; two for a token
//! issued before tokens named them), and answers in the event's shape. A `DPoP`
//! presentation's proof is checked against the request the event names (method, and the
//! API's public URL with the path) and spent once the token's secret matched. Generic over
//! the store and the clock, so it is tested with the memory store.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::{info, warn};

use crate::authorizer::{
    self, AuthorizerAnswer, Check, EventShape, ProtectedRequest, UNAUTHORIZED,
};
use crate::aws::{self, AwsCalls};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DpopSettings};
use crate::dpop;
use crate::token_check::{self, Denial, Grant};

use super::{logging, metrics};
use crate::store::dynamodb::DynamoStore;
use crate::store::{OneTimeValues, StoreError, TokenReader, TokenUse};

/// What a check needs, built once per cold start and borrowed by every invocation.
pub struct TokenAuthorizer<T, C> {
    pub tokens: T,
    pub clock: C,
    /// The proof window, and the protected API's public URL.
    pub dpop: DpopSettings,
    /// Round trips of the AWS client behind `tokens` (zero for other readers).
    pub calls: AwsCalls,
}

impl TokenAuthorizer<DynamoStore, SystemClock> {
    /// The production wiring: DynamoDB and the system clock.
    pub async fn from_config(config: &Config) -> Self {
        let sdk = aws::sdk_config().await;
        let calls = AwsCalls::default();
        let tokens = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
        // The first check finds its connection open (TLS included); if this fails, the
        // check opens one, as it would have.
        if let Err(e) = tokens.open_connection().await {
            warn!(error = %e, "no connection to DynamoDB was opened at start-up");
        }
        TokenAuthorizer {
            tokens,
            clock: SystemClock,
            dpop: config.dpop.clone(),
            calls,
        }
    }
}

impl<T: TokenReader + OneTimeValues + TokenUse, C: Clock> TokenAuthorizer<T, C> {
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
        let Some(check) = read_event(event, self.dpop.api_url.as_deref()) else {
            warn!(event = "authorizer", outcome = "unknown_event_shape");
            return Err(Error::from(UNAUTHORIZED));
        };
        let (decision, refused_proof) = self.decide(&check).await?;
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
                // Which check a refused DPoP proof failed (never the proof itself).
                dpop_error = refused_proof.map(|e| e.to_string()).unwrap_or_default(),
                dynamodb_calls,
                _aws = emf,
                Function = "token-authorizer",
                AuthorizerAllowed = 0u32,
                AuthorizerDenied = 1u32,
            ),
        }
        authorizer::respond(&check, &decision).map_err(Error::from)
    }

    /// The token's decision, and why a proof was refused; `Err` only for an outage.
    async fn decide(&self, check: &Check) -> Result<Decided, Error> {
        let presented = match authorizer::presented(check.authorization.as_deref()) {
            Ok(p) => p,
            Err(denial) => return Ok((Err(denial), None)),
        };
        let token = &presented.token;
        let now_secs = self.clock.now_ms() / 1000;
        let proof = if presented.dpop {
            let window = self.dpop.window.as_secs();
            match authorizer::proof_of(check, token, now_secs, window) {
                Ok(proof) => Some(proof),
                Err(e) => return Ok((Err(Denial::DpopInvalid), Some(e))),
            }
        } else {
            None
        };
        let unavailable = |e: StoreError| {
            warn!(event = "authorizer", outcome = "store_unavailable", error = %e);
            Error::from("token store unavailable")
        };
        let decision =
            token_check::check_and_note_use(&self.tokens, token, proof.as_ref(), now_secs).await;
        let decision = decision.map_err(unavailable)?;
        Ok((decision, None))
    }
}

/// A check's decision, and the reason a DPoP proof was refused, if one was.
type Decided = (Result<Grant, Denial>, Option<dpop::ProofError>);

/// What an authorizer event asks; `None` when it is none of the three shapes. The event's
/// `type` and `version` tell its shape; the typed request of that shape is then read.
///
/// `api_url`: the protected API's public base URL; `None`: the event's own domain (and a
/// REST API's stage on its `execute-api` domain). A proof's `htu` is it and the path.
pub fn read_event(event: Value, api_url: Option<&str>) -> Option<Check> {
    let kind = event.get("type").and_then(Value::as_str)?.to_string();
    let version = event
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_string);
    match (kind.as_str(), version.as_deref()) {
        ("REQUEST", Some("2.0")) => {
            let e: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).ok()?;
            let context = &e.request_context;
            // An HTTP API's rawPath already holds a named stage.
            let base = api_url
                .map(str::to_string)
                .or_else(|| Some(format!("https://{}", context.domain_name.as_deref()?)));
            let request = base
                .zip(e.raw_path.as_deref())
                .map(|(base, path)| ProtectedRequest {
                    method: context.http.method.to_string(),
                    url: format!("{}{path}", base.trim_end_matches('/')),
                });
            Some(Check {
                shape: EventShape::HttpApi,
                authorization: header(&e.headers),
                resource: e.route_arn.unwrap_or_default(),
                request,
                proof: proof_header(&e.headers),
            })
        }
        ("TOKEN", _) => {
            let e: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(event).ok()?;
            // The event holds the Authorization value only: no proof can come with it.
            Some(Check {
                shape: EventShape::RestToken,
                authorization: e.authorization_token,
                resource: e.method_arn?,
                request: None,
                proof: Ok(None),
            })
        }
        ("REQUEST", _) => {
            // Its typed context leaves the domain name out.
            let domain = event
                .pointer("/requestContext/domainName")
                .and_then(Value::as_str)
                .map(str::to_string);
            let e: ApiGatewayCustomAuthorizerRequestTypeRequest =
                serde_json::from_value(event).ok()?;
            let request = rest_request(&e, domain.as_deref(), api_url);
            // `headers` keeps only the last of repeated headers; `multiValueHeaders` has
            // them all, so two proofs are seen (and refused).
            let proofs = if e.multi_value_headers.contains_key(dpop::HEADER) {
                &e.multi_value_headers
            } else {
                &e.headers
            };
            Some(Check {
                shape: EventShape::RestRequest,
                authorization: header(&e.headers),
                resource: e.method_arn?,
                request,
                proof: proof_header(proofs),
            })
        }
        _ => None,
    }
}

/// A REST API's request: its `path` is the resource's, after the stage, which its own
/// `execute-api` domain puts first (a custom domain maps its base paths to stages).
fn rest_request(
    e: &ApiGatewayCustomAuthorizerRequestTypeRequest,
    domain: Option<&str>,
    api_url: Option<&str>,
) -> Option<ProtectedRequest> {
    let base = match api_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = e
                .headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok());
            let domain = domain.or(host)?;
            match e.request_context.stage.as_deref() {
                Some(stage) if domain.contains(".execute-api.") => {
                    format!("https://{domain}/{stage}")
                }
                _ => format!("https://{domain}"),
            }
        }
    };
    Some(ProtectedRequest {
        method: e.http_method.as_ref()?.to_string(),
        url: format!("{base}{}", e.path.as_deref()?),
    })
}

/// The `DPoP` header's one value (API Gateway joins repeated headers with commas).
fn proof_header(headers: &HeaderMap) -> Result<Option<String>, dpop::ProofError> {
    let values = headers.get_all(dpop::HEADER);
    dpop::header_value(values.iter().map(|v| v.as_bytes())).map(|v| v.map(str::to_string))
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

    fn read_event_(event: Value) -> Option<Check> {
        read_event(event, None)
    }

    #[test]
    fn reads_the_three_event_shapes() {
        let c = read_event_(v2(json!({"Authorization": "Bearer x"}))).unwrap();
        assert_eq!(
            (c.shape, c.authorization.as_deref(), c.resource.as_str()),
            (EventShape::HttpApi, Some("Bearer x"), "arn:r")
        );
        let token =
            json!({"type": "TOKEN", "authorizationToken": "Bearer y", "methodArn": "arn:m"});
        let c = read_event_(token).unwrap();
        assert_eq!(
            (c.shape, c.authorization.as_deref(), c.resource.as_str()),
            (EventShape::RestToken, Some("Bearer y"), "arn:m")
        );
        let request = json!({"type": "REQUEST", "methodArn": "arn:m",
                             "headers": {"authorization": "Bearer z"},
                             "requestContext": {}});
        let c = read_event_(request).unwrap();
        assert_eq!(
            (c.shape, c.authorization.as_deref()),
            (EventShape::RestRequest, Some("Bearer z"))
        );
    }

    #[test]
    fn a_proof_is_checked_against_the_url_the_client_addressed() {
        let mut e = v2(json!({"Authorization": "DPoP x", "DPoP": "a.b.c"}));
        e["rawPath"] = "/whoami".into();
        let c = read_event_(e.clone()).unwrap();
        let expected = ProtectedRequest {
            method: "GET".into(),
            url: "https://d/whoami".into(),
        };
        assert_eq!(c.request, Some(expected));
        assert_eq!(c.proof, Ok(Some("a.b.c".into())));
        let configured = read_event(e, Some("https://api.example/")).unwrap();
        assert_eq!(
            configured.request.unwrap().url,
            "https://api.example/whoami"
        );
        let rest = json!({"type": "REQUEST", "methodArn": "arn:m", "path": "/pets",
                          "httpMethod": "POST", "headers": {"DPoP": "p.q.r"},
                          "requestContext": {"stage": "prod",
                                             "domainName": "a1.execute-api.eu-west-1.amazonaws.com"}});
        let c = read_event_(rest.clone()).unwrap();
        let request = c.request.unwrap();
        assert_eq!(
            request.url,
            "https://a1.execute-api.eu-west-1.amazonaws.com/prod/pets"
        );
        assert_eq!(request.method, "POST");
        let mut custom = rest;
        custom["requestContext"]["domainName"] = "api.example".into();
        assert_eq!(
            read_event_(custom).unwrap().request.unwrap().url,
            "https://api.example/pets"
        );
        let token = json!({"type": "TOKEN", "authorizationToken": "DPoP y", "methodArn": "arn:m"});
        assert_eq!(
            read_event_(token).unwrap().request,
            None,
            "a TOKEN event names no request"
        );
    }

    #[test]
    fn a_rest_request_event_s_repeated_proofs_are_all_seen() {
        // API Gateway's REST event: `headers` keeps the last value of a repeated header,
        // `multiValueHeaders` every one.
        let rest = json!({"type": "REQUEST", "methodArn": "arn:m", "path": "/pets",
                          "httpMethod": "GET",
                          "headers": {"DPoP": "p.q.r", "Authorization": "DPoP t"},
                          "multiValueHeaders": {"DPoP": ["a.b.c", "p.q.r"],
                                                "Authorization": ["DPoP t"]},
                          "requestContext": {"stage": "prod", "domainName": "api.example"}});
        let c = read_event_(rest).unwrap();
        assert_eq!(c.proof, Err(dpop::ProofError::Several));
        let one = json!({"type": "REQUEST", "methodArn": "arn:m", "path": "/pets",
                         "httpMethod": "GET", "headers": {"DPoP": "p.q.r"},
                         "multiValueHeaders": {"DPoP": ["p.q.r"]},
                         "requestContext": {"stage": "prod", "domainName": "api.example"}});
        assert_eq!(read_event_(one).unwrap().proof, Ok(Some("p.q.r".into())));
    }

    #[test]
    fn other_shapes_are_none() {
        assert!(read_event_(json!({"type": "OTHER"})).is_none());
        assert!(read_event_(json!({})).is_none());
        assert!(read_event_(json!("a string")).is_none());
        assert!(
            read_event_(json!({"type": "TOKEN", "authorizationToken": "Bearer y"})).is_none(),
            "a REST authorizer event names its method"
        );
    }
}
