//! `token …`: list, revoke and verify issued tokens; create API tokens.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use direct_oauth::api_token::{Life, Order, Refusal};
use direct_oauth::endpoints::account::creation::{CreationError, Creator, create_api_token};
use direct_oauth::random::OsRandom;
use direct_oauth::store::{
    Application, ApplicationAdmin, TokenAdmin, TokenReader, TokenRecord, User, UserAdmin,
};
use direct_oauth::token::AccessToken;
use direct_oauth::token_check::{self, Denial};

use serde_json::json;

use super::prompt::confirm_destructive;
use super::{CliResult, Ctx, done, now_secs, store_err};
use crate::cli::Output;
use crate::cli::{TokenCommand, TokenCreateArgs};

/// `2026-11-28T10:00:00Z` for epoch seconds.
fn utc(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    DateTime::from_secs(secs)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| format!("{secs}s since the epoch"))
}

/// An expiry as the listings print it: a date, or `never`.
fn expiry(at: Option<u64>) -> String {
    at.map_or_else(|| "never".into(), utc)
}

/// What a check would say of the token now (its user and application as they are now),
/// in a word.
fn status(
    t: &TokenRecord,
    user: Option<&User>,
    app: Option<&Application>,
    now: u64,
) -> &'static str {
    match token_check::standing(t, user, app, now) {
        Ok(()) => "valid",
        Err(Denial::UserDisabled) => "user-disabled",
        Err(Denial::ClientRemoved) => "client-removed",
        Err(Denial::Expired) => "expired",
        Err(_) => "revoked",
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: TokenCommand) -> CliResult {
    match cmd {
        TokenCommand::List { user } => list(ctx, &ctx.store, &user).await,
        TokenCommand::Revoke { id: Some(id), .. } => revoke_one(&ctx.store, &id).await,
        TokenCommand::Revoke {
            user: Some(user),
            yes,
            ..
        } => {
            confirm_destructive(&format!("revoke every token of user {user}"), yes)?;
            revoke_user(&ctx.store, &user).await
        }
        TokenCommand::Revoke {
            client: Some(client),
            yes,
            ..
        } => {
            confirm_destructive(
                &format!("revoke every token and code of application {client}"),
                yes,
            )?;
            revoke_client(&ctx.store, &client).await
        }
        TokenCommand::Revoke { .. } => {
            Err("give a token id, --user NAME or --client CLIENT_ID".into())
        }
        TokenCommand::Verify => verify(ctx, &ctx.store).await,
        TokenCommand::Create(args) => create(ctx, &args).await,
    }
}

/// `token create`: an API token made by the one creation driver the Tokens page uses,
/// for the user as stored now (their superuser flag and generation as read).
async fn create(ctx: &Ctx, args: &TokenCreateArgs) -> CliResult {
    let Some(user) = ctx.store.get_user(&args.user).await.map_err(store_err)? else {
        return Err(super::user::no_user(&args.user));
    };
    if !user.enabled {
        return Err(format!(
            "no token was created: user {} is disabled",
            args.user
        ));
    }
    let life = match (args.expires_in_days, args.no_expiry) {
        (_, true) => Life::Never,
        (Some(days), false) => Life::Days(days),
        (None, false) => Life::Default,
    };
    let order = Order {
        name: args.name.clone(),
        scope: args.scope.clone(),
        life,
    };
    // The directory's groups are known only at a sign-in: none here.
    let groups = BTreeSet::new();
    let creator = Creator {
        username: &user.username,
        groups: &groups,
        superuser: user.superuser,
        generation: None,
    };
    let who = (&creator, args.client.as_str());
    let catalogue = &ctx.config.scopes;
    let made = create_api_token(&ctx.store, &OsRandom, catalogue, who, &order, now_secs());
    let created = made.await.map_err(|e| creation_error(e, args))?;
    let record = &created.record;
    eprintln!(
        "token {} ({:?}) created for user {} and application {}, scopes \"{}\", expires {}",
        record.token_id,
        args.name.trim(),
        record.username,
        record.client_id,
        record.scopes.join(" "),
        expiry(record.expires_at)
    );
    let json = json!({
        "token": created.token,
        "token_id": record.token_id,
        "expires_at": expiry(record.expires_at),
    });
    // Standard output holds the token alone, so `TOKEN=$(…)` takes it.
    ctx.show(json, || println!("{}", created.token));
    Ok(())
}

/// Why `token create` made nothing, said in the CLI's terms (its flags, the user by name).
fn creation_error(e: CreationError, args: &TokenCreateArgs) -> String {
    let why = match e {
        CreationError::Refused(Refusal::Application) => format!("no application {}", args.client),
        CreationError::Refused(Refusal::Access) => format!(
            "application {} may not be granted tokens for user {} (the CLI knows no \
             directory groups: an application open only to groups refuses)",
            args.client, args.user
        ),
        CreationError::Refused(Refusal::Cap(most)) => format!(
            "user {} holds the most live API tokens application {} allows ({most}): \
             revoke one first",
            args.user, args.client
        ),
        CreationError::Refused(Refusal::Life(why)) if args.no_expiry => format!(
            "{why} (--no-expiry needs `app update {} --api-token-no-expiry`)",
            args.client
        ),
        CreationError::Refused(Refusal::Life(why)) => format!("{why} (--expires-in-days)"),
        CreationError::Refused(other) => other.to_string(),
        CreationError::UserChanged => {
            format!("user {} was disabled or changed meanwhile", args.user)
        }
        CreationError::Failed(e) => e.to_string(),
    };
    format!("no token was created: {why}")
}

