//! `blobctl cp <src> <dst>`: one blob or file, between any two of a store
//! (across providers), a local file and stdin/stdout.
//!
//! Two keys of the same store (the same URL scheme and container or root,
//! or both in the environment's store) are copied by the store itself
//! ([`BlobStore::copy`](storage::BlobStore::copy)): no byte passes through
//! blobctl, and every property is kept. `--json` says which way it went in
//! `method`: `server-side`, `streamed` (between stores), `upload` or
//! `download`.

use std::path::Path;

use storage::{BlobStoreExt, Provider, PutOptions};

use crate::cli::CpArgs;
use crate::exit::{CliError, CliResult};
use crate::location::{BlobLocation, Endpoint};
use crate::output::{meta_json, size};
use crate::transfer;

use super::Ctx;

/// Runs `cp`.
pub async fn run(ctx: Ctx, args: CpArgs) -> CliResult {
    let src = Endpoint::parse(&args.source)?;
    let dst = Endpoint::parse(&args.destination)?;
    let name = source_name(&src);
    let (meta, shown, method) = match (src, dst) {
        (Endpoint::Blob(from), Endpoint::Blob(mut to)) => {
            complete_key(&mut to, name.as_deref())?;
            if same_store(&from, &to) && from.store.capabilities().copy {
                let meta = from.store.copy_key(&from.key, &to.key).await?;
                (meta, to.display(), "server-side")
            } else {
                let meta =
                    transfer::copy_blob(&*from.store, &from.key, &*to.store, &to.key, ctx.progress)
                        .await?;
                (meta, to.display(), "streamed")
            }
        }
        (from @ (Endpoint::File(_) | Endpoint::Stdio), Endpoint::Blob(mut to)) => {
            complete_key(&mut to, name.as_deref())?;
            let path = match &from {
                Endpoint::File(p) => Some(p.as_path()),
                _ => None,
            };
            let mut opts = PutOptions::new();
            opts.content_type = path.and_then(transfer::guess_content_type);
            let meta = transfer::upload(&*to.store, &to.key, path, opts, ctx.progress).await?;
            (meta, to.display(), "upload")
        }
        (Endpoint::Blob(from), Endpoint::Stdio) => {
            transfer::download(&*from.store, &from.key, None, ctx.progress).await?;
            return Ok(());
        }
        (Endpoint::Blob(from), Endpoint::File(mut path)) => {
            if path.is_dir() {
                path.push(name.as_deref().unwrap_or("download"));
            }
            let meta =
                transfer::download(&*from.store, &from.key, Some(&path), ctx.progress).await?;
            (meta, path.display().to_string(), "download")
        }
        _ => {
            return Err(CliError::usage(
                "cp needs a store URL on at least one side (local to local is `cp`'s job)",
            ))
        }
    };
    let mut value = meta_json(&meta);
    value["destination"] = shown.clone().into();
    value["method"] = method.into();
    ctx.out.emit(value, || {
        format!(
            "copied {} -> {shown} ({}, {method})",
            args.source,
            size(meta.size)
        )
    });
    Ok(())
}

/// Whether two locations name one store, so the store can copy by itself.
/// Each `memory://` (and a memory environment store) is opened afresh per
/// argument, so two of them are different stores even with equal URLs.
fn same_store(a: &BlobLocation, b: &BlobLocation) -> bool {
    a.store_url == b.store_url && a.store.provider() != Provider::Memory
}

/// The last segment of the source, for a destination that names a folder.
fn source_name(src: &Endpoint) -> Option<String> {
    match src {
        Endpoint::Blob(b) => b.key.rsplit('/').next().map(str::to_string),
        Endpoint::File(p) => Path::new(p)
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string),
        Endpoint::Stdio => None,
    }
    .filter(|n| !n.is_empty())
}

/// `vercel://dir/` + `a.png` → `dir/a.png`.
fn complete_key(to: &mut BlobLocation, name: Option<&str>) -> CliResult {
    if to.key.is_empty() || to.key.ends_with('/') {
        let name = name.ok_or_else(|| {
            CliError::usage("the destination names a folder; give the blob's full key")
        })?;
        to.key.push_str(name);
    }
    Ok(())
}
