//! The command line: clap's definitions only. What each command does is in `commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use direct_oauth::api_token::ApiTokenTerms;

/// Administer direct-oauth: tables, users, applications and the direct-approval whitelist.
///
/// Point it at a deployed stack with --stack NAME (it reads the stack's outputs), or set
/// the same environment variables as the function (DIRECT_OAUTH_*_TABLE,
/// DIRECT_OAUTH_WHITELIST_PARAMETER, ...; `env` prints them). AWS credentials and region
/// come from the usual places (AWS_PROFILE, AWS_REGION, ...). For the local stack:
/// `. .local/env` first.
#[derive(Parser)]
#[command(name = "direct-oauth-admin", version)]
pub(crate) struct Cli {
    /// A deployed stack: its outputs name the tables and the whitelist parameter.
    #[arg(long, global = true, env = "DIRECT_OAUTH_STACK", value_name = "NAME")]
    pub(crate) stack: Option<String>,
    /// How list and show commands print: text for people, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the DynamoDB tables (with TTL) and the whitelist parameter. Safe to re-run:
    /// what exists is left as it is.
    Init,
    /// Print the tables' and the whitelist parameter's names as `export VARIABLE=name`
    /// lines, as this CLI resolves them: from --stack's outputs, else the environment, else
    /// the local stack's names. `eval "$(direct-oauth-admin --stack NAME env)"` points other
    /// tools at a stack. With --output json: every entry of the list, with its variable,
    /// local name, stack output and the name resolved (null if none).
    Env,
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
pub(crate) enum UserCommand {
    /// Add a user; the password is asked for on the terminal (or read with --password-stdin).
    Add {
        /// The username (no colon: Basic authentication splits at the first one).
        name: String,
        /// Read the password from standard input (one line) instead of asking on the
        /// terminal. Passwords never go in arguments.
        #[arg(long)]
        password_stdin: bool,
        /// May be granted the super:user scope.
        #[arg(long)]
        superuser: bool,
    },
    /// Disable a user: no new tokens, and the authorizer refuses the existing ones.
    /// Asks on a terminal first.
    Disable {
        name: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Enable a disabled user again; its unrevoked tokens work again.
    Enable { name: String },
    /// Replace a user's password (asked for on the terminal, or --password-stdin).
    /// A login that verified the old password meanwhile gets no token. What becomes of the
    /// user's tokens is never left unsaid: on a terminal it asks (revoking by default);
    /// a script gives --revoke-tokens or --keep-tokens.
    SetPassword {
        name: String,
        /// Read the new password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        /// Also revoke every token of the user, in the same write, including any a login
        /// in flight writes.
        #[arg(long, conflicts_with = "keep_tokens")]
        revoke_tokens: bool,
        /// Leave the user's tokens valid.
        #[arg(long)]
        keep_tokens: bool,
    },
    /// Offboarding: look every enabled local record of a directory user up in the
    /// directory (by the person's immutable id) and disable the ones whose person is gone
    /// or locked there (and records made under another spelling of a name before names
    /// were kept in normal form); their tokens are refused at once. Uses the function's
    /// directory settings (DIRECT_OAUTH_DIRECTORY and its variables). Safe to run again,
    /// or twice at once.
    Sync {
        /// List what would be disabled, and disable nothing.
        #[arg(long)]
        dry_run: bool,
        /// Disable however many are found (a run that would disable more than a fifth of
        /// the records it checks, and more than five, stops without it).
        #[arg(long)]
        force: bool,
    },
    /// Count the users whose bcrypt hash (from Quay) was not yet replaced at a login;
    /// when none remain, stop holding failed logins to bcrypt's time.
    BcryptRemaining,
    /// Import users from Quay: `username,bcrypt_hash[,superuser]` lines on standard input.
    /// The bcrypt hashes verify as they are and become argon2id at each user's next login.
    /// Existing users are left alone.
    ImportQuay {
        /// The highest bcrypt cost accepted, at most 14. Each step doubles a login's CPU
        /// (cost 12 is about 0.2 s of a core, 14 about 0.9 s), and every failed login is
        /// answered no sooner than the slowest imported hash takes: past 14 a login would
        /// near the 5 s lease on one name and the floor's 2 s cap.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=14))]
        max_bcrypt_cost: u32,
    },
}

#[derive(Subcommand)]
pub(crate) enum AppCommand {
    /// Register an application and its redirect URIs.
    Add(AppArgs),
    /// Change an application: what is given replaces what was there.
    Update(AppUpdateArgs),
    /// Give a confidential application a new client secret (shown once); the old one stops
    /// working at once.
    RotateSecret { client_id: String },
    /// Remove an application: its tokens and codes are refused from then on, and adding it
    /// again does not bring them back.
    Remove {
        client_id: String,
        /// Remove without asking (for scripts: without a terminal it is required).
        #[arg(long)]
        yes: bool,
    },
    /// List the applications.
    List,
}

#[derive(Args)]
pub(crate) struct AppUpdateArgs {
    pub(crate) client_id: String,
    /// The new redirect URIs (repeatable); replaces all registered ones.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub(crate) redirect_uris: Vec<String>,
    /// The new scope ceiling.
    #[arg(long, value_name = "SCOPES", conflicts_with = "no_scope_ceiling")]
    pub(crate) scope_ceiling: Option<String>,
    /// Remove the scope ceiling (the whole catalogue may be granted).
    #[arg(long)]
    pub(crate) no_scope_ceiling: bool,
    /// The new name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Let it introspect tokens issued to other applications (a resource server).
    #[arg(long, conflicts_with = "no_introspect_any")]
    pub(crate) introspect_any: bool,
    /// Let it introspect only its own tokens again.
    #[arg(long)]
    pub(crate) no_introspect_any: bool,
    /// A user it may be granted tokens for (repeatable); --allow-user and --allow-group
    /// together replace who it was open to.
    #[arg(long = "allow-user", value_name = "NAME")]
    pub(crate) allow_users: Vec<String>,
    /// A group whose members it may be granted tokens for (repeatable): a directory's
    /// group (LDAP, Cognito).
    #[arg(long = "allow-group", value_name = "GROUP")]
    pub(crate) allow_groups: Vec<String>,
    /// Open it to anyone again.
    #[arg(long, conflicts_with_all = ["allow_users", "allow_groups"])]
    pub(crate) allow_anyone: bool,
    /// Issue its tokens only to requests with a DPoP proof (RFC 9449): each is bound to
    /// the client's key.
    #[arg(long, conflicts_with = "no_require_dpop")]
    pub(crate) require_dpop: bool,
    /// Issue Bearer tokens again to requests without a proof.
    #[arg(long)]
    pub(crate) no_require_dpop: bool,
    /// Let the sign-in pages answer it with the implicit response (`response_type=token`,
    /// the token in the redirect's fragment), which RFC 9700 advises against.
    #[arg(long, conflicts_with = "no_implicit")]
    pub(crate) implicit: bool,
    /// Answer it with codes only again.
    #[arg(long)]
    pub(crate) no_implicit: bool,
    /// Let tools sign in to it with the device authorization grant (RFC 8628).
    #[arg(long, conflicts_with = "no_device_grant")]
    pub(crate) device_grant: bool,
    /// Refuse the device grant again (device codes already approved are refused too).
    #[arg(long)]
    pub(crate) no_device_grant: bool,
    /// The life of an API token whose creator names none, in days (at most
    /// --api-token-max-days).
    #[arg(long, value_name = "DAYS")]
    pub(crate) api_token_days: Option<u32>,
    /// The longest life an API token's creator may choose, in days.
    #[arg(long, value_name = "DAYS")]
    pub(crate) api_token_max_days: Option<u32>,
    /// Let an API token's creator choose one that never expires.
    #[arg(long, conflicts_with = "api_token_expiry_required")]
    pub(crate) api_token_no_expiry: bool,
    /// Every API token must expire again (those that never expire stay valid until
    /// revoked).
    #[arg(long)]
    pub(crate) api_token_expiry_required: bool,
    /// How many live API tokens one person may hold for it at once.
    #[arg(long, value_name = "N")]
    pub(crate) api_token_cap: Option<u32>,
    /// How long its access tokens live, in seconds (`expires_in`).
    #[arg(long, value_name = "SECONDS", conflicts_with = "default_token_lifetime",
          value_parser = clap::value_parser!(u64).range(60..=MAX_LIFETIME_SECONDS))]
    pub(crate) token_lifetime_seconds: Option<u64>,
    /// Its access tokens live as long as the function's setting says again.
    #[arg(long)]
    pub(crate) default_token_lifetime: bool,
    #[command(flatten)]
    pub(crate) refresh: RefreshArgs,
    /// Give it no more refresh tokens (the families it holds are refused at their next
    /// use).
    #[arg(long, conflicts_with_all = ["refresh_tokens", "refresh_idle_days",
          "refresh_absolute_days", "refresh_grace_seconds"])]
    pub(crate) no_refresh_tokens: bool,
}

