//! `user …`: add, disable, enable, set a password, import from Quay, sync with a directory.
//! The operator's actions go through the store's ports (`UserAdmin`, `TokenAdmin`); the
//! import's bcrypt marker is the DynamoDB store's own.

use std::io::Read;

use direct_oauth::password::{self, Passwords};
use direct_oauth::store::{StoreError, TokenAdmin, User, UserAdmin};
use direct_oauth::{aws, identifier, offboarding};

use serde_json::json;

use super::prompt::{ask, confirm_destructive, interactive};
use super::{CliResult, Ctx, done, hasher, now_secs, read_password, store_err};
use crate::cli::UserCommand;

pub(crate) async fn run(ctx: &Ctx, cmd: UserCommand) -> CliResult {
    match cmd {
        UserCommand::Add {
            name,
            superuser,
            password_stdin,
        } => user_add(&ctx.store, &name, superuser, password_stdin).await,
        UserCommand::Disable { name, yes } => {
            confirm_destructive(&format!("disable user {name} and refuse its tokens"), yes)?;
            user_enable(&ctx.store, &name, false).await
        }
        UserCommand::Enable { name } => user_enable(&ctx.store, &name, true).await,
        UserCommand::SetPassword {
            name,
            revoke_tokens,
            keep_tokens,
            password_stdin,
        } => {
            // Asked before the password, so a script that says neither stops at once.
            let void =
                revoke_tokens || (!keep_tokens && revoke_on_reset(&ctx.store, &name).await?);
            let password = read_password(password_stdin)?;
            let hash = hasher()?.hash(&password).map_err(|e| e.to_string())?;
            set_password(&ctx.store, &name, &hash, void).await
        }
        UserCommand::ImportQuay { max_bcrypt_cost } => import_quay(ctx, max_bcrypt_cost).await,
        UserCommand::Sync { dry_run, force } => {
            user_sync(ctx, offboarding::Options { dry_run, force }).await
        }
        UserCommand::BcryptRemaining => {
            let remaining = ctx.store.retire_bcrypt_marker().await.map_err(store_err)?;
            ctx.show(json!({ "bcrypt_remaining": remaining }), || {
                println!(
                    "{}",
                    if remaining == 0 {
                        "no bcrypt hashes remain: failed logins are no longer held to bcrypt's time"
                            .into()
                    } else {
                        format!("{remaining} user(s) still have a bcrypt hash from Quay")
                    }
                )
            });
            Ok(())
        }
    }
}

/// `user set-password`, once the password is hashed: `void` ends the user's tokens in the
/// same write as the new hash.
async fn set_password(
    store: &(impl UserAdmin + TokenAdmin),
    name: &str,
    hash: &str,
    void: bool,
) -> CliResult {
    if !store
        .set_password_hash(name, hash, void)
        .await
        .map_err(store_err)?
    {
        return Err(no_user(name));
    }
    if !void {
        return done(format!("user {name}: password replaced, tokens kept"));
    }
    // The tokens are void already (the same write); the marks are for the listings.
    let revoked = store
        .mark_user_tokens_revoked(name, now_secs())
        .await
        .map_err(store_err)?;
    done(format!(
        "user {name}: password replaced, {revoked} token(s) revoked"
    ))
}

/// Whether a reset given neither --revoke-tokens nor --keep-tokens revokes: on a terminal
/// the operator is told how many live tokens the user has and asked (yes by default: a
/// reset after a phished password must not leave the attacker's token working); a script
/// has to say.
async fn revoke_on_reset(store: &impl TokenAdmin, name: &str) -> Result<bool, String> {
    if !interactive() {
        return Err(
            "say what becomes of the user's tokens: --revoke-tokens or --keep-tokens \
             (standard input is not a terminal, so nobody can be asked)"
                .into(),
        );
    }
    let live = store
        .live_token_count(name, now_secs())
        .await
        .map_err(store_err)?;
    ask(
        &format!("user {name} has {live} live token(s); revoke them with the reset?"),
        true,
    )
}

async fn user_enable(store: &impl UserAdmin, name: &str, enabled: bool) -> CliResult {
    match store
        .set_user_enabled(name, enabled)
        .await
        .map_err(store_err)?
    {
        true => done(format!(
            "user {name}: {}",
            if enabled { "enabled" } else { "disabled" }
        )),
        false => Err(no_user(name)),
    }
}

/// One `username,bcrypt_hash[,superuser]` line of a Quay export.
fn quay_line(line: &str, max_cost: u32) -> Result<User, String> {
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
    normal_name(name)?;
    if !hash.starts_with("$2") || !password::is_supported_hash(hash) {
        return Err("the second field is not a bcrypt hash".into());
    }
    match password::bcrypt_cost(hash) {
        Some(cost) if cost <= max_cost => {}
        Some(cost) => {
            return Err(format!(
                "bcrypt cost {cost} is above --max-bcrypt-cost {max_cost}"
            ));
        }
        None => return Err("the second field is not a bcrypt hash".into()),
    }
    Ok(User {
        username: name.to_string(),
        password_hash: hash.to_string(),
        enabled: true,
        superuser,
        generation: 0,
        tokens_from: 0,
        link: None,
    })
}

