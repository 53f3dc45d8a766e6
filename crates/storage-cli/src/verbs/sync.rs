//! `blobctl sync <src-prefix> <dst-prefix>`: copy what is missing or
//! changed, verified, in parallel, resumable.
//!
//! Etags differ across providers, so "changed" means a different size or a
//! different SHA-256 of the content. Where the destination keeps user
//! metadata, each copy carries a `sha256` entry (trusted on later runs, so a
//! rerun does not read the destination back); elsewhere the destination is
//! read and hashed. A blob appears whole or not at all on every provider, so
//! after an interruption a rerun finds exactly the copies that finished and
//! copies only the rest. Each copy is read back and checked for size and
//! checksum; a copy that fails the check is deleted again and reported.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::{stream, StreamExt, TryStreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use storage::{
    BlobKey, BlobMeta, BlobStore, BlobStoreExt, Body, ByteStream, GetOptions, ListEntry,
    ListOptions,
};

use crate::cli::SyncArgs;
use crate::exit::{CliError, CliResult};
use crate::location::BlobLocation;
use crate::output::size;
use crate::transfer::options_from_meta;

use super::Ctx;

/// The user-metadata entry holding a blob's SHA-256 (lowercase hex).
pub const SHA256_ENTRY: &str = "sha256";

/// Blobs up to this size are copied from memory (one read of the source);
/// larger ones are hashed first and streamed (two reads, bounded memory).
const BUFFER_LIMIT: u64 = 8 << 20;

/// What sync decided for one source blob.
enum Outcome {
    /// Copied and verified (or would be, in a dry run).
    Copied { key: String, size: u64 },
    /// The destination already has the same size and content.
    Unchanged,
}

/// Both sides and what the destination holds, shared by the parallel copies.
struct Plan {
    src: BlobLocation,
    dst: BlobLocation,
    /// Destination blobs by their key relative to the destination prefix.
    dst_sizes: HashMap<String, u64>,
    dry_run: bool,
}

/// Runs `sync`.
pub async fn run(ctx: Ctx, args: SyncArgs) -> CliResult {
    let src = BlobLocation::parse(&args.source)?;
    let dst = BlobLocation::parse(&args.destination)?;
    let src_entries = list(&src).await?;
    let dst_sizes: HashMap<String, u64> = list(&dst)
        .await?
        .into_iter()
        .map(|e| (relative(&dst.key, &e.key).to_string(), e.size))
        .collect();
    let src_names: HashSet<String> = src_entries
        .iter()
        .map(|e| relative(&src.key, &e.key).to_string())
        .collect();
    let plan = Arc::new(Plan {
        src,
        dst,
        dst_sizes,
        dry_run: args.dry_run,
    });

    let bar = ctx.progress.items(src_entries.len() as u64, "sync");
    let verb = if args.dry_run { "would copy" } else { "copied" };
    let results: Vec<(String, CliResult<Outcome>)> = stream::iter(src_entries)
        .map(|entry| {
            let plan = Arc::clone(&plan);
            let bar = bar.clone();
            async move {
                let outcome = sync_one(&plan, &entry).await;
                bar.inc(1);
                if let Ok(Outcome::Copied { key, size: n }) = &outcome {
                    // Printed as it happens, so an interrupted run still
                    // says what it finished.
                    bar.suspend(|| ctx.out.note(&format!("{verb} {key} ({})", size(*n))));
                }
                (entry.key.into_string(), outcome)
            }
        })
        .buffer_unordered(usize::from(args.jobs))
        .collect()
        .await;
    bar.finish_and_clear();

    let mut copied = Vec::new();
    let mut failed = Vec::new();
    let mut unchanged = 0u64;
    let mut bytes = 0u64;
    for (key, outcome) in results {
        match outcome {
            Ok(Outcome::Copied { key, size }) => {
                bytes += size;
                copied.push(json!({ "key": key, "size": size }));
            }
            Ok(Outcome::Unchanged) => unchanged += 1,
            Err(err) => failed.push((key, err)),
        }
    }

    let mut deleted = Vec::new();
    if args.delete {
        let mut extra: Vec<&String> = plan
            .dst_sizes
            .keys()
            .filter(|name| !src_names.contains(*name))
            .collect();
        extra.sort();
        deleted = extra
            .into_iter()
            .map(|name| format!("{}{name}", plan.dst.key))
            .collect();
        if !plan.dry_run {
            let keys = deleted
                .iter()
                .map(|key| plan.dst.store.key(key))
                .collect::<Result<Vec<_>, _>>()?;
            // One batch call where the provider has one, not a request per blob.
            plan.dst.store.delete_many(&keys).await?;
        }
        let verb = if plan.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        for key in &deleted {
            ctx.out.note(&format!("{verb} {key}"));
        }
    }

    let failures: Vec<_> = failed
        .iter()
        .map(|(key, err)| json!({ "key": key, "error": err.message() }))
        .collect();
    ctx.out.emit(
        json!({
            "dry_run": plan.dry_run,
            "copied": copied,
            "bytes": bytes,
            "unchanged": unchanged,
            "deleted": deleted,
            "failed": failures,
        }),
        || {
            format!(
                "sync: {} {verb} ({}), {unchanged} unchanged, {} {}, {} failed",
                copied.len(),
                size(bytes),
                deleted.len(),
                if plan.dry_run {
                    "would delete"
                } else {
                    "deleted"
                },
                failed.len()
            )
        },
    );
    match failed.into_iter().next() {
        None => Ok(()),
        Some((key, err)) => Err(CliError::failed(format!(
            "{} blob(s) failed to sync, the first `{key}`: {}; rerun to copy what is left",
            failures.len(),
            err.message()
        ))),
    }
}

