//! Direct OAuth approval (Quay's `POST /oauth/authorizeapp`) as an AWS Lambda function.
//!
//! This is the project's one module map. Three layers, and the arrows point inwards only:
//! the glue uses the adapters and the core; the adapters implement the core's ports; the
//! core uses neither (a test, `tests/it/architecture.rs`, fails if a core file names the
//! AWS SDK, `aws_config`, `crate::aws` or the Lambda runtime crates).

// ---- Core: parse, decide, build the answer. No I/O, no AWS or Lambda types. ----
pub mod api_token; // API tokens a person creates: their terms, checks and last use
pub mod authorizer; // the Lambda authorizer's events: the token presented -> API Gateway's answer
pub mod basic_auth; // RFC 7617 `Authorization: Basic` parsing
pub mod client_auth; // client_secret_basic, client_secret_post, public clients
pub mod config; // environment -> validated Config, once per cold start
pub mod device; // RFC 8628 device authorization: user codes, polling terms
pub mod dpop; // RFC 9449 proofs: checked against the request, thumbprints of their keys
pub mod endpoints; // one module per endpoint: parsing, the contract's checks in order, a driver
pub mod error; // the contract's failures and their statuses, in one place
pub mod form; // strict application/x-www-form-urlencoded parsing
pub mod identifier; // username and client-id rules, shared with the admin CLI
pub mod offboarding; // `user sync`: local records follow the directory (gone or locked: disabled)
pub mod pages; // what the sign-in and consent pages say (askama templates, templates/)
pub mod password; // argon2id hashing, argon2id/bcrypt verification (CPU only)
pub mod pkce; // RFC 7636 S256 challenges and verifiers
pub mod redirect; // registered redirect URI matching and validation
pub mod refresh; // refresh tokens: their form, families' rotation and reuse detection
pub mod request; // checks 1-2 of every form endpoint: a POST with a well-formed body
pub mod resources; // the one list of tables and parameters: variables, local names, outputs
pub mod response; // outcome -> HTTP response (302 / JSON error)
pub mod scope; // scope parsing and grant decisions (check 11)
pub mod secret; // authorization codes and client secrets: random, stored as SHA-256
pub mod session; // browser sessions of the pages: cookie, timeouts, CSRF token
pub mod throttle; // failed-login back-off windows (check 8)
pub mod token; // token generation, splitting and hashing
pub mod token_check; // whether a token is good now: one rule for the authorizer, introspection, CLI

// ---- Ports, each with its adapters in its own folder or file. ----
pub mod clock; // Clock; SystemClock (and ManualClock, with the `test-support` feature)
pub mod directory; // Directory: users from LDAP or a Cognito user pool (and memory, `test-support`)
pub mod random; // Random; OsRandom, the OS CSPRNG (and CountingRandom, `test-support`)
pub mod store; // the records of the six tables; store::dynamodb (and memory, `test-support`)
pub mod whitelist; // the port and parsing; whitelist::{cache (policy), ssm} (and memory)

// ---- Adapter support and glue: the only code that knows it runs on AWS. ----
pub mod aws; // one shared AWS SDK configuration; round-trip counters
pub mod lambda; // start-up, logging, event guard, the two Lambda handlers
