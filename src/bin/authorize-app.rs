//! The Lambda function behind `POST /oauth/authorizeapp`.

use std::process::ExitCode;

use direct_oauth::clock::SystemClock;
use direct_oauth::password::PasswordHasherArgon;
use direct_oauth::random::OsRandom;
use direct_oauth::service::{Service, Settings};
use direct_oauth::ssm::SsmWhitelist;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::whitelist::CachedWhitelist;
use direct_oauth::{aws, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match lambda::start() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let hasher = match PasswordHasherArgon::new() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up password hashing");
            return ExitCode::FAILURE;
        }
    };
    // One SDK config, so every client shares one credentials cache and HTTP client.
    let sdk = aws::sdk_config().await;
    let calls = aws::AwsCalls::default();
    let store = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
    let source = SsmWhitelist::new(aws::ssm(&sdk, &calls), config.whitelist_parameter.clone());
    let whitelist = CachedWhitelist::new(source, config.whitelist_cache, config.whitelist_stale);
    let service = Service::new(
        store,
        whitelist,
        SystemClock,
        OsRandom,
        hasher,
        Settings::from(&config),
    )
    .with_aws_calls(calls);
    // The service lives as long as the process; leaking it gives the handler a 'static borrow.
    let service = Box::leak(Box::new(service));
    match lambda::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
