//! The Lambda authorizer: API Gateway asks it whether a bearer token may call a route.
//! One DynamoDB read per check (the token with its user and application), no password hashing.
// The check's future nests the SDK's (the token read, then its owner and client joined with the
// proof's write) deeper than rustc's default layout query depth of 128.
#![recursion_limit = "256"]

use std::process::ExitCode;

use direct_oauth::lambda::{self, token_authorizer::TokenAuthorizer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match lambda::start() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let authorizer = TokenAuthorizer::from_config(&config).await;
    lambda::exit_code(authorizer.serve().await)
}
