//! API tokens (the Generate Token door, as Quay 3.18 has it): a token a signed-in person
//! creates for an application on the Tokens page, or an operator with `token create`,
//! named, scoped, with an expiry the application's terms allow, shown once. Pure: what
//! may be created, and when a use is worth writing down.
//!
//! An API token is an access token like any other (same form, same check, same
//! revocation), with a name and a last use; the application's [`ApiTokenTerms`] bound its
//! life and how many a person may hold at once.

use std::collections::BTreeSet;
use std::time::Duration;

use thiserror::Error;

use crate::scope::{self, ScopePolicy};
use crate::store::{Application, TokenRecord};

/// How long an API token's last use stays good enough: the authorizer writes a use only
/// when the one recorded is older, so its hot path stays a read.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(15 * 60);

/// The longest name a person may give a token.
pub const MAX_NAME_CHARS: usize = 64;

/// An application's terms for the API tokens people create for it (`app add|update
/// --api-token-days, --api-token-max-days, --api-token-no-expiry, --api-token-cap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenTerms {
    /// The life a token gets when its creator names none.
    pub default_days: u32,
    /// The longest life a creator may choose.
    pub max_days: u32,
    /// Whether a creator may choose a token that never expires.
    pub no_expiry: bool,
    /// How many live API tokens one person may hold for the application at once.
    pub cap: u32,
}

impl Default for ApiTokenTerms {
    fn default() -> Self {
        ApiTokenTerms {
            default_days: 30,
            max_days: 90,
            no_expiry: false,
            cap: 10,
        }
    }
}

impl ApiTokenTerms {
    /// Terms an operator may set: a default within the maximum, both at least a day, and a
    /// cap of at least one.
    pub fn check(&self) -> Result<(), String> {
        if self.default_days == 0 || self.max_days == 0 {
            return Err("an API token's life is at least one day".into());
        }
        if self.default_days > self.max_days {
            return Err(format!(
                "the default life ({} days) is longer than the maximum ({} days)",
                self.default_days, self.max_days
            ));
        }
        if self.cap == 0 {
            return Err("the cap on live API tokens is at least 1".into());
        }
        Ok(())
    }
}

/// The life a creator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// The application's default.
    Default,
    Days(u32),
    Never,
}

impl Life {
    /// From the Tokens page's field: empty for the default, `never`, or a number of days.
    pub fn parse(field: &str) -> Result<Life, Refusal> {
        match field.trim() {
            "" | "default" => Ok(Life::Default),
            "never" => Ok(Life::Never),
            days => days
                .parse()
                .map(Life::Days)
                .map_err(|_| Refusal::Life(format!("{days:?} is not a number of days"))),
        }
    }
}

/// What a creator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub name: String,
    /// Space-separated, as OAuth writes scopes.
    pub scope: String,
    pub life: Life,
}

/// Why a token cannot be created as asked: said to its creator.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("give the token a name of 1 to {MAX_NAME_CHARS} printable characters")]
    Name,
    #[error("{0}")]
    Scope(String),
    #[error("{0}")]
    Life(String),
    #[error("the application may not be granted tokens for this user")]
    Access,
    #[error("choose a registered application")]
    Application,
    #[error("the application takes only DPoP-bound tokens, which an API token cannot be")]
    DpopRequired,
    #[error("you hold the most live tokens this application allows ({0}); revoke one first")]
    Cap(u32),
}

/// What may be created: the order's checks, in order (name, application's rules, scopes,
/// life). `superuser`: whether the person may be granted `super:user`.
pub struct Decided {
    pub name: String,
    pub scopes: Vec<String>,
    /// Seconds since the epoch; `None`: never.
    pub expires_at: Option<u64>,
}

/// Checks an order against the application and the catalogue, at `now_secs`.
pub fn decide(
    order: &Order,
    app: &Application,
    catalogue: &BTreeSet<String>,
    superuser: bool,
    now_secs: u64,
) -> Result<Decided, Refusal> {
    let name = order.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Refusal::Name);
    }
    if app.require_dpop {
        return Err(Refusal::DpopRequired);
    }
    let policy = ScopePolicy {
        catalogue,
        ceiling: app.scope_ceiling.as_ref(),
        superuser,
    };
    let scopes =
        scope::grant(Some(&order.scope), &policy).map_err(|e| Refusal::Scope(e.to_string()))?;
    let terms = &app.api_tokens;
    let days = match order.life {
        Life::Default => terms.default_days,
        Life::Days(days) if (1..=terms.max_days).contains(&days) => days,
        Life::Days(_) => {
            let why = format!("choose 1 to {} days", terms.max_days);
            return Err(Refusal::Life(why));
        }
        Life::Never if terms.no_expiry => {
            return Ok(Decided {
                name: name.into(),
                scopes,
                expires_at: None,
            });
        }
        Life::Never => {
            let why = "this application's tokens must expire".to_string();
            return Err(Refusal::Life(why));
        }
    };
    Ok(Decided {
        name: name.into(),
        scopes,
        expires_at: Some(now_secs + u64::from(days) * 86_400),
    })
}

