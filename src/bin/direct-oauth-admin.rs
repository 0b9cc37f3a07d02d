//! Operator CLI: creates the tables and the whitelist parameter, and manages users,
//! applications and the whitelist, through the same environment as the function.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use direct_oauth::authorizer;
use direct_oauth::aws;
use direct_oauth::clock::{Clock, SystemClock};
use direct_oauth::config::Config;
use direct_oauth::password::{self, PasswordHasherArgon, Passwords};
use direct_oauth::redirect;
use direct_oauth::scope;
use direct_oauth::ssm::SsmWhitelist;
use direct_oauth::store::dynamodb::DynamoStore;
use direct_oauth::store::{Application, StoreError, User};
use direct_oauth::store::{TokenReader, TokenRecord};
use direct_oauth::token::AccessToken;

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
    /// List, revoke and check issued tokens.
    #[command(subcommand)]
    Token(TokenCommand),
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
    /// Disable a user: no new tokens, and the authorizer refuses the existing ones.
    Disable { name: String },
    /// Enable a disabled user again; its unrevoked tokens work again.
    Enable { name: String },
    /// Replace a user's password; the new one is read from standard input (one line).
    SetPassword {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Import users from Quay: `username,bcrypt_hash[,superuser]` lines on standard input.
    /// The bcrypt hashes verify as they are and become argon2id at each user's next login.
    /// Existing users are left alone.
    ImportQuay,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application and its redirect URIs.
    Add(AppArgs),
    /// Change an application: what is given replaces what was there.
    Update(AppUpdateArgs),
    /// Remove an application (its tokens stay valid until revoked or expired).
    Remove { client_id: String },
    /// List the applications.
    List,
}