/// Refresh tokens for the code and device grants (`app add|update`): rotated at each
/// use; a retired one presented again revokes its whole family.
#[derive(Args)]
pub(crate) struct RefreshArgs {
    /// Give it refresh tokens (its access tokens then live an hour unless
    /// --token-lifetime-seconds says otherwise).
    #[arg(long)]
    pub(crate) refresh_tokens: bool,
    /// A family unused this many days ends (default 30).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub(crate) refresh_idle_days: Option<u64>,
    /// A family ends this many days after its sign-in, however used (default 90).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub(crate) refresh_absolute_days: Option<u64>,
    /// Seconds a retired refresh token may still be presented once more, for a client's
    /// retry, before it counts as reuse (0-60, default 0).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=60))]
    pub(crate) refresh_grace_seconds: Option<u64>,
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// List a user's tokens: public ids, client, scopes, dates. Never secrets.
    List {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
    /// Revoke one token by its public id, all of a user's tokens with --user, or all of
    /// an application's tokens and codes with --client.
    Revoke {
        /// The token's public id (its first 22 characters; it may start with "-").
        #[arg(
            required_unless_present_any = ["user", "client"],
            conflicts_with_all = ["user", "client"],
            allow_hyphen_values = true
        )]
        id: Option<String>,
        #[arg(long, value_name = "NAME", conflicts_with = "client")]
        user: Option<String>,
        #[arg(long, value_name = "CLIENT_ID")]
        client: Option<String>,
        /// With --user or --client: do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Read a token on standard input; print its owner, scopes and expiry, or why it is
    /// not valid (exit status 1).
    Verify,
    /// Create an API token for a user and an application, as the Tokens page does, for
    /// scripts: the token alone on standard output (`TOKEN=$(… token create …)`), what was
    /// created on standard error. The application's terms (`app list` shows them) bound
    /// its life and how many live ones the user may hold.
    Create(TokenCreateArgs),
}

