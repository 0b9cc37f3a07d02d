//! Configuration from environment variables, read and validated once at cold start.
//!
//! Every variable has a default suitable for `make run`; the SAM template sets the table
//! and parameter names explicitly. Those names' variables and defaults are the list in
//! [`crate::resources`]; the tunables' are in [`vars`]. A value that does not parse stops
//! the process with a message naming the variable, rather than running with a silently
//! wrong setting.

use std::collections::BTreeSet;
use std::time::Duration;

use thiserror::Error;

use crate::resources::{self, Resource};

mod directory;

use crate::scope;
pub use directory::{DirectoryChoice, vars as directory_vars};

/// Quay's scope names, the default catalogue.
pub const QUAY_SCOPES: &str =
    "repo:read repo:write repo:admin repo:create user:read user:admin org:admin super:user";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub applications: String,
    pub tokens: String,
    pub failed_logins: String,
    /// Every token of a user, listed in the same write as the token (see `store::dynamodb`).
    pub user_tokens: String,
    /// Authorization codes (hashed), until redeemed or expired.
    pub codes: String,
    /// DPoP proofs used, until their window is over.
    pub dpop_proofs: String,
    /// Browser sessions (hashed ids), until they end.
    pub sessions: String,
    /// Refresh token families (hashed), until their absolute lifetime ends.
    pub refresh_tokens: String,
}