#[derive(Args)]
struct AppUpdateArgs {
    client_id: String,
    /// The new redirect URIs (repeatable); replaces all registered ones.
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// The new scope ceiling.
    #[arg(long, value_name = "SCOPES", conflicts_with = "no_scope_ceiling")]
    scope_ceiling: Option<String>,
    /// Remove the scope ceiling (the whole catalogue may be granted).
    #[arg(long)]
    no_scope_ceiling: bool,
    /// The new name.
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// List a user's tokens: public ids, client, scopes, dates. Never secrets.
    List {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
    /// Revoke one token by its public id, or all of a user's tokens with --user.
    Revoke {
        /// The token's public id (its first 22 characters; it may start with "-").
        #[arg(
            required_unless_present = "user",
            conflicts_with = "user",
            allow_hyphen_values = true
        )]
        id: Option<String>,
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Read a token on standard input; print its owner, scopes and expiry, or why it is
    /// not valid (exit status 1).
    Verify,
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
    let calls = aws::AwsCalls::default();
    let ctx = Ctx {
        store: DynamoStore::new(aws::dynamodb(&sdk, &calls), config.tables.clone()),
        whitelist: SsmWhitelist::new(aws::ssm(&sdk, &calls), config.whitelist_parameter.clone()),
        config,
    };
    let result = match cli.command {
        Command::Init => init(&ctx).await,
        Command::User(cmd) => user(&ctx, cmd).await,
        Command::App(cmd) => app(&ctx, cmd).await,
        Command::Whitelist(cmd) => whitelist(&ctx, cmd).await,
        Command::Token(cmd) => token(&ctx, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the outcome of a command that succeeded.
fn done(message: String) -> CliResult {
    println!("{message}");
    Ok(())
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

async fn user(ctx: &Ctx, cmd: UserCommand) -> CliResult {
    match cmd {
        UserCommand::Add {
            name, superuser, ..
        } => user_add(ctx, &name, superuser).await,
        UserCommand::Disable { name } => user_enable(ctx, &name, false).await,
        UserCommand::Enable { name } => user_enable(ctx, &name, true).await,
        UserCommand::SetPassword { name, .. } => {
            let password = read_password()?;
            let hash = hasher()?.hash(&password).map_err(|e| e.to_string())?;
            match ctx
                .store
                .set_password_hash(&name, &hash)
                .await
                .map_err(store_err)?
            {
                true => done(format!("user {name}: password replaced")),
                false => Err(format!("no user {name}")),
            }
        }
        UserCommand::ImportQuay => import_quay(ctx).await,
    }
}

fn hasher() -> Result<PasswordHasherArgon, String> {
    PasswordHasherArgon::new().map_err(|e| e.to_string())
}

async fn user_enable(ctx: &Ctx, name: &str, enabled: bool) -> CliResult {
    match ctx
        .store
        .set_user_enabled(name, enabled)
        .await
        .map_err(store_err)?
    {
        true => done(format!(
            "user {name}: {}",
            if enabled { "enabled" } else { "disabled" }
        )),
        false => Err(format!("no user {name}")),
    }
}

/// One `username,bcrypt_hash[,superuser]` line of a Quay export.
fn quay_line(line: &str) -> Result<User, String> {
    let mut fields = line.split(',').map(str::trim);
    let (Some(name), Some(hash)) = (fields.next(), fields.next()) else {
        return Err("expected username,bcrypt_hash[,superuser]".into());
    };
    let superuser = match fields.next() {
        None | Some("") | Some("false") | Some("0") | Some("no") => false,
        Some("true") | Some("1") | Some("yes") | Some("superuser") => true,
        Some(_) => return Err("the third field is true or false".into()),
    };
    if fields.next().is_some() {
        return Err("too many fields".into());
    }
    check_username(name)?;
    if !hash.starts_with("$2") || !password::is_supported_hash(hash) {
        return Err("the second field is not a bcrypt hash".into());
    }
    Ok(User {
        username: name.to_string(),
        password_hash: hash.to_string(),
        enabled: true,
        superuser,
    })
}

async fn import_quay(ctx: &Ctx) -> CliResult {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let (mut imported, mut skipped, mut bad) = (0, 0, 0);
    for (number, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let user = match quay_line(line) {
            Ok(u) => u,
            Err(why) => {
                // The line may hold a hash: name the line, not its content.
                eprintln!("line {}: {why}", number + 1);
                bad += 1;
                continue;
            }
        };
        match ctx.store.put_user(&user, false).await {
            Ok(()) => imported += 1,
            Err(StoreError::Conflict) => {
                println!("user {}: exists, left alone", user.username);
                skipped += 1;
            }
            Err(e) => return Err(store_err(e)),
        }
    }
    println!("imported {imported}, existing {skipped}, refused {bad}");
    if bad > 0 {
        return Err(format!("{bad} line(s) refused"));
    }
    Ok(())
}

async fn user_add(ctx: &Ctx, name: &str, superuser: bool) -> CliResult {
    check_username(name)?;
    let password = read_password()?;
    let user = User {
        username: name.to_string(),
        password_hash: hasher()?.hash(&password).map_err(|e| e.to_string())?,
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

fn check_redirect_uris(uris: &[String]) -> CliResult {
    for uri in uris {
        redirect::validate_registration(uri)
            .map_err(|why| format!("redirect URI {uri:?}: {why}"))?;
    }
    Ok(())
}

async fn app(ctx: &Ctx, cmd: AppCommand) -> CliResult {
    match cmd {
        AppCommand::Add(args) => app_add(ctx, args).await,
        AppCommand::Update(args) => app_update(ctx, args).await,
        AppCommand::Remove { client_id } => match ctx
            .store
            .delete_application(&client_id)
            .await
            .map_err(store_err)?
        {
            true => done(format!("application {client_id}: removed")),
            false => Err(format!("no application {client_id}")),
        },
        AppCommand::List => {
            for app in ctx.store.list_applications().await.map_err(store_err)? {
                let ceiling = app
                    .scope_ceiling
                    .map(|c| c.into_iter().collect::<Vec<_>>().join(" "))
                    .unwrap_or_else(|| "(any)".into());
                println!(
                    "{}\t{}\t{}\t{}",
                    app.client_id,
                    app.name,
                    app.redirect_uris.join(" "),
                    ceiling
                );
            }
            Ok(())
        }
    }
}

async fn app_update(ctx: &Ctx, args: AppUpdateArgs) -> CliResult {
    let Some(mut app) = ctx
        .store
        .get_application(&args.client_id)
        .await
        .map_err(store_err)?
    else {
        return Err(format!("no application {}", args.client_id));
    };
    if !args.redirect_uris.is_empty() {
        check_redirect_uris(&args.redirect_uris)?;
        app.redirect_uris = args.redirect_uris;
    }
    if args.no_scope_ceiling {
        app.scope_ceiling = None;
    } else if let Some(raw) = args.scope_ceiling.as_deref() {
        app.scope_ceiling = scope_ceiling(ctx, Some(raw))?;
    }
    if let Some(name) = args.name {
        app.name = name;
    }
    ctx.store
        .put_application(&app, true)
        .await
        .map_err(store_err)?;
    println!("application {}: updated", app.client_id);
    Ok(())
}

async fn app_add(ctx: &Ctx, args: AppArgs) -> CliResult {
    check_client_id(&args.client_id)?;
    check_redirect_uris(&args.redirect_uris)?;
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

fn now_secs() -> u64 {
    SystemClock.now_ms() / 1000
}

/// `2026-11-28T10:00:00Z` for epoch seconds (proleptic Gregorian, UTC).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date, shifting the year to start in March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn status(t: &TokenRecord, now: u64) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.user_disabled {
        "user-disabled"
    } else if t.expires_at <= now {
        "expired"
    } else {
        "valid"
    }
}

async fn token(ctx: &Ctx, cmd: TokenCommand) -> CliResult {
    match cmd {
        TokenCommand::List { user } => {
            let now = now_secs();
            println!("TOKEN_ID\tCLIENT_ID\tSCOPES\tISSUED\tEXPIRES\tSTATUS");
            for t in ctx
                .store
                .list_tokens_for_user(&user)
                .await
                .map_err(store_err)?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.token_id,
                    t.client_id,
                    t.scopes.join(" "),
                    utc(t.issued_at),
                    utc(t.expires_at),
                    status(&t, now)
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id: Some(id), .. } => {
            match ctx
                .store
                .revoke_token_by_id(&id, now_secs())
                .await
                .map_err(store_err)?
            {
                true => done(format!("token {id}: revoked")),
                false => Err(format!("no unrevoked token {id}")),
            }
        }
        TokenCommand::Revoke {
            user: Some(user), ..
        } => {
            let mut revoked = 0;
            for t in ctx
                .store
                .list_tokens_for_user(&user)
                .await
                .map_err(store_err)?
            {
                if t.revoked_at.is_none()
                    && ctx
                        .store
                        .revoke_token_by_id(&t.token_id, now_secs())
                        .await
                        .map_err(store_err)?
                {
                    revoked += 1;
                }
            }
            println!("user {user}: {revoked} token(s) revoked");
            Ok(())
        }
        TokenCommand::Revoke { .. } => Err("give a token id or --user NAME".into()),
        TokenCommand::Verify => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            let Some(presented) = AccessToken::parse(input.trim()) else {
                return Err("not valid: not a direct-oauth token".into());
            };
            let record = ctx
                .store
                .get_token(presented.id())
                .await
                .map_err(store_err)?;
            match authorizer::decide(&presented, record.as_ref(), now_secs()) {
                Ok(g) => {
                    let expires = record.map(|r| utc(r.expires_at)).unwrap_or_default();
                    println!(
                        "valid: user {} client {} scopes \"{}\" expires {}",
                        g.username,
                        g.client_id,
                        g.scopes.join(" "),
                        expires
                    );
                    Ok(())
                }
                Err(d) => Err(format!("not valid: {}", d.reason())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_867_200), "2026-11-28T12:00:00Z");
        assert_eq!(utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn quay_lines() {
        let hash = "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
        assert_eq!(hash.len(), 60);
        let u = quay_line(&format!("alice,{hash}")).unwrap();
        assert!(!u.superuser && u.enabled);
        assert!(quay_line(&format!("root,{hash},true")).unwrap().superuser);
        assert!(quay_line("alice").is_err());
        assert!(quay_line("alice,plaintext").is_err());
        assert!(quay_line(&format!("al:ice,{hash}")).is_err());
        assert!(quay_line(&format!("alice,{hash},maybe")).is_err());
        assert!(quay_line(&format!("alice,{hash},true,extra")).is_err());
    }
}