#[derive(Args)]
pub(crate) struct TokenCreateArgs {
    /// The user it is for, as stored (names are kept in their normal form). The CLI knows
    /// no directory groups: an application open only to groups refuses; name the user in
    /// its allow-list instead.
    #[arg(long, value_name = "NAME")]
    pub(crate) user: String,
    /// The application it is for.
    #[arg(long, value_name = "CLIENT_ID")]
    pub(crate) client: String,
    /// What the token is for, as `token list` and the Tokens page show it (1 to 64
    /// characters).
    #[arg(long, value_name = "TOKEN_NAME")]
    pub(crate) name: String,
    /// Its scopes, space-separated, e.g. "repo:read repo:write": within the application's
    /// ceiling, and super:user only for a superuser. Never guessed, so required.
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: String,
    /// Its life in days, at most the application's longest. Without it (and without
    /// --no-expiry), the application's default life.
    #[arg(long, value_name = "DAYS", conflicts_with = "no_expiry")]
    pub(crate) expires_in_days: Option<u32>,
    /// A token that never expires (until revoked): only for an application whose terms
    /// allow it.
    #[arg(long)]
    pub(crate) no_expiry: bool,
}

#[derive(Args)]
pub(crate) struct AppArgs {
    /// The OAuth client id.
    pub(crate) client_id: String,
    /// A redirect URI (repeatable): absolute, no fragment, https or loopback http.
    #[arg(long = "redirect-uri", required = true, value_name = "URI")]
    pub(crate) redirect_uris: Vec<String>,
    /// The most this application may ever be granted, e.g. "repo:read repo:write".
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope_ceiling: Option<String>,
    /// A human-readable name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A confidential application: it gets a client secret (shown once) for the token and
    /// introspection endpoints. Without it the application is public and proves itself
    /// at the token endpoint by PKCE alone.
    #[arg(long)]
    pub(crate) confidential: bool,
    /// A resource server: introspection also answers for tokens issued to other
    /// applications (needs --confidential; otherwise only its own tokens are answered).
    #[arg(long, requires = "confidential")]
    pub(crate) introspect_any: bool,
    /// A user it may be granted tokens for (repeatable). With no --allow-user and no
    /// --allow-group, anyone.
    #[arg(long = "allow-user", value_name = "NAME")]
    pub(crate) allow_users: Vec<String>,
    /// A group whose members it may be granted tokens for (repeatable): a directory's
    /// group (LDAP, Cognito).
    #[arg(long = "allow-group", value_name = "GROUP")]
    pub(crate) allow_groups: Vec<String>,
    /// Issue its tokens only to requests with a DPoP proof (RFC 9449): each is bound to
    /// the client's key, and a request without a proof is refused (invalid_dpop_proof).
    #[arg(long)]
    pub(crate) require_dpop: bool,
    /// Let the sign-in pages answer it with the implicit response (`response_type=token`,
    /// the token in the redirect's fragment), which RFC 9700 advises against: only for an
    /// application that cannot exchange a code.
    #[arg(long)]
    pub(crate) implicit: bool,
    /// Let tools sign in to it with the device authorization grant (RFC 8628): the tool
    /// shows a code, the person approves it on another screen.
    #[arg(long)]
    pub(crate) device_grant: bool,
    /// The life of an API token whose creator names none, in days (at most
    /// --api-token-max-days: lowering that below it needs this too).
    #[arg(long, value_name = "DAYS", default_value_t = ApiTokenTerms::default().default_days)]
    pub(crate) api_token_days: u32,
    /// The longest life an API token's creator may choose, in days.
    #[arg(long, value_name = "DAYS", default_value_t = ApiTokenTerms::default().max_days)]
    pub(crate) api_token_max_days: u32,
    /// Let an API token's creator choose one that never expires.
    #[arg(long)]
    pub(crate) api_token_no_expiry: bool,
    /// How many live API tokens one person may hold for it at once.
    #[arg(long, value_name = "N", default_value_t = ApiTokenTerms::default().cap)]
    pub(crate) api_token_cap: u32,
    /// How long its access tokens live, in seconds (`expires_in`); without it, the
    /// function's DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS (ten years by default, as Quay's).
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(60..=MAX_LIFETIME_SECONDS))]
    pub(crate) token_lifetime_seconds: Option<u64>,
    #[command(flatten)]
    pub(crate) refresh: RefreshArgs,
}

/// The longest access-token lifetime an application may set: the function's own bound.
const MAX_LIFETIME_SECONDS: u64 = 100 * 365 * 86_400;

#[derive(Subcommand)]
pub(crate) enum WhitelistCommand {
    /// Allow a client id to use direct approval.
    Add { client_id: String },
    /// Stop allowing a client id (takes effect within the function's cache time).
    Remove { client_id: String },
    /// Print the whitelisted client ids, one per line.
    List,
}
