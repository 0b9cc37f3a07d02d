//! Operator CLI: creates the tables and the whitelist parameter, and manages users,
//! applications and the whitelist, through the same environment as the function.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use direct_oauth::aws;
use direct_oauth::config::Config;
use direct_oauth::password::PasswordHasherArgon;
use direct_oauth::redirect;
use direct_oauth::scope;
use direct_oauth::ssm::SsmWhitelist;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::{Application, StoreError, User};

/// Administer direct-oauth: tables, users, applications and the direct-approval whitelist.
///
/// Reads the same environment variables as the function (DIRECT_OAUTH_*_TABLE,
/// DIRECT_OAUTH_WHITELIST_PARAMETER, ...) and the usual AWS ones (AWS_REGION,
/// AWS_ENDPOINT_URL, credentials). For the local stack: `. .local/env` first.
#[derive(Parser)]
#[command(name = "direct-oauth-admin", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the DynamoDB tables (with TTL) and the whitelist parameter. Safe to re-run:
    /// what exists is left as it is.
    Init,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth applications.
    #[command(subcommand)]
    App(AppCommand),
    /// Manage the whitelist of client ids allowed to use direct approval.
    #[command(subcommand)]
    Whitelist(WhitelistCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (one line).
    Add {
        /// The username (no colon: Basic authentication splits at the first one).
        name: String,
        /// Read the password from standard input. Required: passwords never go in arguments.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// May be granted the super:user scope.
        #[arg(long)]
        superuser: bool,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application and its redirect URIs.
    Add(AppArgs),
}

#[derive(Args)]
struct AppArgs {
    /// The OAuth client id.
    client_id: String,
    /// A redirect URI (repeatable): absolute, no fragment, https or loopback http.
    #[arg(long = "redirect-uri", required = true, value_name = "URI")]
    redirect_uris: Vec<String>,
    /// The most this application may ever be granted, e.g. "repo:read repo:write".
    #[arg(long, value_name = "SCOPES")]
    scope_ceiling: Option<String>,
    /// A human-readable name.
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand)]
enum WhitelistCommand {
    /// Allow a client id to use direct approval.
    Add { client_id: String },
    /// Stop allowing a client id (takes effect within the function's cache time).
    Remove { client_id: String },
    /// Print the whitelisted client ids, one per line.
    List,
}

struct Ctx {
    config: Config,
    store: DynamoStore,
    whitelist: SsmWhitelist,
}

type CliResult = Result<(), String>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sdk = aws::sdk_config().await;
    let ctx = Ctx {
        store: DynamoStore::new(aws::dynamodb(&sdk), config.tables.clone()),
        whitelist: SsmWhitelist::new(aws::ssm(&sdk), config.whitelist_parameter.clone()),
        config,
    };
    let result = match cli.command {
        Command::Init => init(&ctx).await,
        Command::User(UserCommand::Add {
            name, superuser, ..
        }) => user_add(&ctx, &name, superuser).await,
        Command::App(AppCommand::Add(args)) => app_add(&ctx, args).await,
        Command::Whitelist(cmd) => whitelist(&ctx, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn store_err(e: StoreError) -> String {
    e.to_string()
}

async fn init(ctx: &Ctx) -> CliResult {
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

fn read_password() -> Result<String, String> {
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

fn check_username(name: &str) -> CliResult {
    if name.is_empty()
        || name.len() > 255
        || name.contains(':')
        || name.chars().any(char::is_control)
    {
        return Err("a username is 1-255 characters without colons or control characters".into());
    }
    Ok(())
}

async fn user_add(ctx: &Ctx, name: &str, superuser: bool) -> CliResult {
    check_username(name)?;
    let password = read_password()?;
    let hasher = PasswordHasherArgon::new().map_err(|e| e.to_string())?;
    let user = User {
        username: name.to_string(),
        password_hash: hasher.hash(&password).map_err(|e| e.to_string())?,
        enabled: true,
        superuser,
    };
    match ctx.store.put_user(&user, false).await {
        Ok(()) => {
            println!(
                "user {name}: added{}",
                if superuser { " (superuser)" } else { "" }
            );
            Ok(())
        }
        Err(StoreError::Conflict) => Err(format!("user {name} already exists")),
        Err(e) => Err(store_err(e)),
    }
}

fn check_client_id(client_id: &str) -> CliResult {
    let ok = !client_id.is_empty()
        && client_id.len() <= 255
        && client_id.chars().all(|c| c.is_ascii_graphic() && c != ',');
    if ok {
        Ok(())
    } else {
        Err("a client id is 1-255 printable ASCII characters without spaces or commas".into())
    }
}

fn scope_ceiling(ctx: &Ctx, raw: Option<&str>) -> Result<Option<BTreeSet<String>>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let scopes: BTreeSet<String> = scope::split(raw).map(str::to_string).collect();
    if scopes.is_empty() {
        return Err("--scope-ceiling needs at least one scope".into());
    }
    if let Some(unknown) = scopes.iter().find(|s| !ctx.config.scopes.contains(*s)) {
        return Err(format!("unknown scope {unknown:?} in --scope-ceiling"));
    }
    Ok(Some(scopes))
}

async fn app_add(ctx: &Ctx, args: AppArgs) -> CliResult {
    check_client_id(&args.client_id)?;
    for uri in &args.redirect_uris {
        redirect::validate_registration(uri)
            .map_err(|why| format!("redirect URI {uri:?}: {why}"))?;
    }
    let app = Application {
        name: args.name.unwrap_or_else(|| args.client_id.clone()),
        client_id: args.client_id,
        redirect_uris: args.redirect_uris,
        scope_ceiling: scope_ceiling(ctx, args.scope_ceiling.as_deref())?,
    };
    match ctx.store.put_application(&app, false).await {
        Ok(()) => {
            println!(
                "application {}: added with {} redirect URI(s)",
                app.client_id,
                app.redirect_uris.len()
            );
            Ok(())
        }
        Err(StoreError::Conflict) => Err(format!("application {} already exists", app.client_id)),
        Err(e) => Err(store_err(e)),
    }
}

async fn whitelist(ctx: &Ctx, cmd: WhitelistCommand) -> CliResult {
    let w = &ctx.whitelist;
    match cmd {
        WhitelistCommand::Add { client_id } => {
            check_client_id(&client_id)?;
            let changed = w.edit(&client_id, true).await.map_err(|e| e.to_string())?;
            println!(
                "{client_id}: {}",
                if changed {
                    "whitelisted"
                } else {
                    "already whitelisted"
                }
            );
        }
        WhitelistCommand::Remove { client_id } => {
            let changed = w.edit(&client_id, false).await.map_err(|e| e.to_string())?;
            println!(
                "{client_id}: {}",
                if changed {
                    "removed"
                } else {
                    "was not whitelisted"
                }
            );
        }
        WhitelistCommand::List => {
            for id in w.list().await.map_err(|e| e.to_string())? {
                println!("{id}");
            }
        }
    }
    Ok(())
}
