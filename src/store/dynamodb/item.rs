//! Items <-> models: the one place that knows how users, applications, tokens and
//! failed-login counters look as DynamoDB items. docs/data.md documents the
//! same layout.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::api_token::ApiTokenTerms;
use crate::refresh::RefreshTerms;
use crate::store::{
    Access, Application, DirectoryLink, FailedLogins, StoreError, TokenRecord, User,
};

pub(super) type Item = HashMap<String, AttributeValue>;

/// Attribute names, shared by the adapter, the admin CLI and docs/data.md.
pub mod attr {
    pub const USERNAME: &str = "username";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const ENABLED: &str = "enabled";
    pub const SUPERUSER: &str = "superuser";
    pub const DIRECTORY: &str = "directory";
    pub const DIRECTORY_ID: &str = "directory_id";
    pub const CLIENT_ID: &str = "client_id";
    pub const NAME: &str = "name";
    pub const REDIRECT_URIS: &str = "redirect_uris";
    pub const SCOPE_CEILING: &str = "scope_ceiling";
    pub const TOKEN_ID: &str = "token_id";
    pub const SECRET_SHA256: &str = "secret_sha256";
    pub const SCOPES: &str = "scopes";
    pub const ISSUED_AT: &str = "issued_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const REVOKED_AT: &str = "revoked_at";
    pub const TOKENS_FROM: &str = "tokens_from";
    pub const TOKEN_EPOCH: &str = "token_epoch";
    pub const CLIENT_EPOCH: &str = "client_epoch";
    pub const FAILURES: &str = "failures";
    pub const LAST_FAILURE_MS: &str = "last_failure_ms";
    pub const NEXT_ATTEMPT_MS: &str = "next_attempt_ms";
    pub const LEASE_UNTIL_MS: &str = "lease_until_ms";
    pub const GENERATION: &str = "generation";
    pub const MAX_COST: &str = "max_cost";
    pub const CODE_SHA256: &str = "code_sha256";
    pub const REPLAY_KEY: &str = "replay_key";
    /// A session's: the hash of its cookie's id.
    pub const SESSION_KEY: &str = "session_key";
    pub const CSRF: &str = "csrf";
    pub const GROUPS: &str = "groups";
    pub const CREATED_AT: &str = "created_at";
    pub const SEEN_AT: &str = "seen_at";
    pub const REDIRECT_URI: &str = "redirect_uri";
    pub const REDIRECT_URI_GIVEN: &str = "redirect_uri_given";
    pub const USER_GENERATION: &str = "user_generation";
    pub const CODE_CHALLENGE: &str = "code_challenge";
    pub const USED_AT: &str = "used_at";
    pub const INTROSPECT_ANY: &str = "introspect_any";
    pub const ALLOWED_USERS: &str = "allowed_users";
    pub const ALLOWED_GROUPS: &str = "allowed_groups";
    /// A DPoP-bound token's key thumbprint; an application's rule that its tokens be bound.
    pub const DPOP_JKT: &str = "dpop_jkt";
    pub const REQUIRE_DPOP: &str = "require_dpop";
    /// An application's: raised by every edit, which is conditional on the one it read.
    pub const VERSION: &str = "edit_version";
    pub const IMPLICIT: &str = "implicit";
    pub const DEVICE_GRANT: &str = "device_grant";
    /// An application's [`crate::api_token::ApiTokenTerms`]; absent = the defaults.
    pub const API_TOKEN_DAYS: &str = "api_token_days";
    pub const API_TOKEN_MAX_DAYS: &str = "api_token_max_days";
    pub const API_TOKEN_NO_EXPIRY: &str = "api_token_no_expiry";
    pub const API_TOKEN_CAP: &str = "api_token_cap";
    /// An application's access-token lifetime; absent = the function's.
    pub const TOKEN_LIFETIME_SECONDS: &str = "token_lifetime_seconds";
    /// An application's [`crate::refresh::RefreshTerms`]; absent = no refresh tokens.
    pub const REFRESH_IDLE_SECONDS: &str = "refresh_idle_seconds";
    pub const REFRESH_ABSOLUTE_SECONDS: &str = "refresh_absolute_seconds";
    pub const REFRESH_GRACE_SECONDS: &str = "refresh_grace_seconds";
    /// A refresh token family's key, and its parts ([`crate::store::RefreshFamily`]).
    pub const FAMILY_ID: &str = "family_id";
    pub const CURRENT_SHA256: &str = "current_sha256";
    pub const PREVIOUS_SHA256: &str = "previous_sha256";
    pub const IDLE_UNTIL: &str = "idle_until";
    pub const GRACE_UNTIL: &str = "grace_until";
    pub const ACCESS_TOKENS: &str = "access_tokens";
    /// A device authorization's parts ([`crate::store::DeviceAuthorization`]), and a user
    /// code's item's pointer to it.
    pub const USER_CODE: &str = "user_code";
    pub const REQUESTED_FROM: &str = "requested_from";
    pub const USER_AGENT: &str = "user_agent";
    pub const INTERVAL_SECS: &str = "interval_secs";
    pub const NEXT_POLL_MS: &str = "next_poll_ms";
    pub const DECISION: &str = "decision";
    /// A user code's item: SHA-256 of the device code its request is keyed by.
    pub const DEVICE_SHA256: &str = "device_sha256";
    /// An API token's last use at the authorizer.
    pub const LAST_USED_AT: &str = "last_used_at";
    /// A grant item's (user-tokens table): its live API tokens, id -> expiry (0: never).
    pub const API_TOKENS: &str = "api_tokens";
    /// A grant item's: raised by every change to its API tokens, which is conditional on it.
    pub const AUTHORIZED_VERSION: &str = "authorized_version";
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Typed reads of item attributes, so item parsing reads like the model.
pub(super) trait ItemExt {
    fn s(&self, name: &str) -> Result<String, StoreError>;
    fn num(&self, name: &str) -> Result<u64, StoreError>;
    fn flag(&self, name: &str) -> Result<bool, StoreError>;
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, StoreError>;
    fn sha256(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError>;
}

fn missing(name: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute {name} is missing or of the wrong type"))
}

impl ItemExt for Item {
    fn s(&self, name: &str) -> Result<String, StoreError> {
        self.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| missing(name))
    }

