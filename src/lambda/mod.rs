//! The Lambda glue: everything that knows it runs on AWS Lambda. Start-up (configuration,
//! logging, the AWS clients), the event guard, the per-request log line with its round-trip
//! counts, and the two handlers. The two functions' binaries in `src/bin/` only call into
//! here (the admin CLI there uses the adapters directly).
//!
//! - [`server`]: serves the [`crate::endpoints::Server`] behind API Gateway, ALB and
//!   function URLs;
//! - [`token_authorizer`]: the API Gateway Lambda authorizer;
//! - [`guard`]: makes events safe for `lambda_http`'s conversion;
//! - [`logging`]: JSON log lines with the invocation's ids, and the filter that keeps
//!   secrets out of them;
//! - [`metrics`]: CloudWatch metrics as embedded metric format on those lines;
//! - [`timing`]: where a request's time went.

use std::process::ExitCode;

use crate::config::Config;

pub mod guard;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod timing;
pub mod token_authorizer;

/// The configuration, read once at cold start, with logging set up from it; on a bad
/// value, the message goes to stderr (there is no logger yet) and the process exits.
pub fn start() -> Result<Config, ExitCode> {
    match Config::from_env() {
        Ok(config) => {
            logging::init_logging(&config.log_level);
            Ok(config)
        }
        Err(e) => {
            eprintln!("direct-oauth: invalid configuration: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The process's exit status once the runtime loop ends (it only ends on a runtime error).
pub fn exit_code(result: Result<(), lambda_runtime::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
