//! The person's pages from what their reads found: each token's and application's line
//! as a person reads it, dates as days.

use std::collections::{BTreeSet, HashMap};

use askama::Template;

use super::{REVOKE_ACCESS_PATH, REVOKE_TOKEN_PATH, SignedIn};
use crate::endpoints::endpoint_url;
use crate::endpoints::web_approval::{AccountPage, SIGN_OUT_PATH};
use crate::pages::{
    Applications, AuthorizedLine, Nav, STYLE, TokenApplication, TokenLine, Tokens, scope_lines,
};
use crate::store::{Application, Holdings, TokenRecord, User};
use crate::token_check::{self, Denial};

/// The lives the form offers besides the default and never, in days.
const LIVES: [u32; 6] = [7, 30, 60, 90, 180, 365];

/// What the Tokens page shows besides the person's tokens.
pub(super) struct TokensView<'a> {
    pub created: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// `2026-12-07` for epoch seconds.
fn day(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// A token's standing in a word, as its check would decide it now.
fn status(t: &TokenRecord, user: &User, app: Option<&Application>, now: u64) -> &'static str {
    match token_check::standing(t, Some(user), app, now) {
        Ok(()) => "active",
        Err(Denial::Expired) => "expired",
        Err(_) => "revoked",
    }
}

pub(super) fn tokens_page(
    person: &SignedIn,
    (holdings, apps): (&Holdings, &[Application]),
    catalogue: &BTreeSet<String>,
    view: TokensView<'_>,
    now: u64,
) -> String {
    let by_id: HashMap<&str, &Application> =
        apps.iter().map(|a| (a.client_id.as_str(), a)).collect();
    let mut api_tokens: Vec<&TokenRecord> = holdings
        .tokens
        .iter()
        .filter(|t| t.name.is_some())
        .collect();
    api_tokens.sort_by(|a, b| (b.issued_at, &b.token_id).cmp(&(a.issued_at, &a.token_id)));
    let lines: Vec<TokenLine> = api_tokens
        .into_iter()
        .map(|t| {
            let app = by_id.get(t.client_id.as_str()).copied();
            let status = status(t, &person.user, app, now);
            TokenLine {
                id: t.token_id.clone(),
                name: t.name.clone().unwrap_or_default(),
                application: app.map_or_else(|| t.client_id.clone(), |a| a.name.clone()),
                scopes: t.scopes.join(" "),
                created: day(t.issued_at),
                expires: t.expires_at.map_or_else(|| "never".into(), day),
                last_used: t.last_used_at.map_or_else(|| "never".into(), day),
                status,
                live: status == "active",
            }
        })
        .collect();
    let offered: Vec<TokenApplication> = apps
        .iter()
        .filter(|a| {
            !a.require_dpop
                && a.access
                    .admits(&person.user.username, &person.session.groups)
        })
        .map(|a| TokenApplication {
            client_id: a.client_id.clone(),
            name: a.name.clone(),
            default_days: a.api_tokens.default_days,
            max_days: a.api_tokens.max_days,
            no_expiry: a.api_tokens.no_expiry,
        })
        .collect();
    let issuer = &person.issuer;
    let page = Tokens {
        style: STYLE,
        nav: nav(person),
        created: view.created,
        message: view.message,
        tokens: &lines,
        applications: &offered,
        scopes: &scope_lines(catalogue),
        lives: &LIVES,
        create_action: &endpoint_url(issuer, AccountPage::Tokens.path()),
        revoke_action: &endpoint_url(issuer, REVOKE_TOKEN_PATH),
    };
    page.render().unwrap_or_default()
}

/// The head of every page of the person's.
pub(super) fn nav(person: &SignedIn) -> Nav {
    let url = |path| endpoint_url(&person.issuer, path);
    Nav {
        username: person.session.username.clone(),
        tokens_url: url(AccountPage::Tokens.path()),
        applications_url: url(AccountPage::Applications.path()),
        signout_action: url(SIGN_OUT_PATH),
        csrf: person.session.csrf.clone(),
    }
}

pub(super) fn applications_page(
    person: &SignedIn,
    (holdings, apps): (&Holdings, &[Application]),
    message: Option<&str>,
    now: u64,
) -> String {
    let by_id: HashMap<&str, &Application> =
        apps.iter().map(|a| (a.client_id.as_str(), a)).collect();
    let live = |client_id: &str| {
        let app = by_id.get(client_id).copied();
        let theirs = holdings.tokens.iter().filter(|t| t.client_id == client_id);
        theirs
            .filter(|t| token_check::standing(t, Some(&person.user), app, now).is_ok())
            .count()
    };
    let mut clients: Vec<&str> = holdings
        .applications
        .iter()
        .map(|g| g.client_id.as_str())
        .collect();
    clients.extend(holdings.tokens.iter().map(|t| t.client_id.as_str()));
    clients.sort_unstable();
    clients.dedup();
    let lines: Vec<AuthorizedLine> = clients
        .into_iter()
        .filter_map(|client_id| {
            let app = by_id.get(client_id)?;
            let grant = holdings
                .applications
                .iter()
                .find(|g| g.client_id == client_id);
            let scopes = grant.map(|g| g.scopes.iter().cloned().collect::<Vec<_>>().join(" "));
            let live_tokens = live(client_id);
            (grant.is_some() || live_tokens > 0).then(|| AuthorizedLine {
                client_id: client_id.to_string(),
                name: app.name.clone(),
                scopes: scopes
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "API tokens only".into()),
                live_tokens,
            })
        })
        .collect();
    let issuer = &person.issuer;
    let page = Applications {
        style: STYLE,
        nav: nav(person),
        message,
        authorized: &lines,
        revoke_action: &endpoint_url(issuer, REVOKE_ACCESS_PATH),
    };
    page.render().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_days() {
        assert_eq!(super::day(0), "1970-01-01");
        assert_eq!(super::day(1_796_601_600), "2026-12-07");
    }
}