    fn num(&self, name: &str) -> Result<u64, StoreError> {
        self.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing(name))
    }

    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        self.get(name)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or_else(|| missing(name))
    }

    /// A 32-byte binary (a SHA-256); `None` when absent.
    fn sha256(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError> {
        self.get(name)
            .map(|v| {
                v.as_b()
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
                    .ok_or_else(|| missing(name))
            })
            .transpose()
    }

    /// A list of strings (`L` of `S`) or a string set (`SS`); `None` when absent.
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::Ss(v)) => Ok(Some(v.clone())),
            Some(AttributeValue::L(v)) => v
                .iter()
                .map(|e| e.as_s().cloned().map_err(|_| missing(name)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(missing(name)),
        }
    }
}

pub(super) fn user_from(i: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: i.s(attr::USERNAME)?,
        password_hash: i.s(attr::PASSWORD_HASH)?,
        enabled: i.flag(attr::ENABLED)?,
        superuser: i.flag(attr::SUPERUSER).unwrap_or(false),
        generation: i.num(attr::GENERATION).unwrap_or(0),
        tokens_from: i.num(attr::TOKENS_FROM).unwrap_or(0),
        link: match (i.s(attr::DIRECTORY), i.s(attr::DIRECTORY_ID)) {
            (Ok(directory), Ok(id)) => Some(DirectoryLink { directory, id }),
            _ => None,
        },
    })
}

