//! `blobctl rm <key>...` and `blobctl rm --prefix P --yes`.

use futures::TryStreamExt;
use serde_json::json;
use storage::{BlobStoreExt, ListEntry, ListOptions};

use crate::cli::RmArgs;
use crate::exit::{CliError, CliResult};
use crate::location::BlobLocation;

use super::Ctx;

/// Runs `rm`.
pub async fn run(ctx: Ctx, args: RmArgs) -> CliResult {
    if args.keys.is_empty() && args.prefix.is_none() {
        return Err(CliError::usage(
            "name at least one key to delete, or --prefix P --yes",
        ));
    }
    let mut deleted = Vec::new();
    if let Some(prefix) = &args.prefix {
        if !args.yes {
            return Err(CliError::usage(format!(
                "refusing to delete everything under `{prefix}` without --yes; \
                 check with `blobctl ls {prefix} --recursive` first"
            )));
        }
        let loc = BlobLocation::parse(prefix)?;
        let entries: Vec<ListEntry> = loc
            .store
            .list_all(ListOptions::new().prefix(loc.key.clone()))
            .try_collect()
            .await?;
        // One batch call where the provider has one (Vercel takes 1,000
        // URLs per request), instead of a request per blob.
        let keys: Vec<_> = entries.into_iter().map(|e| e.key).collect();
        loc.store.delete_many(&keys).await?;
        deleted.extend(keys.into_iter().map(|k| k.into_string()));
    }
    for arg in &args.keys {
        let loc = BlobLocation::parse(arg)?;
        loc.store.delete(&loc.store.key(&loc.key)?).await?;
        deleted.push(loc.key);
    }
    ctx.out.emit(json!({ "deleted": deleted }), || {
        deleted
            .iter()
            .map(|k| format!("deleted {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
