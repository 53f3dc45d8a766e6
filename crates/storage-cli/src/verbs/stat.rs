//! `blobctl stat <key>`: a blob's properties.

use std::fmt::Write;

use storage::BlobStoreExt;

use crate::cli::StatArgs;
use crate::exit::CliResult;
use crate::location::BlobLocation;
use crate::output::{meta_json, size, time};

use super::Ctx;

/// Runs `stat`.
pub async fn run(ctx: Ctx, args: StatArgs) -> CliResult {
    let loc = BlobLocation::parse(&args.key)?;
    let meta = loc.store.head(&loc.store.key(&loc.key)?).await?;
    ctx.out.emit(meta_json(&meta), || {
        let mut text = format!(
            "key:           {}\nsize:          {} ({} bytes)\netag:          {}\n\
             last modified: {}\ncontent type:  {}",
            meta.key,
            size(meta.size),
            meta.size,
            meta.etag,
            time(meta.last_modified),
            meta.content_type
        );
        if let Some(cc) = &meta.cache_control {
            let _ = write!(text, "\ncache control: {cc}");
        }
        if let Some(cd) = &meta.content_disposition {
            let _ = write!(text, "\ndisposition:   {cd}");
        }
        for (name, value) in &meta.metadata {
            let _ = write!(text, "\nmetadata:      {name}={value}");
        }
        text
    });
    Ok(())
}