async fn list(loc: &BlobLocation) -> CliResult<Vec<ListEntry>> {
    let mut opts = ListOptions::new();
    if !loc.key.is_empty() {
        opts = opts.prefix(loc.key.clone());
    }
    Ok(loc.store.list_all(opts).try_collect().await?)
}

/// `key` without `prefix` (listings by prefix only return keys that have it).
fn relative<'a>(prefix: &str, key: &'a BlobKey) -> &'a str {
    key.as_str().get(prefix.len()..).unwrap_or(key.as_str())
}

async fn sync_one(plan: &Plan, entry: &ListEntry) -> CliResult<Outcome> {
    let name = relative(&plan.src.key, &entry.key);
    let dst_key = plan.dst.store.key(&format!("{}{name}", plan.dst.key))?;
    let changed = match plan.dst_sizes.get(name) {
        None => true,
        Some(&n) if n != entry.size => true,
        Some(_) => {
            let theirs = checksum(&*plan.dst.store, &dst_key).await?;
            let ours = checksum(&*plan.src.store, &entry.key).await?;
            theirs != ours
        }
    };
    if !changed {
        return Ok(Outcome::Unchanged);
    }
    let size = if plan.dry_run {
        entry.size
    } else {
        copy_verified(plan, &entry.key, entry.size, &dst_key).await?
    };
    Ok(Outcome::Copied {
        key: dst_key.into_string(),
        size,
    })
}

/// The `sha256` entry a previous sync stored, when it looks like one.
fn stored_checksum(meta: &BlobMeta) -> Option<String> {
    meta.metadata
        .get(SHA256_ENTRY)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|v| v.to_ascii_lowercase())
}

/// A blob's SHA-256: the stored entry, else read and hashed.
async fn checksum(store: &dyn BlobStore, key: &BlobKey) -> CliResult<String> {
    let meta = store.head(key).await?;
    if let Some(sum) = stored_checksum(&meta) {
        return Ok(sum);
    }
    let blob = store.get(key, GetOptions::new()).await?;
    Ok(hash_stream(blob.into_stream()).await?.1)
}

/// Reads a stream to its end: its length and SHA-256.
async fn hash_stream(mut body: ByteStream) -> CliResult<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = body.try_next().await? {
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((len, hex::encode(hasher.finalize())))
}

/// Copies one blob with its properties and the `sha256` entry, then reads
/// the copy back; returns the size copied. `listed_size` (from the listing)
/// picks the in-memory or the streamed path.
async fn copy_verified(
    plan: &Plan,
    src_key: &BlobKey,
    listed_size: u64,
    dst_key: &BlobKey,
) -> CliResult<u64> {
    let (src, dst) = (&*plan.src.store, &*plan.dst.store);
    let caps = dst.capabilities();
    let (body, meta, expected, streamed) = if listed_size <= BUFFER_LIMIT {
        let blob = src.get(src_key, GetOptions::new()).await?;
        let meta = blob.meta.clone();
        let bytes = blob.bytes().await?;
        let sum = hex::encode(Sha256::digest(&bytes));
        (Body::from(bytes), meta, sum, None)
    } else {
        let expected = match stored_checksum(&src.head(src_key).await?) {
            Some(sum) => sum,
            None => {
                let blob = src.get(src_key, GetOptions::new()).await?;
                hash_stream(blob.into_stream()).await?.1
            }
        };
        let blob = src.get(src_key, GetOptions::new()).await?;
        let meta = blob.meta.clone();
        let hasher = Arc::new(Mutex::new(Sha256::new()));
        let feed = Arc::clone(&hasher);
        let stream = blob.into_stream().inspect_ok(move |chunk| {
            if let Ok(mut h) = feed.lock() {
                h.update(chunk);
            }
        });
        let body = Body::from_stream(stream, Some(meta.size));
        (body, meta, expected, Some(hasher))
    };
    let mut opts = options_from_meta(&meta, &caps);
    if caps.user_metadata {
        opts.metadata.insert(SHA256_ENTRY.into(), expected.clone());
    }
    dst.put(dst_key, body, opts).await?;

    // The source may have changed between the checksum pass and the copy.
    let sent = match streamed {
        Some(hasher) => hasher
            .lock()
            .map(|h| hex::encode(h.clone().finalize()))
            .map_err(|_| CliError::failed("the checksum of a streamed copy was lost"))?,
        None => expected.clone(),
    };
    let copy = dst.get(dst_key, GetOptions::new()).await?;
    let (got_len, got) = hash_stream(copy.into_stream()).await?;
    if sent != expected || got != expected || got_len != meta.size {
        // Never leave a copy that claims a checksum it does not have.
        let _ = dst.delete(dst_key).await;
        return Err(CliError::failed(format!(
            "verification of `{}` failed (the source changed during the copy, or the \
             destination stored other bytes); the copy was removed, rerun to copy it again",
            dst_key.as_str()
        )));
    }
    Ok(meta.size)
}
