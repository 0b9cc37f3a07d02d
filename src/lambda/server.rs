//! The `authorize-app` function: the flow over DynamoDB and SSM, served on the Lambda
//! Runtime API, with one log line per request carrying its AWS round trips and where its
//! time went.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use lambda_http::{Adapter, Body, Request, RequestExt, Response, service_fn};
use tracing::{info, warn};

use crate::aws::AnyDirectory;
use crate::aws::{self, AwsCalls};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::directory::DirectoryError;
use crate::endpoints::{Answer, ClientAddress, Deadline, Event, Issuer, Ports, Server, Settings};
use crate::password::{HashError, PasswordHasherArgon, Passwords};
use crate::random::OsRandom;
use crate::response::HttpResponse;
use crate::store::dynamodb::DynamoStore;
use crate::whitelist::CachedWhitelist;
use crate::whitelist::ssm::SsmWhitelist;

use super::guard::EventGuard;
use super::timing::{HashingTime, TimedPasswords};
use super::{logging, metrics};

/// The flow as deployed.
pub type AwsServer = Server<(
    DynamoStore,
    SsmWhitelist,
    SystemClock,
    OsRandom,
    TimedPasswords<PasswordHasherArgon>,
    AnyDirectory,
)>;

/// Why the function cannot start: it exits, and Lambda reports the failed init.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot set up password hashing: {0}")]
    Hashing(#[from] HashError),
    #[error("cannot set up the directory: {0}")]
    Directory(#[from] DirectoryError),
}

/// What the function keeps between requests: built once per cold start, then borrowed.
pub struct App<F> {
    pub server: F,
    /// Round trips of the AWS clients the flow's adapters use, and their time.
    pub calls: AwsCalls,
    /// Time spent hashing passwords (zero for a flow whose hasher is not timed).
    pub hashing: HashingTime,
}

impl App<AwsServer> {
    /// The production wiring: one SDK configuration, so every client shares one
    /// credentials cache and HTTP client.
    pub async fn from_config(config: &Config) -> Result<Self, StartError> {
        let started = Instant::now();
        let hasher = TimedPasswords::new(PasswordHasherArgon::new()?);
        let hashing = hasher.time();
        let sdk = aws::sdk_config().await;
        let calls = AwsCalls::default();
        let store = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
        let source = SsmWhitelist::new(aws::ssm(&sdk, &calls), config.whitelist_parameter.clone());
        let whitelist =
            CachedWhitelist::new(source, config.whitelist_cache, config.whitelist_stale);
        // Whatever waits on the network goes together, the hasher's memory beside it.
        hasher.prepare();
        let directory = aws::directory(&config.directory, &sdk, &calls);
        let (directory, ()) = tokio::join!(directory, open_ahead(&store, &whitelist));
        let directory = directory?;
        log_start(&calls, started);
        let server = Server::with_directory(
            store,
            whitelist,
            SystemClock,
            OsRandom,
            hasher,
            directory,
            Settings::from(config),
        );
        Ok(App {
            server,
            calls,
            hashing,
        })
    }
}

/// What a cold start's first request would otherwise wait for before its own reads: the
/// whitelist, and open connections (TLS included) for its first round's two DynamoDB calls
/// (the read and the attempt's admission). A failure here is only logged: the first
/// request then does it, as it would have.
async fn open_ahead(store: &DynamoStore, whitelist: &CachedWhitelist<SsmWhitelist>) {
    let listed = whitelist.current(SystemClock.now_ms());
    let (listed, read, admission) =
        tokio::join!(listed, store.open_connection(), store.open_connection());
    if let Err(e) = listed {
        warn!(error = %e, "the whitelist was not read at start-up");
    }
    if let Err(e) = read.and(admission) {
        warn!(error = %e, "no connection to DynamoDB was opened at start-up");
    }
}

/// The start-up's own line: what it asked of AWS ahead of the first request, and how long
/// that start-up took, with the SSM metrics (its SSM call is no request's). Its fields are
/// named apart from a request line's, so a search for those finds requests only.
fn log_start(calls: &AwsCalls, started: Instant) {
    let (ssm_calls, ssm_throttles) = (calls.ssm.take(), calls.ssm_throttles.take());
    info!(
        event = "started",
        startup_ms = ms(started.elapsed()),
        startup_aws_ms = ms(calls.time.take()),
        startup_dynamodb_calls = calls.dynamodb.take(),
        startup_ssm_calls = ssm_calls,
        _aws = metrics::STARTED_METADATA.at(epoch_ms()),
        Function = "authorize-app",
        SsmCalls = ssm_calls,
        SsmThrottles = ssm_throttles,
    );
}

/// Serves `app` on the Lambda Runtime API until the process ends.
pub async fn serve<D: Ports>(app: &App<Server<D>>) -> Result<(), lambda_runtime::Error> {
    let handler = service_fn(|req: Request| async move {
        if let Some(context) = req.lambda_context_ref() {
            logging::begin_invocation(&context.request_id, context.xray_trace_id.as_deref());
        }
        let response = answer(app, req).await;
        logging::end_invocation();
        Ok::<_, Infallible>(response)
    });
    lambda_runtime::run(EventGuard(Adapter::from(handler))).await
}

/// One request: the flow's answer, logged with the round trips it cost and where its time
/// went: `aws_ms` waiting on AWS (overlapping calls counted once), `hashing_ms` hashing
/// passwords; the rest of `total_ms` is the function's own work.
pub async fn answer<D: Ports>(app: &App<Server<D>>, mut req: Request) -> Response<Body> {
    // The runtime's deadline bounds how long the whitelist fetch may retry.
    if let Some(deadline) = req.lambda_context_ref().map(|c| Deadline(c.deadline)) {
        req.extensions_mut().insert(deadline);
    }
    if let Some(issuer) = issuer(&req) {
        req.extensions_mut().insert(issuer);
    }
    // Computed once: the log line names it, and the device authorization shows it.
    let address = source_ip(&req);
    req.extensions_mut().insert(ClientAddress(address.clone()));
    let req = &req;
    // Lambda runs one request at a time per process, so the counts are this request's.
    app.calls.reset();
    app.hashing.take();
    let started = Instant::now();
    let Answer { response, log } = app.server.handle(req).await;
    let (ssm_calls, hashing_ms) = (app.calls.ssm.take(), ms(app.hashing.take()));
    let status = response.status().as_u16();
    info!(
        event = log.event.as_str(),
        status,
        client_id = %log.client_id,
        error = log.error,
        description = %log.description,
        username = %log.username,
        scopes = %log.scopes,
        token_id = %log.token_id,
        source_ip = %address,
        dynamodb_calls = app.calls.dynamodb.take(),
        ssm_calls,
        total_ms = ms(started.elapsed()),
        aws_ms = ms(app.calls.time.take()),
        hashing_ms,
        // CloudWatch metrics from this line (embedded metric format).
        _aws = metrics::AUTHORIZE_APP_METADATA.at(epoch_ms()),
        Function = "authorize-app",
        TokensIssued = metrics::count(log.event == Event::TokenIssued),
        Status401 = metrics::count(status == 401),
        Status403 = metrics::count(status == 403),
        Status429 = metrics::count(status == 429),
        Status503 = metrics::count(status == 503),
        SsmCalls = ssm_calls,
        SsmThrottles = app.calls.ssm_throttles.take(),
        HashingMs = hashing_ms,
    );
    into_lambda(response)
}

/// The caller's address as API Gateway or the function URL saw it; for an ALB, the last
/// entry of `X-Forwarded-For`: the ALB appends the address it saw, and every entry before
/// it is whatever the client wrote. Empty when the event has none.
fn source_ip(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    let from_header = || {
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_string())
    };
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(c)) => c.identity.source_ip.clone(),
        _ => from_header(),
    }
    .unwrap_or_default()
}

