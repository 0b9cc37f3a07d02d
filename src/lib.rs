//! Direct OAuth approval (Quay's `POST /oauth/authorizeapp`) as an AWS Lambda function.
//!
//! The pure core (no I/O) parses, decides and builds responses; adapters behind small
//! traits reach DynamoDB, SSM, the clock and the operating system's randomness.

// Pure core.
pub mod authorizer; // Lambda authorizer: bearer token -> allow/deny
pub mod basic_auth; // RFC 7617 `Authorization: Basic` parsing
pub mod error; // the contract's failures and their statuses, in one place
pub mod form; // strict application/x-www-form-urlencoded parsing
pub mod password; // argon2id hashing, argon2id/bcrypt verification
pub mod redirect; // registered redirect URI matching and validation
pub mod request; // HTTP request -> AuthorizeRequest (checks 1-3, 7)
pub mod response; // outcome -> HTTP response (302 / JSON error)
pub mod scope; // scope parsing and grant decisions (check 11)
pub mod throttle; // failed-login back-off windows (check 8)
pub mod token; // token generation, splitting and hashing

// Adapters and wiring.
pub mod aws; // one shared AWS SDK configuration
pub mod clock; // wall clock behind a trait
pub mod config; // environment -> validated Config, once per cold start
pub mod lambda; // lambda_http glue: event guard, logging, run loop
pub mod random; // OS CSPRNG behind a trait
pub mod service; // the request flow: core decisions fed by adapters
pub mod ssm; // SSM Parameter Store whitelist source
pub mod store; // users, applications, tokens, failed logins
pub mod whitelist; // cached whitelist of direct-approval client ids
