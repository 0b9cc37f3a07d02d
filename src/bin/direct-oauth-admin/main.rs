//! Operator CLI: creates the tables and the whitelist parameter, and manages users,
//! applications, the whitelist and tokens, through the same environment as the function.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Parser;
use direct_oauth::aws;
use direct_oauth::config::Config;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::whitelist::ssm::SsmWhitelist;

mod cli;
mod commands;
mod stack;

use cli::{Cli, Command};
use commands::Ctx;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sdk = aws::sdk_config().await;
    // A stack's outputs name the resources; without one, the environment does.
    let from_stack = match &cli.stack {
        Some(name) => match stack::variables(&sdk, name).await {
            Ok(vars) => vars,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => HashMap::new(),
    };
    let lookup = |name: &str| {
        from_stack
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    };
    let config = match Config::from_lookup(lookup) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let calls = aws::AwsCalls::default();
    let ctx = Ctx {
        store: DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone()),
        whitelist: SsmWhitelist::new(aws::ssm(&sdk, &calls), config.whitelist_parameter.clone())
            .with_kms_key(config.whitelist_kms_key.clone()),
        config,
        output: cli.output,
    };
    let result = match cli.command {
        Command::Init => commands::init(&ctx).await,
        Command::Env => commands::env::run(&ctx),
        Command::User(cmd) => commands::user::run(&ctx, cmd).await,
        Command::App(cmd) => commands::app::run(&ctx, cmd).await,
        Command::Whitelist(cmd) => commands::whitelist::run(&ctx, cmd).await,
        Command::Token(cmd) => commands::token::run(&ctx, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
