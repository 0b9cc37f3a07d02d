//! Helpers for tests that need the local AWS-API server (moto), started by `make test`.

use aws_config::SdkConfig;
use direct_oauth::config::Tables;

/// The SDK configuration for moto, or `None` (test skipped) outside `make test`.
/// Under `CI=true` a missing moto is a failure, never a skip.
pub async fn moto() -> Option<SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let is_local = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://127.0.0.1:"));
    if !is_local {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but AWS_ENDPOINT_URL does not point at a local moto: storage tests cannot be skipped"
        );
        eprintln!("SKIPPED: AWS_ENDPOINT_URL is not a local moto; run `make test`");
        return None;
    }
    Some(direct_oauth::aws::sdk_config().await)
}

/// Fresh table names, so tests do not see each other's items.
pub fn unique_tables() -> Tables {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let tag: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Tables {
        users: format!("t-{tag}-users"),
        applications: format!("t-{tag}-apps"),
        tokens: format!("t-{tag}-tokens"),
        failed_logins: format!("t-{tag}-failed"),
        user_tokens: format!("t-{tag}-user-tokens"),
        codes: format!("t-{tag}-codes"),
        dpop_proofs: format!("t-{tag}-dpop-proofs"),
        sessions: format!("t-{tag}-sessions"),
        refresh_tokens: format!("t-{tag}-refresh-tokens"),
    }
}

pub fn unique_name(prefix: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!(
        "{prefix}{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Clients whose endpoint is a closed port on loopback: an AWS outage.
pub fn unreachable_dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .endpoint_url(CLOSED_PORT)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn unreachable_ssm(sdk: &SdkConfig) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::config::Builder::from(sdk)
        .endpoint_url(CLOSED_PORT)
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

const CLOSED_PORT: &str = "http://127.0.0.1:9";
