//! `app …`: register, update, remove and list OAuth applications.

use std::collections::BTreeSet;
use std::time::Duration;

use direct_oauth::api_token::ApiTokenTerms;
use direct_oauth::random::{OsRandom, Random};
use direct_oauth::refresh::RefreshTerms;
use direct_oauth::store::{Access, Application, ApplicationAdmin, StoreError};
use direct_oauth::{identifier, redirect, scope, secret};

use serde_json::json;

use super::{CliResult, Ctx, check_client_id, done, prompt, store_err};
use crate::cli::{AppArgs, AppCommand, AppUpdateArgs, RefreshArgs};

pub(crate) async fn run(ctx: &Ctx, cmd: AppCommand) -> CliResult {
    let store = &ctx.store;
    match cmd {
        AppCommand::Add(args) => app_add(ctx, store, args).await,
        AppCommand::RotateSecret { client_id } => rotate_secret(store, &client_id).await,
        AppCommand::Update(args) => app_update(ctx, store, args).await,
        AppCommand::Remove { client_id, yes } => {
            prompt::confirm_destructive(
                &format!("remove application {client_id} (its tokens stop working)"),
                yes,
            )?;
            app_remove(store, &client_id).await
        }
        AppCommand::List => app_list(ctx, store).await,
    }
}

async fn app_remove(store: &impl ApplicationAdmin, client_id: &str) -> CliResult {
    match store
        .delete_application(client_id)
        .await
        .map_err(store_err)?
    {
        // A check reads the token's application: without it, the token is refused.
        true => done(format!(
            "application {client_id}: removed; its tokens and codes are refused from \
             now on, and adding it again does not bring them back"
        )),
        false => Err(format!("no application {client_id}")),
    }
}

async fn app_list(ctx: &Ctx, store: &impl ApplicationAdmin) -> CliResult {
    let apps = store.list_applications().await.map_err(store_err)?;
    let json = apps
        .iter()
        .map(|app| {
            json!({
                "client_id": app.client_id,
                "name": app.name,
                "redirect_uris": app.redirect_uris,
                // null: no ceiling, the whole catalogue may be granted.
                "scope_ceiling": app.scope_ceiling,
                "confidential": app.secret_hash.is_some(),
                "introspect_any": app.introspect_any,
                // Both empty: open to anyone.
                "allowed_users": app.access.users,
                "allowed_groups": app.access.groups,
                "require_dpop": app.require_dpop,
                "implicit": app.implicit,
                "device_grant": app.device_grant,
                // null: the function's lifetime.
                "token_lifetime_seconds": app.token_lifetime.map(|d| d.as_secs()),
                // null: no refresh tokens.
                "refresh_tokens": app.refresh.map(|t| json!({
                    "idle_seconds": t.idle.as_secs(),
                    "absolute_seconds": t.absolute.as_secs(),
                    "grace_seconds": t.grace.as_secs(),
                })),
                "api_tokens": {
                    "default_days": app.api_tokens.default_days,
                    "max_days": app.api_tokens.max_days,
                    "no_expiry": app.api_tokens.no_expiry,
                    "cap": app.api_tokens.cap,
                },
            })
        })
        .collect();
    ctx.show(json, || {
        // New columns go at the end: scripts that cut the first ones keep working.
        println!(
            "CLIENT_ID\tNAME\tREDIRECT_URIS\tSCOPE_CEILING\tINTROSPECT_ANY\tIMPLICIT\tAPI_TOKENS"
        );
        for app in &apps {
            let ceiling = app
                .scope_ceiling
                .as_ref()
                .map(|c| c.iter().cloned().collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| "(any)".into());
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                app.client_id,
                app.name,
                app.redirect_uris.join(" "),
                ceiling,
                app.introspect_any,
                app.implicit,
                terms_text(&app.api_tokens)
            );
        }
    });
    Ok(())
}

/// An application's API token terms in a few words: `30d (max 90d, or never), cap 10`.
fn terms_text(terms: &ApiTokenTerms) -> String {
    format!(
        "{}d (max {}d{}), cap {}",
        terms.default_days,
        terms.max_days,
        if terms.no_expiry { ", or never" } else { "" },
        terms.cap
    )
}

