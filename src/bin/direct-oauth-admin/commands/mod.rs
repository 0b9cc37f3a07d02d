//! What each command does. Every command returns `Ok` or the message to print; `main`
//! turns that into the exit status.

use std::io::Read;

use direct_oauth::clock::{Clock, SystemClock};
use direct_oauth::config::Config;
use direct_oauth::identifier;
use direct_oauth::password::PasswordHasherArgon;
use direct_oauth::store::StoreError;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::whitelist::ssm::SsmWhitelist;

pub(crate) mod app;
pub(crate) mod token;
pub(crate) mod user;
pub(crate) mod whitelist;

pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) store: DynamoStore,
    pub(crate) whitelist: SsmWhitelist,
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
    let t = ctx.store.tables();
    for table in [&t.users, &t.applications, &t.tokens, &t.failed_logins] {
        let state = if created.contains(table) {
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

pub(crate) fn read_password() -> Result<String, String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = raw.strip_suffix('\n').unwrap_or(&raw);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err("the password on standard input is empty".into());
    }
    if password.chars().any(char::is_control) {
        return Err("the password must be one line without control characters (RFC 7617)".into());
    }
    Ok(password.to_string())
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
