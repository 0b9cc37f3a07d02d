//! The scheduled `user sync` (template.yaml's UserSyncSchedule): each run disables the
//! local records of directory users who are gone or locked in the directory, a log line
//! per change, and answers with the run's report.

use std::process::ExitCode;

use direct_oauth::aws::{self, AwsCalls};
use direct_oauth::lambda;
use direct_oauth::offboarding;
use direct_oauth::store::dynamodb::DynamoStore;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use tracing::{error, info};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match lambda::start() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sdk = aws::sdk_config().await;
    let calls = AwsCalls::default();
    let store = DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone());
    let directory = match aws::directory(&config.directory, &sdk, &calls).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            error!("user sync needs a directory (DIRECT_OAUTH_DIRECTORY ldap or cognito)");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            error!(error = %e, "cannot set up the directory");
            return ExitCode::FAILURE;
        }
    };
    let run = |_: LambdaEvent<Value>| async {
        let options = offboarding::Options::default();
        let report = offboarding::sync(&store, &directory, options)
            .await
            .map_err(|e| {
                error!(error = %e, "user sync stopped; nothing more disabled");
                lambda_runtime::Error::from(e.to_string())
            })?;
        for c in &report.changes {
            info!(
                event = "user_disabled_by_sync",
                username = %c.username,
                directory_id = c.id.as_deref().unwrap_or_default(),
                why = c.why.as_str()
            );
        }
        info!(
            event = "user_sync",
            checked = report.checked,
            disabled = report.changes.len()
        );
        Ok::<_, lambda_runtime::Error>(json!({
            "checked": report.checked,
            "disabled": report.changes.iter().map(|c| &c.username).collect::<Vec<_>>(),
        }))
    };
    lambda::exit_code(lambda_runtime::run(service_fn(run)).await)
}