async fn import_quay(ctx: &Ctx, max_cost: u32) -> CliResult {
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
        let user = match quay_line(line, max_cost) {
            Ok(u) => u,
            Err(why) => {
                // The line may hold a hash: name the line, not its content.
                eprintln!("line {}: {why}", number + 1);
                bad += 1;
                continue;
            }
        };
        // Marked before the user exists, so no login ever meets an imported hash unmarked.
        if let Some(cost) = password::bcrypt_cost(&user.password_hash) {
            ctx.store
                .mark_bcrypt_in_use(cost)
                .await
                .map_err(store_err)?;
        }
        match ctx.store.add_user(&user).await {
            Ok(()) => {
                // Marked again once the user exists: the version a settle read before
                // its scan is raised after this user is there to be scanned, so a
                // settle whose scan missed it keeps the marker (or it is written anew).
                if let Some(cost) = password::bcrypt_cost(&user.password_hash) {
                    ctx.store
                        .mark_bcrypt_in_use(cost)
                        .await
                        .map_err(store_err)?;
                }
                imported += 1;
            }
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

/// `user sync`: a line per record disabled (or, in a dry run, to be), then what was
/// checked; fails when the directory left some unanswered.
async fn user_sync(ctx: &Ctx, options: offboarding::Options) -> CliResult {
    let sdk = aws::sdk_config().await;
    let directory = aws::directory(&ctx.config.directory, &sdk, &aws::AwsCalls::default())
        .await
        .map_err(|e| e.to_string())?;
    let Some(directory) = directory else {
        return Err(
            "user sync follows a directory: set DIRECT_OAUTH_DIRECTORY (ldap or cognito) and \
             its settings, as the function has them"
                .into(),
        );
    };
    let report = offboarding::sync(&ctx.store, &directory, options)
        .await
        .map_err(|e| format!("user sync: {e}"))?;
    let verb = if options.dry_run {
        "would disable"
    } else {
        "disabled"
    };
    let changes: Vec<_> = report
        .changes
        .iter()
        .map(|c| json!({"username": c.username, "id": c.id, "why": c.why.as_str()}))
        .collect();
    let json = json!({"checked": report.checked, verb.replace(' ', "_"): changes,
                      "unanswered": report.unanswered});
    ctx.show(json, || {
        for c in &report.changes {
            let id =
                c.id.as_deref()
                    .map(|i| format!(", id {i}"))
                    .unwrap_or_default();
            println!("user {}: {verb} ({}{id})", c.username, c.why.as_str());
        }
        println!(
            "checked {}, {verb} {}, unanswered {}",
            report.checked,
            report.changes.len(),
            report.unanswered
        );
    });
    if report.unanswered > 0 {
        return Err(format!(
            "the directory gave no answer for {} record(s): they were left as they are",
            report.unanswered
        ));
    }
    Ok(())
}

/// A name the users table can hold: valid, and in its normal form, so that `Alice` and
/// `alice` can never be two users (a login as either reaches `alice`).
fn normal_name(name: &str) -> Result<(), String> {
    if !identifier::is_username(name) {
        return Err(identifier::USERNAME_RULE.into());
    }
    if !identifier::is_normal_username(name) {
        return Err(format!(
            "{}: use {:?}",
            identifier::NORMAL_FORM_RULE,
            identifier::login_key(name)
        ));
    }
    Ok(())
}

/// "no user NAME", and the normal form when NAME is another spelling of it.
pub(crate) fn no_user(name: &str) -> String {
    let key = identifier::login_key(name);
    if key == name {
        format!("no user {name}")
    } else {
        format!("no user {name} (names are stored in their normal form: {key:?})")
    }
}

async fn user_add(
    store: &impl UserAdmin,
    name: &str,
    superuser: bool,
    password_stdin: bool,
) -> CliResult {
    normal_name(name)?;
    let password = read_password(password_stdin)?;
    let user = User {
        username: name.to_string(),
        password_hash: hasher()?.hash(&password).map_err(|e| e.to_string())?,
        enabled: true,
        superuser,
        generation: 0,
        tokens_from: 0,
        link: None,
    };
    match store.add_user(&user).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_lines() {
        let hash = "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
        assert_eq!(hash.len(), 60);
        let line = |l: &str| quay_line(l, 12);
        let u = line(&format!("alice,{hash}")).unwrap();
        assert!(!u.superuser && u.enabled);
        assert!(line(&format!("root,{hash},true")).unwrap().superuser);
        assert!(line("alice").is_err());
        assert!(line("alice,plaintext").is_err());
        assert!(line(&format!("al:ice,{hash}")).is_err());
        assert!(line(&format!("alice,{hash},maybe")).is_err());
        assert!(line(&format!("alice,{hash},true,extra")).is_err());
        let costly = hash.replace("$04$", "$13$");
        assert!(
            line(&format!("alice,{costly}")).is_err(),
            "above the default"
        );
        assert!(
            quay_line(&format!("alice,{costly}"), 13).is_ok(),
            "allowed by the flag"
        );
    }
}
