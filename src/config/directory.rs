//! Which directory checks the passwords (`DIRECT_OAUTH_DIRECTORY`), and its settings,
//! validated at cold start like every other variable.

use std::time::Duration;

use super::{ConfigError, invalid};
use crate::directory::cognito::CognitoSettings;
use crate::directory::ldap::LdapSettings;

/// The directory's variables and their defaults; an empty default is a required value
/// (for the directory that reads it).
pub mod vars {
    pub const DIRECTORY: (&str, &str) = ("DIRECT_OAUTH_DIRECTORY", "users");
    pub const SUPERUSER_GROUP: (&str, &str) = ("DIRECT_OAUTH_SUPERUSER_GROUP", "");
    pub const LDAP_URL: (&str, &str) = ("DIRECT_OAUTH_LDAP_URL", "");
    pub const LDAP_STARTTLS: (&str, &str) = ("DIRECT_OAUTH_LDAP_STARTTLS", "false");
    pub const LDAP_CA_PEM: (&str, &str) = ("DIRECT_OAUTH_LDAP_CA_PEM", "");
    pub const LDAP_BIND_DN: (&str, &str) = ("DIRECT_OAUTH_LDAP_BIND_DN", "");
    pub const LDAP_BIND_PASSWORD_PARAMETER: (&str, &str) =
        ("DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER", "");
    pub const LDAP_USER_BASE: (&str, &str) = ("DIRECT_OAUTH_LDAP_USER_BASE", "");
    pub const LDAP_USER_FILTER: (&str, &str) = ("DIRECT_OAUTH_LDAP_USER_FILTER", "(objectClass=*)");
    pub const LDAP_UID_ATTR: (&str, &str) = ("DIRECT_OAUTH_LDAP_UID_ATTR", "uid");
    pub const LDAP_ID_ATTR: (&str, &str) = ("DIRECT_OAUTH_LDAP_ID_ATTR", "entryUUID");
    pub const LDAP_ALLOW_PLAINTEXT: (&str, &str) = ("DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT", "false");
    pub const LDAP_GROUP_BASE: (&str, &str) = ("DIRECT_OAUTH_LDAP_GROUP_BASE", "");
    pub const LDAP_GROUP_FILTER: (&str, &str) = (
        "DIRECT_OAUTH_LDAP_GROUP_FILTER",
        "(&(objectClass=groupOfNames)(member={dn}))",
    );
    pub const LDAP_GROUP_NAME_ATTR: (&str, &str) = ("DIRECT_OAUTH_LDAP_GROUP_NAME_ATTR", "cn");
    pub const LDAP_TIMEOUT_MS: (&str, &str) = ("DIRECT_OAUTH_LDAP_TIMEOUT_MS", "3000");
    pub const COGNITO_USER_POOL_ID: (&str, &str) = ("DIRECT_OAUTH_COGNITO_USER_POOL_ID", "");
    pub const COGNITO_CLIENT_ID: (&str, &str) = ("DIRECT_OAUTH_COGNITO_CLIENT_ID", "");
}

/// Where passwords are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryChoice {
    /// The users table's own hashes (the default).
    Users,
    Ldap {
        settings: Box<LdapSettings>,
        /// The SSM SecureString holding the service account's password.
        bind_password_parameter: String,
    },
    Cognito(CognitoSettings),
}

type Var = (&'static str, String);

/// The choice and its settings, from `get` (a variable's value, or its default).
pub(super) fn choice(
    get: &impl Fn((&'static str, &str)) -> Var,
) -> Result<DirectoryChoice, ConfigError> {
    let required = |var| {
        let (name, value): Var = get(var);
        if value.is_empty() {
            Err(invalid(
                name,
                &value,
                "required by this DIRECT_OAUTH_DIRECTORY",
            ))
        } else {
            Ok(value)
        }
    };
    let (name, which) = get(vars::DIRECTORY);
    match which.as_str() {
        "users" => Ok(DirectoryChoice::Users),
        "cognito" => Ok(DirectoryChoice::Cognito(CognitoSettings {
            user_pool_id: required(vars::COGNITO_USER_POOL_ID)?,
            client_id: required(vars::COGNITO_CLIENT_ID)?,
        })),
        "ldap" => {
            let (url_name, url) = get(vars::LDAP_URL);
            let ldaps = url.starts_with("ldaps://");
            if !ldaps && !url.starts_with("ldap://") {
                return Err(invalid(url_name, &url, "an ldap:// or ldaps:// URL"));
            }
            let starttls = flag(get(vars::LDAP_STARTTLS))?;
            if starttls && ldaps {
                return Err(invalid(
                    vars::LDAP_STARTTLS.0,
                    "true",
                    "StartTLS is for ldap:// URLs",
                ));
            }
            // Passwords in clear only when the operator says so (a directory on the same
            // host, a tunnel): the function warns at every cold start.
            if !ldaps && !starttls && !flag(get(vars::LDAP_ALLOW_PLAINTEXT))? {
                return Err(invalid(
                    url_name,
                    &url,
                    "ldaps://, or ldap:// with DIRECT_OAUTH_LDAP_STARTTLS=true: passwords \
                     would cross the network in clear (DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT=true \
                     allows it)",
                ));
            }
            let group_filter = required(vars::LDAP_GROUP_FILTER)?;
            Ok(DirectoryChoice::Ldap {
                settings: Box::new(LdapSettings {
                    url,
                    starttls,
                    ca_pem: Some(get(vars::LDAP_CA_PEM).1).filter(|p| !p.is_empty()),
                    bind_dn: required(vars::LDAP_BIND_DN)?,
                    user_base: required(vars::LDAP_USER_BASE)?,
                    user_filter: filter(get(vars::LDAP_USER_FILTER))?,
                    uid_attr: required(vars::LDAP_UID_ATTR)?,
                    id_attr: required(vars::LDAP_ID_ATTR)?,
                    group_base: required(vars::LDAP_GROUP_BASE)?,
                    group_filter: filter((vars::LDAP_GROUP_FILTER.0, group_filter))?,
                    group_name_attr: required(vars::LDAP_GROUP_NAME_ATTR)?,
                    timeout: millis(get(vars::LDAP_TIMEOUT_MS), 100, 10_000)?,
                }),
                bind_password_parameter: required(vars::LDAP_BIND_PASSWORD_PARAMETER)?,
            })
        }
        _ => Err(invalid(name, &which, "users, ldap or cognito")),
    }
}

fn flag((name, value): Var) -> Result<bool, ConfigError> {
    match value.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, &value, "true or false")),
    }
}