impl Tables {
    /// Each table's name with its entry in [`resources`], in the list's order.
    pub fn each(&self) -> [(&'static Resource, &str); 9] {
        [
            (&resources::USERS, &self.users),
            (&resources::APPLICATIONS, &self.applications),
            (&resources::TOKENS, &self.tokens),
            (&resources::FAILED_LOGINS, &self.failed_logins),
            (&resources::USER_TOKENS, &self.user_tokens),
            (&resources::CODES, &self.codes),
            (&resources::DPOP_PROOFS, &self.dpop_proofs),
            (&resources::SESSIONS, &self.sessions),
            (&resources::REFRESH_TOKENS, &self.refresh_tokens),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// SSM parameter holding the whitelist of client ids allowed to use direct approval.
    pub whitelist_parameter: String,
    /// The KMS key of a SecureString whitelist, for the admin CLI's edits (the function
    /// only reads, and SSM decrypts with whatever key the value names).
    pub whitelist_kms_key: Option<String>,
    /// How long a fetched whitelist is used before SSM is asked again.
    pub whitelist_cache: Duration,
    /// How long past its refresh time the last good whitelist may still be served while SSM
    /// cannot be read. Zero fails closed as soon as the cache expires.
    pub whitelist_stale: Duration,
    pub token_lifetime: Duration,
    /// How long an authorization code may be exchanged.
    pub code_lifetime: Duration,
    /// The authorization server's issuer URL (RFC 8414); `None`: the URL the request came
    /// to, as the front door reports it.
    pub issuer: Option<String>,
    /// Every scope name a token may carry.
    pub scopes: BTreeSet<String>,
    /// Longest back-off window after failed logins.
    pub backoff_cap: Duration,
    /// The `realm` of `WWW-Authenticate`.
    pub realm: String,
    /// `tracing` filter directive, e.g. `info` or `direct_oauth=debug,info`.
    pub log_level: String,
    /// Where passwords are checked: the users table, or a directory.
    pub directory: DirectoryChoice,
    /// A directory's group whose members are superusers (the `super:user` scope).
    pub superuser_group: Option<String>,
    /// How DPoP proofs are judged (RFC 9449).
    pub dpop: DpopSettings,
}

/// How DPoP proofs are judged, by both functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopSettings {
    /// How far a proof's `iat` may be from the server's clock, either way.
    pub window: Duration,
    /// How long a server nonce (`DPoP-Nonce`) is good for; `None`: nonces are not asked
    /// for, and `iat` with the replay guard are the whole protection.
    pub nonce_lifetime: Option<Duration>,
    /// The public base URL of the API the token authorizer guards (scheme, host, base
    /// path): a proof's `htu` is this and the request's path. `None`: the URL the
    /// authorizer event names (API Gateway's domain, and a REST API's stage).
    pub api_url: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name}: {problem} (got {value:?})")]
    Invalid {
        name: &'static str,
        value: String,
        problem: String,
    },
}

/// The log level: Lambda's `AWS_LAMBDA_LOG_LEVEL` (what the function's logging
/// configuration sets) wins over `DIRECT_OAUTH_LOG_LEVEL` (a filter for local runs).
fn log_level(lookup: &impl Fn(&str) -> Option<String>) -> String {
    match lookup("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()) {
        // Lambda knows FATAL; tracing's highest level is error.
        Some(level) if level == "fatal" => "error".into(),
        Some(level) if !level.is_empty() => level,
        _ => lookup(vars::LOG_LEVEL.0).unwrap_or_else(|| vars::LOG_LEVEL.1.into()),
    }
}

/// The tunables and their defaults (the README documents them with the names in
/// [`resources`]).
pub mod vars {
    pub const WHITELIST_CACHE_SECONDS: (&str, &str) =
        ("DIRECT_OAUTH_WHITELIST_CACHE_SECONDS", "60");
    pub const WHITELIST_STALE_SECONDS: (&str, &str) =
        ("DIRECT_OAUTH_WHITELIST_STALE_SECONDS", "300");
    pub const TOKEN_LIFETIME_SECONDS: (&str, &str) =
        ("DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS", "315576000");
    pub const SCOPES: (&str, &str) = ("DIRECT_OAUTH_SCOPES", super::QUAY_SCOPES);
    pub const BACKOFF_CAP_SECONDS: (&str, &str) = ("DIRECT_OAUTH_BACKOFF_CAP_SECONDS", "900");
    pub const REALM: (&str, &str) = ("DIRECT_OAUTH_REALM", "direct-oauth");
    pub const LOG_LEVEL: (&str, &str) = ("DIRECT_OAUTH_LOG_LEVEL", "info");
    pub const CODE_LIFETIME_SECONDS: (&str, &str) = ("DIRECT_OAUTH_CODE_LIFETIME_SECONDS", "60");
    pub const ISSUER: (&str, &str) = ("DIRECT_OAUTH_ISSUER", "");
    pub const DPOP_WINDOW_SECONDS: (&str, &str) = ("DIRECT_OAUTH_DPOP_WINDOW_SECONDS", "60");
    /// 0: no nonces.
    pub const DPOP_NONCE_SECONDS: (&str, &str) = ("DIRECT_OAUTH_DPOP_NONCE_SECONDS", "0");
    pub const API_URL: (&str, &str) = ("DIRECT_OAUTH_API_URL", "");
}

impl Config {
    /// Every named resource with the name this configuration gives it, in the order of
    /// [`resources::ALL`]; the KMS key only when there is one.
    pub fn resources(&self) -> Vec<(&'static Resource, &str)> {
        let mut named = self.tables.each().to_vec();
        named.push((&resources::WHITELIST_PARAMETER, &self.whitelist_parameter));
        if let Some(key) = &self.whitelist_kms_key {
            named.push((&resources::WHITELIST_KMS_KEY, key));
        }
        named
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |(name, default): (&'static str, &str)| -> (&'static str, String) {
            let value = lookup(name).filter(|v| !v.trim().is_empty());
            (name, value.unwrap_or_else(|| default.to_string()))
        };
        let named = |r: &Resource| get((r.variable, r.local_name));
        let tables = Tables {
            users: table_name(named(&resources::USERS))?,
            applications: table_name(named(&resources::APPLICATIONS))?,
            tokens: table_name(named(&resources::TOKENS))?,
            failed_logins: table_name(named(&resources::FAILED_LOGINS))?,
            user_tokens: table_name(named(&resources::USER_TOKENS))?,
            codes: table_name(named(&resources::CODES))?,
            dpop_proofs: table_name(named(&resources::DPOP_PROOFS))?,
            sessions: table_name(named(&resources::SESSIONS))?,
            refresh_tokens: table_name(named(&resources::REFRESH_TOKENS))?,
        };
        Ok(Config {
            tables,
            whitelist_parameter: parameter_name(named(&resources::WHITELIST_PARAMETER))?,
            whitelist_kms_key: Some(named(&resources::WHITELIST_KMS_KEY).1)
                .filter(|k| !k.is_empty()),
            whitelist_cache: seconds(get(vars::WHITELIST_CACHE_SECONDS), 0, 86_400)?,
            whitelist_stale: seconds(get(vars::WHITELIST_STALE_SECONDS), 0, 86_400)?,
            token_lifetime: seconds(get(vars::TOKEN_LIFETIME_SECONDS), 60, 100 * 365 * 86_400)?,
            code_lifetime: seconds(get(vars::CODE_LIFETIME_SECONDS), 10, 600)?,
            issuer: issuer(get(vars::ISSUER))?,
            scopes: scope_catalogue(get(vars::SCOPES))?,
            backoff_cap: seconds(get(vars::BACKOFF_CAP_SECONDS), 1, 86_400)?,
            realm: realm(get(vars::REALM))?,
            log_level: log_level(&lookup),
            directory: directory::choice(&get)?,
            superuser_group: Some(get(directory::vars::SUPERUSER_GROUP).1)
                .filter(|g| !g.is_empty()),
            dpop: DpopSettings {
                window: seconds(get(vars::DPOP_WINDOW_SECONDS), 1, 600)?,
                nonce_lifetime: Some(seconds(get(vars::DPOP_NONCE_SECONDS), 0, 3_600)?)
                    .filter(|d| !d.is_zero()),
                api_url: issuer(get(vars::API_URL))?,
            },
        })
    }
}

/// An `https` URL (or `http` on a loopback address) without query or fragment; empty for
/// none. Kept byte for byte, trailing slash and all: clients compare the issuer they were
/// given with the one the metadata and `iss` name (RFC 8414 §3.3, RFC 9207 §2.4).
fn issuer((name, value): (&'static str, String)) -> Result<Option<String>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    let url = url::Url::parse(&value).map_err(|e| invalid(name, &value, e.to_string()))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            name,
            &value,
            "must be an https URL without query or fragment",
        ));
    }
    Ok(Some(value))
}

