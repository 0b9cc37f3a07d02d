//! What each command does. Every command returns `Ok` or the message to print; `main`
//! turns that into the exit status.

use std::io::{IsTerminal, Read};

use direct_oauth::clock::{Clock, SystemClock};
use direct_oauth::config::Config;
use direct_oauth::identifier;
use direct_oauth::password::PasswordHasherArgon;
use direct_oauth::store::StoreError;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::whitelist::ssm::SsmWhitelist;

use crate::cli::Output;

pub(crate) mod app;
pub(crate) mod env;
pub(crate) mod prompt;
pub(crate) mod token;
pub(crate) mod user;
pub(crate) mod whitelist;

pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) store: DynamoStore,
    pub(crate) whitelist: SsmWhitelist,
    pub(crate) output: Output,
}

impl Ctx {
    /// Prints a list or a record: `text()` for people, or the JSON value for scripts.
    pub(crate) fn show(&self, json: serde_json::Value, text: impl FnOnce()) {
        match self.output {
            Output::Json => println!("{json:#}"),
            Output::Text => text(),
        }
    }
}

pub(crate) type CliResult = Result<(), String>;

/// Prints the outcome of a command that succeeded.
pub(crate) fn done(message: String) -> CliResult {
    println!("{message}");
    Ok(())
}

pub(crate) fn store_err(e: StoreError) -> String {
    e.to_string()
}

pub(crate) async fn init(ctx: &Ctx) -> CliResult {
    let created = ctx.store.create_tables().await.map_err(store_err)?;
    for (_, table) in ctx.store.tables().each() {
        let state = if created.iter().any(|c| c == table) {
            "created"
        } else {
            "exists"
        };
        println!("table {table}: {state}");
    }
    let made = ctx
        .whitelist
        .ensure_exists()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "parameter {}: {}",
        ctx.whitelist.name(),
        if made { "created (empty)" } else { "exists" }
    );
    Ok(())
}

/// The password for `user add` and `user set-password`: one line of standard input with
/// `--password-stdin`; else asked twice on the terminal, without echo. Never an argument,
/// where it would reach the shell's history and the process list.
pub(crate) fn read_password(from_stdin: bool) -> Result<String, String> {
    let password = if from_stdin {
        let mut raw = String::new();
        std::io::stdin()
            .read_to_string(&mut raw)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let line = raw.strip_suffix('\n').unwrap_or(&raw);
        line.strip_suffix('\r').unwrap_or(line).to_string()
    } else if std::io::stdin().is_terminal() {
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the password: {e}"))
        };
        let first = ask("Password: ")?;
        if ask("Password again: ")? != first {
            return Err("the two passwords differ".into());
        }
        first
    } else {
        return Err(
            "standard input is not a terminal: give --password-stdin to read the password from it"
                .into(),
        );
    };
    check_password(&password)?;
    Ok(password)
}

fn check_password(password: &str) -> CliResult {
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    if password.chars().any(char::is_control) {
        return Err("the password must be one line without control characters (RFC 7617)".into());
    }
    Ok(())
}

pub(crate) fn hasher() -> Result<PasswordHasherArgon, String> {
    PasswordHasherArgon::new().map_err(|e| e.to_string())
}

pub(crate) fn now_secs() -> u64 {
    SystemClock.now_ms() / 1000
}

/// The client-id rule, as the admin CLI reports it.
pub(crate) fn check_client_id(client_id: &str) -> CliResult {
    if identifier::is_client_id(client_id) {
        Ok(())
    } else {
        Err(identifier::CLIENT_ID_RULE.into())
    }
}