/// A filter is parenthesised: it is ANDed with others as it stands.
fn filter((name, value): Var) -> Result<String, ConfigError> {
    if value.starts_with('(') && value.ends_with(')') {
        Ok(value)
    } else {
        Err(invalid(name, &value, "an LDAP filter in parentheses"))
    }
}

fn millis((name, value): Var, min: u64, max: u64) -> Result<Duration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_millis(n)),
        _ => Err(invalid(
            name,
            &value,
            format!("whole milliseconds from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    const LDAP: [(&str, &str); 6] = [
        ("DIRECT_OAUTH_DIRECTORY", "ldap"),
        ("DIRECT_OAUTH_LDAP_URL", "ldaps://127.0.0.1:3636"),
        ("DIRECT_OAUTH_LDAP_BIND_DN", "cn=svc,dc=example,dc=org"),
        (
            "DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER",
            "/direct-oauth/ldap-bind",
        ),
        ("DIRECT_OAUTH_LDAP_USER_BASE", "ou=people,dc=example,dc=org"),
        (
            "DIRECT_OAUTH_LDAP_GROUP_BASE",
            "ou=groups,dc=example,dc=org",
        ),
    ];

    #[test]
    fn the_users_table_is_the_default_and_each_directory_names_what_it_lacks() {
        assert_eq!(config(&[]).unwrap().directory, DirectoryChoice::Users);
        let DirectoryChoice::Ldap { settings, .. } = config(&LDAP).unwrap().directory else {
            panic!("ldap chosen");
        };
        assert_eq!(
            (settings.uid_attr.as_str(), settings.starttls),
            ("uid", false)
        );
        let missing = config(&LDAP[..5]).unwrap_err().to_string();
        assert!(
            missing.contains("DIRECT_OAUTH_LDAP_GROUP_BASE"),
            "{missing}"
        );
        let cognito = config(&[("DIRECT_OAUTH_DIRECTORY", "cognito")]).unwrap_err();
        assert!(
            cognito
                .to_string()
                .contains("DIRECT_OAUTH_COGNITO_USER_POOL_ID")
        );
        assert!(config(&[("DIRECT_OAUTH_DIRECTORY", "keystone")]).is_err());
    }

    #[test]
    fn bad_ldap_settings_are_refused_up_front() {
        let with = |k: &'static str, v: &'static str| {
            let mut pairs = LDAP.to_vec();
            pairs.push((k, v));
            config(&pairs)
        };
        assert!(with("DIRECT_OAUTH_LDAP_URL", "http://x").is_err());
        // ldap:// in clear only when asked for; with StartTLS it is encrypted.
        let plain = with("DIRECT_OAUTH_LDAP_URL", "ldap://127.0.0.1:3389").unwrap_err();
        assert!(plain.to_string().contains("in clear"), "{plain}");
        let mut allowed = LDAP.to_vec();
        allowed[1].1 = "ldap://127.0.0.1:3389";
        allowed.push(("DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT", "true"));
        assert!(config(&allowed).is_ok());
        allowed.pop();
        allowed.push(("DIRECT_OAUTH_LDAP_STARTTLS", "true"));
        assert!(config(&allowed).is_ok());
        assert!(with("DIRECT_OAUTH_LDAP_STARTTLS", "yes").is_err());
        assert!(with("DIRECT_OAUTH_LDAP_USER_FILTER", "objectClass=person").is_err());
        assert!(with("DIRECT_OAUTH_LDAP_TIMEOUT_MS", "60000").is_err());
        let mut ldaps = LDAP.to_vec();
        ldaps.push(("DIRECT_OAUTH_LDAP_STARTTLS", "true"));
        assert!(config(&ldaps).is_err(), "StartTLS over ldaps://");
    }
}