pub(super) fn application_from(i: &Item) -> Result<Application, StoreError> {
    Ok(Application {
        client_id: i.s(attr::CLIENT_ID)?,
        name: i.s(attr::NAME).unwrap_or_default(),
        redirect_uris: i.strings(attr::REDIRECT_URIS)?.unwrap_or_default(),
        scope_ceiling: i
            .strings(attr::SCOPE_CEILING)?
            .map(|v| v.into_iter().collect::<BTreeSet<_>>()),
        secret_hash: i.sha256(attr::SECRET_SHA256)?,
        introspect_any: i.flag(attr::INTROSPECT_ANY).unwrap_or(false),
        token_epoch: i.num(attr::TOKEN_EPOCH).unwrap_or(0),
        access: Access {
            users: set(i.strings(attr::ALLOWED_USERS)?),
            groups: set(i.strings(attr::ALLOWED_GROUPS)?),
        },
        require_dpop: i.flag(attr::REQUIRE_DPOP).unwrap_or(false),
        implicit: i.flag(attr::IMPLICIT).unwrap_or(false),
        device_grant: i.flag(attr::DEVICE_GRANT).unwrap_or(false),
        api_tokens: api_token_terms_from(i)?,
        token_lifetime: optional_num(i, attr::TOKEN_LIFETIME_SECONDS)?
            .map(std::time::Duration::from_secs),
        refresh: refresh_terms_from(i)?,
    })
}

/// Present when all three lifetimes are: the application gets refresh tokens.
fn refresh_terms_from(i: &Item) -> Result<Option<RefreshTerms>, StoreError> {
    let secs = |name| optional_num(i, name).map(|v| v.map(std::time::Duration::from_secs));
    let idle = secs(attr::REFRESH_IDLE_SECONDS)?;
    let absolute = secs(attr::REFRESH_ABSOLUTE_SECONDS)?;
    let grace = secs(attr::REFRESH_GRACE_SECONDS)?;
    Ok(match (idle, absolute, grace) {
        (Some(idle), Some(absolute), Some(grace)) => Some(RefreshTerms {
            idle,
            absolute,
            grace,
        }),
        _ => None,
    })
}

fn api_token_terms_from(i: &Item) -> Result<ApiTokenTerms, StoreError> {
    let default = ApiTokenTerms::default();
    let days = |name: &str, or: u32| -> Result<u32, StoreError> {
        match i.get(name) {
            None => Ok(or),
            Some(_) => u32::try_from(i.num(name)?).map_err(|_| missing(name)),
        }
    };
    Ok(ApiTokenTerms {
        default_days: days(attr::API_TOKEN_DAYS, default.default_days)?,
        max_days: days(attr::API_TOKEN_MAX_DAYS, default.max_days)?,
        no_expiry: i.flag(attr::API_TOKEN_NO_EXPIRY).unwrap_or(false),
        cap: days(attr::API_TOKEN_CAP, default.cap)?,
    })
}

pub(super) fn failed_logins_from(i: &Item) -> Result<FailedLogins, StoreError> {
    Ok(FailedLogins {
        failures: i.num(attr::FAILURES)?.min(u32::MAX as u64) as u32,
        last_failure_ms: i.num(attr::LAST_FAILURE_MS)?,
    })
}

