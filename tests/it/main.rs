//! Every Rust integration test, in one binary (one link of the AWS SDK instead of one per
//! file). `make test` runs them with moto up; outside it, the moto tests skip (and fail
//! under `CI=true`).
//!
//! - `flow`: the contract, row by row, through the whole flow with in-memory adapters;
//! - `store_contract`: one suite of store expectations, run on `MemoryStore` always and on
//!   the DynamoDB store against moto (`dynamodb`);
//! - `dynamodb`, `ssm`: what only the real adapters do (tables, TTL, parameter types);
//! - `events`: every file in `events/` through the real event conversion, into the flow
//!   and the authorizer;
//! - `event_fuzz`: arbitrary strings in every client-influenced field of every kind of
//!   event, through the same conversion: no panic, no 5xx;
//! - `authorizer`: the authorizer handler with the memory store;
//! - `fuzz`: property tests of the parsers and the flow;
//! - `directory_contract`: one suite of directory expectations, run on the memory fake
//!   always, on LDAP against a real `slapd` (`ldap`) and on Cognito against moto (`cognito`);
//! - `dpop_keys`: a DPoP client's key and proofs, for the flow and authorizer tests;
//! - `architecture`: the layering rules of `src/lib.rs`, and file sizes.

mod architecture;
mod authorizer;
mod cognito;
mod directory_contract;
mod dpop_keys;
mod dynamodb;
mod event_fuzz;
mod events;
mod faults;
mod flow;
mod fuzz;
mod ldap;
mod ldap_standing;
mod moto;
mod offboarding;
mod ssm;
mod store_contract;
