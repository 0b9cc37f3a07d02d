use super::*;
use std::collections::HashMap;

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| env.get(name).cloned())
}

#[test]
fn defaults_match_the_contract() {
    let c = config(&[]).unwrap();
    assert_eq!(c.token_lifetime, Duration::from_secs(315_576_000));
    assert_eq!(c.whitelist_cache, Duration::from_secs(60));
    assert_eq!(c.scopes.len(), 8);
    assert!(c.scopes.contains("super:user"));
    assert_eq!(c.tables.tokens, "direct-oauth-tokens");
}

#[test]
fn overrides_are_read() {
    let c = config(&[
        ("DIRECT_OAUTH_TOKENS_TABLE", "t1"),
        ("DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS", "3600"),
        ("DIRECT_OAUTH_SCOPES", "a:b, c:d"),
    ]);
    assert!(c.is_err(), "t1 is too short for DynamoDB");
    let c = config(&[
        ("DIRECT_OAUTH_TOKENS_TABLE", "tok"),
        ("DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS", "3600"),
        ("DIRECT_OAUTH_SCOPES", "a:b, c:d"),
    ])
    .unwrap();
    assert_eq!(c.tables.tokens, "tok");
    assert_eq!(c.token_lifetime, Duration::from_secs(3600));
    assert_eq!(c.scopes.iter().collect::<Vec<_>>(), ["a:b", "c:d"]);
}

#[test]
fn the_tables_are_the_lists_tables_in_its_order() {
    let c = config(&[("DIRECT_OAUTH_CODES_TABLE", "my-codes")]).unwrap();
    let each = c.tables.each();
    let roles: Vec<&str> = each.iter().map(|(r, _)| r.role).collect();
    let listed: Vec<&str> = resources::tables().map(|r| r.role).collect();
    assert_eq!(roles, listed);
    assert_eq!(each[5].1, "my-codes");
    assert_eq!(each[0].1, "direct-oauth-users");
    let all: Vec<&str> = c.resources().iter().map(|(r, _)| r.role).collect();
    let always = resources::ALL.iter().filter(|r| !r.is_optional());
    assert_eq!(all, always.map(|r| r.role).collect::<Vec<_>>());
    let key = config(&[("DIRECT_OAUTH_WHITELIST_KMS_KEY", "arn:k")]).unwrap();
    assert_eq!(
        key.resources().last(),
        Some(&(&resources::WHITELIST_KMS_KEY, "arn:k"))
    );
}

#[test]
fn lambdas_log_level_wins_over_ours() {
    assert_eq!(config(&[]).unwrap().log_level, "info");
    let ours = ("DIRECT_OAUTH_LOG_LEVEL", "direct_oauth=debug,warn");
    assert_eq!(
        config(&[ours]).unwrap().log_level,
        "direct_oauth=debug,warn"
    );
    let lambda = ("AWS_LAMBDA_LOG_LEVEL", "DEBUG");
    assert_eq!(config(&[ours, lambda]).unwrap().log_level, "debug");
    let fatal = ("AWS_LAMBDA_LOG_LEVEL", "FATAL");
    assert_eq!(config(&[fatal]).unwrap().log_level, "error");
}

#[test]
fn bad_values_name_the_variable() {
    let err = config(&[("DIRECT_OAUTH_WHITELIST_CACHE_SECONDS", "soon")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("DIRECT_OAUTH_WHITELIST_CACHE_SECONDS")
    );
    assert!(config(&[("DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS", "0")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_SCOPES", "bad\"scope")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_USERS_TABLE", "no spaces")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_WHITELIST_PARAMETER", "a b")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_REALM", "a\"b")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_DPOP_WINDOW_SECONDS", "0")]).is_err());
    assert!(config(&[("DIRECT_OAUTH_API_URL", "http://api.example")]).is_err());
}

#[test]
fn dpop_defaults_to_a_minute_either_way_and_no_nonces() {
    let d = config(&[]).unwrap().dpop;
    assert_eq!(d.window, Duration::from_secs(60));
    assert_eq!((d.nonce_lifetime, d.api_url), (None, None));
    let d = config(&[
        ("DIRECT_OAUTH_DPOP_NONCE_SECONDS", "300"),
        ("DIRECT_OAUTH_API_URL", "https://api.example/v1"),
    ])
    .unwrap()
    .dpop;
    assert_eq!(d.nonce_lifetime, Some(Duration::from_secs(300)));
    assert_eq!(d.api_url.as_deref(), Some("https://api.example/v1"));
}
