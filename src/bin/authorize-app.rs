//! The Lambda function behind every `/oauth/` route (authorizeapp, access_token and token,
//! introspect, revoke) and `/.well-known/oauth-authorization-server`.

use std::process::ExitCode;

use direct_oauth::lambda::{self, server};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match lambda::start() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let app = match server::App::from_config(&config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    // `app` lives until the runtime loop ends, so every request borrows it.
    lambda::exit_code(server::serve(&app).await)
}
