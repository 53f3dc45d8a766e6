//! `blobctl get <key> <file|->`: download to a file (atomically) or stdout.

use std::path::PathBuf;

use crate::cli::GetArgs;
use crate::exit::CliResult;
use crate::location::BlobLocation;
use crate::output::{meta_json, size};
use crate::transfer;

use super::Ctx;

/// Runs `get`.
pub async fn run(ctx: Ctx, args: GetArgs) -> CliResult {
    let src = BlobLocation::parse(&args.key)?;
    if args.destination == "-" {
        // Stdout carries the bytes, so no report is printed.
        transfer::download(&*src.store, &src.key, None, ctx.progress).await?;
        return Ok(());
    }
    let mut path = PathBuf::from(&args.destination);
    if path.is_dir() {
        let name = src.key.rsplit('/').next().unwrap_or(&src.key);
        path.push(name);
    }
    let meta = transfer::download(&*src.store, &src.key, Some(&path), ctx.progress).await?;
    let mut value = meta_json(&meta);
    value["path"] = path.display().to_string().into();
    ctx.out.emit(value, || {
        format!(
            "got {} -> {} ({})",
            src.display(),
            path.display(),
            size(meta.size)
        )
    });
    Ok(())
}