/// A new application's token epoch: random, so tokens of an application of the same id
/// that was removed never pass a check again.
fn first_epoch() -> Result<u64, String> {
    let mut bytes = [0u8; 6];
    OsRandom.fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().fold(0, |n, b| n << 8 | u64::from(*b)))
}

fn new_secret() -> Result<String, String> {
    secret::generate(&OsRandom).map_err(|e| e.to_string())
}

/// The only time the secret is seen: only its hash is stored.
fn show_secret(secret: &str) {
    println!("client secret (shown once; store it now): {secret}");
}

async fn rotate_secret(store: &impl ApplicationAdmin, client_id: &str) -> CliResult {
    let secret = new_secret()?;
    // One write of the secret alone: an `app update` at the same moment cannot undo it.
    if !store
        .set_client_secret(client_id, &secret::hash(&secret))
        .await
        .map_err(store_err)?
    {
        return Err(format!("no application {client_id}"));
    }
    println!("application {client_id}: new client secret; the old one no longer works");
    show_secret(&secret);
    Ok(())
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

fn access(users: &[String], groups: &[String]) -> Access {
    Access {
        // Kept in the users' normal form: a login's name is compared as the key of it.
        users: users.iter().map(|u| identifier::login_key(u)).collect(),
        groups: groups.iter().cloned().collect(),
    }
}

fn check_redirect_uris(uris: &[String]) -> CliResult {
    for uri in uris {
        redirect::validate_registration(uri)
            .map_err(|why| format!("redirect URI {uri:?}: {why}"))?;
    }
    Ok(())
}

/// How many times an update is read and applied again when another edit wrote the
/// application between its read and its write.
const UPDATE_ATTEMPTS: u32 = 5;

async fn app_update(ctx: &Ctx, store: &impl ApplicationAdmin, args: AppUpdateArgs) -> CliResult {
    if !args.redirect_uris.is_empty() {
        check_redirect_uris(&args.redirect_uris)?;
    }
    let ceiling = scope_ceiling(ctx, args.scope_ceiling.as_deref())?;
    for _ in 0..UPDATE_ATTEMPTS {
        let Some((mut app, version)) = store
            .get_application_for_update(&args.client_id)
            .await
            .map_err(store_err)?
        else {
            return Err(format!("no application {}", args.client_id));
        };
        if !args.redirect_uris.is_empty() {
            app.redirect_uris = args.redirect_uris.clone();
        }
        if args.no_scope_ceiling {
            app.scope_ceiling = None;
        } else if ceiling.is_some() {
            app.scope_ceiling = ceiling.clone();
        }
        apply_switches(&mut app, &args)?;
        // Conditional on the version read: another edit (or a rotation) meanwhile makes
        // this one read again and apply its changes to what that edit left.
        match store.replace_application(&app, version).await {
            Ok(()) => {
                println!("application {}: updated", app.client_id);
                return Ok(());
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(format!(
        "application {} kept changing under this update ({UPDATE_ATTEMPTS} tries): run it again",
        args.client_id
    ))
}

/// What `app update` says of the name, the switches, who it is open to and the API
/// tokens' terms, applied to `app` as read. Terms that cannot hold are refused here,
/// before anything is written.
fn apply_switches(app: &mut Application, args: &AppUpdateArgs) -> CliResult {
    if let Some(name) = &args.name {
        app.name = name.clone();
    }
    if args.introspect_any || args.no_introspect_any {
        app.introspect_any = args.introspect_any;
    }
    if args.require_dpop || args.no_require_dpop {
        app.require_dpop = args.require_dpop;
    }
    if args.implicit || args.no_implicit {
        app.implicit = args.implicit;
    }
    if args.device_grant || args.no_device_grant {
        app.device_grant = args.device_grant;
    }
    if let Some(seconds) = args.token_lifetime_seconds {
        app.token_lifetime = Some(Duration::from_secs(seconds));
    } else if args.default_token_lifetime {
        app.token_lifetime = None;
    }
    if args.no_refresh_tokens {
        app.refresh = None;
    } else {
        app.refresh = refresh_terms(app.refresh, &args.refresh)?;
    }
    if args.allow_anyone {
        app.access = Access::default();
    } else if !args.allow_users.is_empty() || !args.allow_groups.is_empty() {
        app.access = access(&args.allow_users, &args.allow_groups);
    }
    let terms = &mut app.api_tokens;
    let before = *terms;
    terms.default_days = args.api_token_days.unwrap_or(terms.default_days);
    terms.max_days = args.api_token_max_days.unwrap_or(terms.max_days);
    terms.cap = args.api_token_cap.unwrap_or(terms.cap);
    if args.api_token_no_expiry || args.api_token_expiry_required {
        terms.no_expiry = args.api_token_no_expiry;
    }
    // Only terms this update changes are judged: an unrelated edit never fails on them.
    if *terms != before {
        check_terms(terms)?;
    }
    Ok(())
}

/// The refresh terms `args` make of `before`: unchanged when it names none; a lifetime
/// or the grace named gives an application without refresh tokens only with
/// --refresh-tokens.
fn refresh_terms(
    before: Option<RefreshTerms>,
    args: &RefreshArgs,
) -> Result<Option<RefreshTerms>, String> {
    let days = |d: u64| Duration::from_secs(d * 86_400);
    let named = args.refresh_idle_days.is_some()
        || args.refresh_absolute_days.is_some()
        || args.refresh_grace_seconds.is_some();
    let mut terms = match (before, args.refresh_tokens) {
        (Some(terms), _) => terms,
        (None, true) => RefreshTerms::default(),
        (None, false) if named => {
            return Err("refresh token terms need --refresh-tokens".into());
        }
        (None, false) => return Ok(None),
    };
    terms.idle = args.refresh_idle_days.map_or(terms.idle, days);
    terms.absolute = args.refresh_absolute_days.map_or(terms.absolute, days);
    terms.grace = args
        .refresh_grace_seconds
        .map_or(terms.grace, Duration::from_secs);
    terms
        .check()
        .map_err(|why| format!("refresh token terms: {why}"))?;
    Ok(Some(terms))
}

/// The operator's terms for API tokens, checked by the library's one rule.
fn check_terms(terms: &ApiTokenTerms) -> CliResult {
    terms
        .check()
        .map_err(|why| format!("API token terms: {why}"))
}

async fn app_add(ctx: &Ctx, store: &impl ApplicationAdmin, args: AppArgs) -> CliResult {
    check_client_id(&args.client_id)?;
    check_redirect_uris(&args.redirect_uris)?;
    let api_tokens = ApiTokenTerms {
        default_days: args.api_token_days,
        max_days: args.api_token_max_days,
        no_expiry: args.api_token_no_expiry,
        cap: args.api_token_cap,
    };
    check_terms(&api_tokens)?;
    let secret = args.confidential.then(new_secret).transpose()?;
    let app = Application {
        name: args.name.unwrap_or_else(|| args.client_id.clone()),
        client_id: args.client_id,
        redirect_uris: args.redirect_uris,
        scope_ceiling: scope_ceiling(ctx, args.scope_ceiling.as_deref())?,
        secret_hash: secret.as_deref().map(secret::hash),
        introspect_any: args.introspect_any,
        token_epoch: first_epoch()?,
        access: access(&args.allow_users, &args.allow_groups),
        require_dpop: args.require_dpop,
        implicit: args.implicit,
        device_grant: args.device_grant,
        api_tokens,
        token_lifetime: args.token_lifetime_seconds.map(Duration::from_secs),
        refresh: refresh_terms(None, &args.refresh)?,
    };
    match store.add_application(&app).await {
        Ok(()) => {
            println!(
                "application {}: added ({}) with {} redirect URI(s)",
                app.client_id,
                if secret.is_some() {
                    "confidential"
                } else {
                    "public"
                },
                app.redirect_uris.len()
            );
            if let Some(secret) = secret {
                show_secret(&secret);
            }
            Ok(())
        }
        Err(StoreError::Conflict) => Err(format!("application {} already exists", app.client_id)),
        Err(e) => Err(store_err(e)),
    }
}