fn invalid(name: &'static str, value: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        problem: problem.into(),
    }
}

/// DynamoDB's own rule: 3-255 characters of `[a-zA-Z0-9_.-]`.
fn table_name((name, value): (&'static str, String)) -> Result<String, ConfigError> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if (3..=255).contains(&value.len()) && ok_chars {
        Ok(value)
    } else {
        Err(invalid(
            name,
            &value,
            "a DynamoDB table name is 3-255 characters of a-z A-Z 0-9 _ - .",
        ))
    }
}

fn parameter_name((name, value): (&'static str, String)) -> Result<String, ConfigError> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if !value.is_empty() && value.len() <= 2048 && ok_chars {
        Ok(value)
    } else {
        Err(invalid(
            name,
            &value,
            "an SSM parameter name is up to 2048 characters of a-z A-Z 0-9 _ - . /",
        ))
    }
}

fn seconds(
    (name, value): (&'static str, String),
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(invalid(
            name,
            &value,
            format!("expected whole seconds from {min} to {max}"),
        )),
    }
}

fn scope_catalogue((name, value): (&'static str, String)) -> Result<BTreeSet<String>, ConfigError> {
    let names: BTreeSet<String> = scope::split(&value).map(str::to_string).collect();
    if let Some(bad) = names.iter().find(|s| !scope::is_scope_token(s)) {
        return Err(invalid(
            name,
            &value,
            format!("{bad:?} is not a valid scope name (RFC 6749 §3.3)"),
        ));
    }
    if names.is_empty() {
        return Err(invalid(name, &value, "at least one scope name is needed"));
    }
    Ok(names)
}

fn realm((name, value): (&'static str, String)) -> Result<String, ConfigError> {
    // The realm is placed inside a quoted-string; keep it to printable ASCII without quotes.
    if value
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ')
    {
        Ok(value)
    } else {
        Err(invalid(
            name,
            &value,
            "printable ASCII without quotes or backslashes",
        ))
    }
}

#[cfg(test)]
mod tests;