/// `token verify`: what a check would say of the token on standard input.
async fn verify(ctx: &Ctx, store: &impl TokenReader) -> CliResult {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let Some(presented) = AccessToken::parse(input.trim()) else {
        return Err("not valid: not a direct-oauth token".into());
    };
    let record = store.get_token(presented.id()).await.map_err(store_err)?;
    let checked = token_check::check_active(store, &presented, record.as_ref(), now_secs());
    match checked.await.map_err(store_err)? {
        Ok(g) => {
            let expires = record.map(|r| expiry(r.expires_at)).unwrap_or_default();
            let json = json!({
                "valid": true,
                "username": g.username,
                "client_id": g.client_id,
                "scopes": g.scopes,
                "expires_at": expires,
            });
            ctx.show(json, || {
                println!(
                    "valid: user {} client {} scopes \"{}\" expires {}",
                    g.username,
                    g.client_id,
                    g.scopes.join(" "),
                    expires
                )
            });
            Ok(())
        }
        Err(d) => {
            // Scripts read the reason from standard output; the exit status says 1.
            if ctx.output == Output::Json {
                println!("{:#}", json!({ "valid": false, "reason": d.reason() }));
            }
            Err(format!("not valid: {}", d.reason()))
        }
    }
}

/// `token list --user`: each token with what a check would say of it now.
async fn list(
    ctx: &Ctx,
    store: &(impl TokenAdmin + UserAdmin + ApplicationAdmin),
    user: &str,
) -> CliResult {
    let now = now_secs();
    let tokens = store.list_tokens_for_user(user).await.map_err(store_err)?;
    let owner = store.get_user(user).await.map_err(store_err)?;
    let apps: HashMap<String, Application> = store
        .list_applications()
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|a| (a.client_id.clone(), a))
        .collect();
    let status = |t: &TokenRecord| status(t, owner.as_ref(), apps.get(&t.client_id), now);
    let json = tokens
        .iter()
        .map(|t| {
            json!({
                "token_id": t.token_id,
                "client_id": t.client_id,
                "scopes": t.scopes,
                "issued_at": utc(t.issued_at),
                "expires_at": expiry(t.expires_at),
                "status": status(t),
                // null: a token a grant issued (it has no name and no recorded use).
                "name": t.name,
                "last_used_at": t.last_used_at.map(utc),
            })
        })
        .collect();
    ctx.show(json, || {
        // New columns go at the end: scripts that cut the first ones keep working.
        println!("TOKEN_ID\tCLIENT_ID\tSCOPES\tISSUED\tEXPIRES\tSTATUS\tNAME\tLAST_USED");
        for t in &tokens {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                t.token_id,
                t.client_id,
                t.scopes.join(" "),
                utc(t.issued_at),
                expiry(t.expires_at),
                status(t),
                t.name.as_deref().unwrap_or_default(),
                t.last_used_at.map(utc).unwrap_or_default()
            );
        }
    });
    Ok(())
}

async fn revoke_one(store: &impl TokenAdmin, id: &str) -> CliResult {
    match store
        .revoke_token_by_id(id, now_secs())
        .await
        .map_err(store_err)?
    {
        true => done(format!("token {id}: revoked")),
        false => Err(format!("no unrevoked token {id}")),
    }
}

async fn revoke_user(store: &impl UserAdmin, user: &str) -> CliResult {
    // Also ends any token a login in flight is writing (see store::operator).
    match store
        .revoke_user_tokens(user, now_secs())
        .await
        .map_err(store_err)?
    {
        Some(revoked) => done(format!("user {user}: {revoked} token(s) revoked")),
        None => Err(super::user::no_user(user)),
    }
}

async fn revoke_client(store: &impl ApplicationAdmin, client: &str) -> CliResult {
    match store
        .revoke_client_tokens(client)
        .await
        .map_err(store_err)?
    {
        true => done(format!(
            "application {client}: every token and code revoked (a new token epoch)"
        )),
        false => Err(format!("no application {client}")),
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
    fn a_refused_creation_names_the_flag_and_the_user() {
        let args = |no_expiry: bool| TokenCreateArgs {
            user: "alice".into(),
            client: "ci-app".into(),
            name: "deploy".into(),
            scope: "repo:read".into(),
            expires_in_days: (!no_expiry).then_some(400),
            no_expiry,
        };
        let life = |why: &str| CreationError::Refused(Refusal::Life(why.into()));
        let days = creation_error(life("choose 1 to 90 days"), &args(false));
        assert_eq!(
            days,
            "no token was created: choose 1 to 90 days (--expires-in-days)"
        );
        let never = creation_error(life("must expire"), &args(true));
        assert!(
            never.contains("app update ci-app --api-token-no-expiry"),
            "{never}"
        );
        let cap = creation_error(CreationError::Refused(Refusal::Cap(2)), &args(false));
        assert!(
            cap.contains("user alice holds") && cap.contains("(2)"),
            "{cap}"
        );
    }
}
