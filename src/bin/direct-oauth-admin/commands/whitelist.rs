//! `whitelist …`: the SSM parameter of client ids allowed to use direct approval, edited
//! through the whitelist's editing port.

use direct_oauth::clock::SystemClock;
use direct_oauth::whitelist::{EditClaims, WhitelistEditor};

use super::{CliResult, Ctx, check_client_id};
use crate::cli::WhitelistCommand;

pub(crate) async fn run(ctx: &Ctx, cmd: WhitelistCommand) -> CliResult {
    let w = &ctx.whitelist;
    match cmd {
        WhitelistCommand::Add { client_id } => {
            check_client_id(&client_id)?;
            let changed = edit(w, &ctx.store, &client_id, true).await?;
            println!(
                "{client_id}: {}",
                if changed {
                    "whitelisted"
                } else {
                    "already whitelisted"
                }
            );
        }
        WhitelistCommand::Remove { client_id } => {
            let changed = edit(w, &ctx.store, &client_id, false).await?;
            println!(
                "{client_id}: {}",
                if changed {
                    "removed"
                } else {
                    "was not whitelisted"
                }
            );
        }
        WhitelistCommand::List => {
            let ids = w.list().await.map_err(|e| e.to_string())?;
            ctx.show(serde_json::json!(ids), || {
                for id in &ids {
                    println!("{id}");
                }
            });
        }
    }
    Ok(())
}

/// Adds or removes `client_id`, the write held by `claims` (the store's edit marker).
async fn edit(
    w: &impl WhitelistEditor,
    claims: &impl EditClaims,
    client_id: &str,
    add: bool,
) -> Result<bool, String> {
    w.edit(client_id, add, claims, &SystemClock)
        .await
        .map_err(|e| e.to_string())
}
