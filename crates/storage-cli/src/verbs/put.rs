//! `blobctl put <file|-> <key>`: upload with content type, cache control,
//! metadata and create-only mode.

use std::path::Path;

use storage::{PutMode, PutOptions};

use crate::cli::PutArgs;
use crate::exit::CliResult;
use crate::location::BlobLocation;
use crate::output::{meta_json, size};
use crate::transfer;

use super::Ctx;

/// Runs `put`.
pub async fn run(ctx: Ctx, args: PutArgs) -> CliResult {
    let dst = BlobLocation::parse(&args.key)?;
    let source = (args.source != "-").then(|| Path::new(&args.source));
    let mut opts = PutOptions::new();
    // The file's extension says more than the key's (`upload.tmp` → key
    // `a.png`?), so it wins; the store falls back to the key's otherwise.
    opts.content_type = args
        .content_type
        .or_else(|| source.and_then(transfer::guess_content_type));
    opts.cache_control = args.cache_control;
    opts.content_disposition = args.content_disposition;
    opts.metadata = args.metadata.into_iter().collect();
    if args.if_not_exists {
        opts.mode = PutMode::Create;
    }
    let meta = transfer::upload(&*dst.store, &dst.key, source, opts, ctx.progress).await?;
    ctx.out.emit(meta_json(&meta), || {
        format!(
            "put {} ({}, {})",
            dst.display(),
            size(meta.size),
            meta.content_type
        )
    });
    Ok(())
}