/// The URL the request came to, up to the API's base path: API Gateway's domain name and,
/// on its own `execute-api` domain, a REST API's or named HTTP API stage's name; behind an
/// ALB, the `Host` it passed on (as the guard checked it). `DIRECT_OAUTH_ISSUER` overrides
/// it, and must be set where the path to the function has a base path of its own.
fn issuer(req: &Request) -> Option<Issuer> {
    use lambda_http::request::RequestContext;
    let (domain, stage) = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => (c.domain_name.clone(), c.stage.clone()),
        RequestContext::ApiGatewayV1(c) => (c.domain_name.clone(), c.stage.clone()),
        _ => (None, None),
    };
    let host = || {
        let value = req.headers().get(super::guard::HOST_HEADER)?;
        Some(value.to_str().ok()?.to_string())
    };
    let domain = domain.or_else(host)?;
    // A custom domain maps its own base paths to stages: the stage is not in its URLs.
    let stage = stage.filter(|_| domain.contains(".execute-api."));
    let base = match stage.as_deref() {
        None | Some("$default") | Some("") => String::new(),
        Some(stage) => format!("/{stage}"),
    };
    Some(Issuer(format!("https://{domain}{base}")))
}

fn epoch_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds with one decimal, as the log line carries them.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The core's response as `lambda_http` wants it: an empty body is no body.
pub fn into_lambda(response: HttpResponse) -> Response<Body> {
    response.map(|body| {
        if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_an_alb_the_source_is_the_address_the_alb_appended() {
        let req = lambda_http::http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(
            source_ip(&req),
            "198.51.100.7",
            "not the client's own entry"
        );
        let direct = lambda_http::http::Request::builder()
            .header("x-forwarded-for", "198.51.100.7")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(source_ip(&direct), "198.51.100.7");
    }
}
