//! Moving bytes: uploads from files or stdin, downloads to files (atomic)
//! or stdout, and blob-to-blob copies across stores, each streamed (never
//! the whole blob in memory) and counted on a progress bar.

use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use storage::{
    BlobMeta, BlobStore, BlobStoreExt, Body, ByteStream, Capabilities, GetOptions, PutOptions,
};
use tokio::io::AsyncWriteExt;

use crate::exit::{CliError, CliResult};
use crate::progress::Progress;

/// Counts each chunk of `stream` on `bar`.
pub fn counted(stream: ByteStream, bar: ProgressBar) -> ByteStream {
    stream
        .inspect_ok(move |chunk| bar.inc(chunk.len() as u64))
        .boxed()
}

/// The content type registered for a local file's extension, if any.
pub fn guess_content_type(path: &Path) -> Option<String> {
    mime_guess::from_path(path).first_raw().map(str::to_string)
}

/// The options that carry `meta`'s properties to a store with `caps`:
/// content type always, the rest only where the destination keeps them
/// (asking a store for what it cannot keep fails by contract).
pub fn options_from_meta(meta: &BlobMeta, caps: &Capabilities) -> PutOptions {
    let mut opts = PutOptions::new().content_type(meta.content_type.clone());
    if caps.cache_control {
        opts.cache_control = meta.cache_control.clone();
    }
    if caps.content_disposition {
        opts.content_disposition = meta.content_disposition.clone();
    }
    if caps.user_metadata {
        opts.metadata = meta.metadata.clone();
    }
    opts
}

/// Uploads the file at `path` (or stdin when `None`) to `key`.
pub async fn upload(
    store: &dyn BlobStore,
    key: &str,
    path: Option<&Path>,
    opts: PutOptions,
    progress: Progress,
) -> CliResult<BlobMeta> {
    let key = store.key(key)?;
    let body = match path {
        Some(path) => Body::from_file(path).await?,
        None => Body::from_reader(tokio::io::stdin(), None),
    };
    let len = body.len();
    let bar = progress.bytes(len, &format!("put {}", key.as_str()));
    let body = Body::from_stream(counted(body.into_stream(), bar.clone()), len);
    let meta = store.put(&key, body, opts).await;
    bar.finish_and_clear();
    Ok(meta?)
}

/// Downloads `key` into the file at `path` (atomically: a temporary file
/// beside it is renamed when whole), or to stdout when `None`.
pub async fn download(
    store: &dyn BlobStore,
    key: &str,
    path: Option<&Path>,
    progress: Progress,
) -> CliResult<BlobMeta> {
    let blob = store.get(&store.key(key)?, GetOptions::new()).await?;
    let meta = blob.meta.clone();
    let bar = progress.bytes(Some(meta.size), &format!("get {key}"));
    let stream = counted(blob.into_stream(), bar.clone());
    let result = match path {
        Some(path) => write_file_atomically(stream, path).await,
        None => write_stdout(stream).await,
    };
    bar.finish_and_clear();
    result.map(|()| meta)
}

async fn write_stdout(mut stream: ByteStream) -> CliResult {
    let mut out = tokio::io::stdout();
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk?)
            .await
            .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))?;
    }
    out.flush()
        .await
        .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))
}

async fn write_file_atomically(mut stream: ByteStream, path: &Path) -> CliResult {
    let local =
        |e: std::io::Error| CliError::failed(format!("cannot write `{}`: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("download");
    let tmp = dir.join(format!(".{name}.blobctl-{:016x}", fastrand::u64(..)));
    let result = async {
        let mut file = tokio::fs::File::create(&tmp).await.map_err(local)?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await.map_err(local)?;
        }
        file.sync_all().await.map_err(local)?;
        tokio::fs::rename(&tmp, path).await.map_err(local)
    }
    .await;
    if result.is_err() {
        // A failed download leaves nothing behind, not a truncated file.
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

/// Copies `from_key` of `from` to `to_key` of `to`, streamed, keeping the
/// properties `to` can keep.
pub async fn copy_blob(
    from: &dyn BlobStore,
    from_key: &str,
    to: &dyn BlobStore,
    to_key: &str,
    progress: Progress,
) -> CliResult<BlobMeta> {
    let to_key = to.key(to_key)?;
    let blob = from.get(&from.key(from_key)?, GetOptions::new()).await?;
    let opts = options_from_meta(&blob.meta, &to.capabilities());
    let len = blob.meta.size;
    let bar = progress.bytes(Some(len), &format!("cp {from_key}"));
    let body = Body::from_stream(counted(blob.into_stream(), bar.clone()), Some(len));
    let meta = to.put(&to_key, body, opts).await;
    bar.finish_and_clear();
    Ok(meta?)
}
