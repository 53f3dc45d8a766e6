//! `blobctl ls [prefix]`: folders and blobs under a prefix, one level
//! (delimiter listing) or all of them (`--recursive`).

use futures::TryStreamExt;
use serde_json::json;
use storage::{ListEntry, ListOptions};

use crate::cli::LsArgs;
use crate::exit::CliResult;
use crate::location::BlobLocation;
use crate::output::{size, time};

use super::Ctx;

/// Runs `ls`.
pub async fn run(ctx: Ctx, args: LsArgs) -> CliResult {
    let loc = BlobLocation::parse(&args.prefix)?;
    let mut opts = ListOptions::new();
    if !loc.key.is_empty() {
        opts = opts.prefix(loc.key.clone());
    }
    let (folders, entries) = if args.recursive {
        let entries: Vec<ListEntry> = storage::BlobStoreExt::list_all(&*loc.store, opts)
            .try_collect()
            .await?;
        (Vec::new(), entries)
    } else {
        let mut folders = Vec::new();
        let mut entries = Vec::new();
        let mut opts = opts.delimiter(true);
        loop {
            let page = loc.store.list(opts.clone()).await?;
            folders.extend(page.folders);
            entries.extend(page.entries);
            match page.cursor {
                Some(cursor) => opts = opts.cursor(cursor),
                None => break,
            }
        }
        (folders, entries)
    };
    let blobs: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "key": e.key.as_str(),
                "size": e.size,
                "etag": e.etag,
                "last_modified": time(e.last_modified),
            })
        })
        .collect();
    ctx.out
        .emit(json!({ "folders": folders, "blobs": blobs }), || {
            let mut lines: Vec<String> = folders
                .iter()
                .map(|f| {
                    if args.long {
                        format!("{:>10}  {:20}  {f}", "DIR", "")
                    } else {
                        f.clone()
                    }
                })
                .collect();
            lines.extend(entries.iter().map(|e| {
                if args.long {
                    format!(
                        "{:>10}  {:20}  {}",
                        size(e.size),
                        time(e.last_modified),
                        e.key
                    )
                } else {
                    e.key.to_string()
                }
            }));
            lines.join("\n")
        });
    Ok(())
}
