//! `whitelist …`: the SSM parameter of client ids allowed to use direct approval.

use direct_oauth::clock::SystemClock;

use super::{CliResult, Ctx, check_client_id};
use crate::cli::WhitelistCommand;

pub(crate) async fn run(ctx: &Ctx, cmd: WhitelistCommand) -> CliResult {
    let w = &ctx.whitelist;
    match cmd {
        WhitelistCommand::Add { client_id } => {
            check_client_id(&client_id)?;
            let changed = w
                .edit(&client_id, true, &ctx.store, &SystemClock)
                .await
                .map_err(|e| e.to_string())?;
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
            let changed = w
                .edit(&client_id, false, &ctx.store, &SystemClock)
                .await
                .map_err(|e| e.to_string())?;
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