pub(super) fn token_item(t: &TokenRecord) -> Item {
    let mut item = HashMap::from([
        (
            attr::TOKEN_ID.to_string(),
            AttributeValue::S(t.token_id.clone()),
        ),
        (
            attr::SECRET_SHA256.to_string(),
            AttributeValue::B(Blob::new(t.secret_hash.to_vec())),
        ),
        (
            attr::USERNAME.to_string(),
            AttributeValue::S(t.username.clone()),
        ),
        (
            attr::CLIENT_ID.to_string(),
            AttributeValue::S(t.client_id.clone()),
        ),
        (
            attr::SCOPES.to_string(),
            AttributeValue::L(t.scopes.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (attr::ISSUED_AT.to_string(), n(t.issued_at)),
        (attr::USER_GENERATION.to_string(), n(t.user_generation)),
        (attr::CLIENT_EPOCH.to_string(), n(t.client_epoch)),
    ]);
    // No expiry, no TTL: DynamoDB keeps an item without the attribute.
    if let Some(at) = t.expires_at {
        item.insert(attr::EXPIRES_AT.to_string(), n(at));
    }
    if let Some(name) = &t.name {
        item.insert(attr::NAME.to_string(), AttributeValue::S(name.clone()));
    }
    if let Some(at) = t.last_used_at {
        item.insert(attr::LAST_USED_AT.to_string(), n(at));
    }
    if let Some(at) = t.revoked_at {
        item.insert(attr::REVOKED_AT.to_string(), n(at));
    }
    if let Some(jkt) = &t.jkt {
        item.insert(attr::DPOP_JKT.to_string(), AttributeValue::S(jkt.clone()));
    }
    item
}

/// The token's entry in the user-tokens table: how operators find every token of a user
/// with one strongly consistent query. Expires with the token.
pub(super) fn user_token_item(t: &TokenRecord) -> Item {
    let mut item = HashMap::from([
        (
            attr::USERNAME.to_string(),
            AttributeValue::S(t.username.clone()),
        ),
        (
            attr::TOKEN_ID.to_string(),
            AttributeValue::S(t.token_id.clone()),
        ),
    ]);
    if let Some(at) = t.expires_at {
        item.insert(attr::EXPIRES_AT.to_string(), n(at));
    }
    item
}

pub(super) fn token_from(i: &Item) -> Result<TokenRecord, StoreError> {
    let hash = i
        .sha256(attr::SECRET_SHA256)?
        .ok_or_else(|| missing(attr::SECRET_SHA256))?;
    Ok(TokenRecord {
        token_id: i.s(attr::TOKEN_ID)?,
        secret_hash: hash,
        username: i.s(attr::USERNAME)?,
        client_id: i.s(attr::CLIENT_ID)?,
        scopes: i.strings(attr::SCOPES)?.unwrap_or_default(),
        issued_at: i.num(attr::ISSUED_AT)?,
        expires_at: optional_num(i, attr::EXPIRES_AT)?,
        revoked_at: i
            .get(attr::REVOKED_AT)
            .map(|_| i.num(attr::REVOKED_AT))
            .transpose()?,
        // Tokens written before the attribute existed were written under generation 0 or
        // later; 0 is the conservative reading (older than any raise).
        user_generation: i
            .get(attr::USER_GENERATION)
            .map(|_| i.num(attr::USER_GENERATION))
            .transpose()?
            .unwrap_or(0),
        // Tokens and applications from before epochs both read as 0.
        client_epoch: i.num(attr::CLIENT_EPOCH).unwrap_or(0),
        jkt: i.s(attr::DPOP_JKT).ok(),
        name: i.s(attr::NAME).ok(),
        last_used_at: optional_num(i, attr::LAST_USED_AT)?,
    })
}

/// A number that may be absent; present, it must be one.
fn optional_num(i: &Item, name: &str) -> Result<Option<u64>, StoreError> {
    i.get(name).map(|_| i.num(name)).transpose()
}

pub(super) fn user_item(user: &User) -> Item {
    let mut item = HashMap::from([
        (
            attr::USERNAME.to_string(),
            AttributeValue::S(user.username.clone()),
        ),
        (
            attr::PASSWORD_HASH.to_string(),
            AttributeValue::S(user.password_hash.clone()),
        ),
        (attr::GENERATION.to_string(), n(user.generation)),
        (attr::TOKENS_FROM.to_string(), n(user.tokens_from)),
        (
            attr::ENABLED.to_string(),
            AttributeValue::Bool(user.enabled),
        ),
        (
            attr::SUPERUSER.to_string(),
            AttributeValue::Bool(user.superuser),
        ),
    ]);
    if let Some(link) = &user.link {
        item.extend(link_attributes(link));
    }
    item
}

/// A local record's directory and the person's id there.
pub(super) fn link_attributes(link: &DirectoryLink) -> [(String, AttributeValue); 2] {
    [
        (
            attr::DIRECTORY.to_string(),
            AttributeValue::S(link.directory.clone()),
        ),
        (
            attr::DIRECTORY_ID.to_string(),
            AttributeValue::S(link.id.clone()),
        ),
    ]
}

/// An application's refresh and API token terms: the refresh terms when it gets refresh
/// tokens, the API token terms only when they are not the defaults.
fn terms_attributes(app: &Application) -> Item {
    let mut attrs = Item::new();
    if let Some(terms) = &app.refresh {
        attrs.extend([
            (
                attr::REFRESH_IDLE_SECONDS.to_string(),
                n(terms.idle.as_secs()),
            ),
            (
                attr::REFRESH_ABSOLUTE_SECONDS.to_string(),
                n(terms.absolute.as_secs()),
            ),
            (
                attr::REFRESH_GRACE_SECONDS.to_string(),
                n(terms.grace.as_secs()),
            ),
        ]);
    }
    // The terms are written only when they are not the defaults.
    let terms = &app.api_tokens;
    if *terms != ApiTokenTerms::default() {
        attrs.extend([
            (attr::API_TOKEN_DAYS.to_string(), n(terms.default_days)),
            (attr::API_TOKEN_MAX_DAYS.to_string(), n(terms.max_days)),
            (attr::API_TOKEN_CAP.to_string(), n(terms.cap)),
            (
                attr::API_TOKEN_NO_EXPIRY.to_string(),
                AttributeValue::Bool(terms.no_expiry),
            ),
        ]);
    }
    attrs
}

pub(super) fn application_item(app: &Application) -> Item {
    let mut item = HashMap::from([
        (
            attr::CLIENT_ID.to_string(),
            AttributeValue::S(app.client_id.clone()),
        ),
        (attr::NAME.to_string(), AttributeValue::S(app.name.clone())),
        (attr::TOKEN_EPOCH.to_string(), n(app.token_epoch)),
        (
            attr::REDIRECT_URIS.to_string(),
            AttributeValue::L(
                app.redirect_uris
                    .iter()
                    .cloned()
                    .map(AttributeValue::S)
                    .collect(),
            ),
        ),
    ]);
    if let Some(ceiling) = &app.scope_ceiling {
        item.insert(
            attr::SCOPE_CEILING.to_string(),
            AttributeValue::Ss(ceiling.iter().cloned().collect()),
        );
    }
    if let Some(hash) = &app.secret_hash {
        item.insert(
            attr::SECRET_SHA256.to_string(),
            AttributeValue::B(Blob::new(hash.to_vec())),
        );
    }
    // Written only when granted, so an item without it reads as an ordinary client.
    if app.introspect_any {
        item.insert(attr::INTROSPECT_ANY.to_string(), AttributeValue::Bool(true));
    }
    if app.require_dpop {
        item.insert(attr::REQUIRE_DPOP.to_string(), AttributeValue::Bool(true));
    }
    if app.implicit {
        item.insert(attr::IMPLICIT.to_string(), AttributeValue::Bool(true));
    }
    if app.device_grant {
        item.insert(attr::DEVICE_GRANT.to_string(), AttributeValue::Bool(true));
    }
    if let Some(lifetime) = app.token_lifetime {
        let seconds = n(lifetime.as_secs());
        item.insert(attr::TOKEN_LIFETIME_SECONDS.to_string(), seconds);
    }
    item.extend(terms_attributes(app));
    // DynamoDB has no empty sets: an open application has neither attribute.
    for (name, names) in [
        (attr::ALLOWED_USERS, &app.access.users),
        (attr::ALLOWED_GROUPS, &app.access.groups),
    ] {
        if !names.is_empty() {
            let names = names.iter().cloned().collect();
            item.insert(name.to_string(), AttributeValue::Ss(names));
        }
    }
    item
}

fn set(names: Option<Vec<String>>) -> BTreeSet<String> {
    names.unwrap_or_default().into_iter().collect()
}