/// A live API token as the person's authorization of its application keeps it for
/// the cap: enough to tell, without reading the
/// token, whether it still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub expires_at: Option<u64>,
    pub user_generation: u64,
    pub client_epoch: u64,
}

impl Held {
    pub fn of(record: &TokenRecord) -> Held {
        Held {
            expires_at: record.expires_at,
            user_generation: record.user_generation,
            client_epoch: record.client_epoch,
        }
    }
}

/// The cap a creation is held to: at most `most` API tokens that still count, judged by
/// the user's `tokens_from` and the application's token epoch as the creation read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub most: u32,
    pub tokens_from: u64,
    pub token_epoch: u64,
    pub now_secs: u64,
}

impl Cap {
    /// Whether `held` still counts: not expired, and not voided by a `token revoke --user`
    /// or `--client` since (a revoked one is told by its record).
    pub fn counts(&self, held: &Held) -> bool {
        held.expires_at.is_none_or(|at| at > self.now_secs)
            && held.user_generation >= self.tokens_from
            && held.client_epoch == self.token_epoch
    }
}

/// Whether the authorizer should write this use of `record` down: an API token whose
/// recorded use is missing or older than [`LAST_USED_EVERY`].
pub fn use_is_due(record: &TokenRecord, now_secs: u64) -> bool {
    record.name.is_some()
        && record
            .last_used_at
            .is_none_or(|at| at + LAST_USED_EVERY.as_secs() <= now_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::application;

    fn catalogue() -> BTreeSet<String> {
        ["repo:read", "repo:write", "super:user"]
            .map(String::from)
            .into()
    }

    fn order(life: Life) -> Order {
        Order {
            name: "ci".into(),
            scope: "repo:read".into(),
            life,
        }
    }

    #[test]
    fn the_life_is_the_default_a_choice_within_the_maximum_or_never_where_allowed() {
        let app = application("app");
        let at = |life| decide(&order(life), &app, &catalogue(), false, 1_000);
        assert_eq!(
            at(Life::Default).unwrap().expires_at,
            Some(1_000 + 30 * 86_400)
        );
        assert_eq!(
            at(Life::Days(90)).unwrap().expires_at,
            Some(1_000 + 90 * 86_400)
        );
        assert!(matches!(at(Life::Days(91)), Err(Refusal::Life(_))));
        assert!(matches!(at(Life::Days(0)), Err(Refusal::Life(_))));
        assert!(matches!(at(Life::Never), Err(Refusal::Life(_))));
        let mut open = application("app");
        open.api_tokens.no_expiry = true;
        let never = decide(&order(Life::Never), &open, &catalogue(), false, 1_000);
        assert_eq!(never.unwrap().expires_at, None);
    }

    #[test]
    fn names_scopes_and_dpop_rules_are_checked() {
        let app = application("app");
        let with = |name: &str, scope: &str| Order {
            name: name.into(),
            scope: scope.into(),
            life: Life::Default,
        };
        let decided = |o: Order| decide(&o, &app, &catalogue(), false, 0);
        assert_eq!(decided(with("  ", "repo:read")).err(), Some(Refusal::Name));
        assert_eq!(
            decided(with("a\nb", "repo:read")).err(),
            Some(Refusal::Name)
        );
        assert_eq!(
            decided(with(&"x".repeat(65), "repo:read")).err(),
            Some(Refusal::Name)
        );
        assert!(matches!(
            decided(with("ci", "super:user")),
            Err(Refusal::Scope(_))
        ));
        assert!(matches!(
            decided(with("ci", "nope")),
            Err(Refusal::Scope(_))
        ));
        assert_eq!(decided(with(" ci ", "repo:read")).unwrap().name, "ci");
        let mut bound = application("app");
        bound.require_dpop = true;
        let refused = decide(&order(Life::Default), &bound, &catalogue(), false, 0);
        assert_eq!(refused.err(), Some(Refusal::DpopRequired));
    }

    #[test]
    fn the_life_field_reads_default_never_or_days() {
        assert_eq!(Life::parse(""), Ok(Life::Default));
        assert_eq!(Life::parse("never"), Ok(Life::Never));
        assert_eq!(Life::parse("7"), Ok(Life::Days(7)));
        assert!(Life::parse("a week").is_err());
    }

    #[test]
    fn terms_an_operator_sets_are_checked() {
        assert!(ApiTokenTerms::default().check().is_ok());
        let over = ApiTokenTerms {
            default_days: 100,
            ..ApiTokenTerms::default()
        };
        assert!(over.check().is_err());
        let none = ApiTokenTerms {
            cap: 0,
            ..ApiTokenTerms::default()
        };
        assert!(none.check().is_err());
    }

    #[test]
    fn a_use_is_written_once_per_interval_and_only_for_api_tokens() {
        let mut record = crate::store::memory::token_record("t", "alice", "app");
        assert!(!use_is_due(&record, 10_000));
        record.name = Some("ci".into());
        assert!(use_is_due(&record, 10_000));
        record.last_used_at = Some(10_000);
        assert!(!use_is_due(&record, 10_000 + 899));
        assert!(use_is_due(&record, 10_000 + 900));
    }
}
