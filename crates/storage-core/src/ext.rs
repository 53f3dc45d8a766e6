//! Convenience calls written once on top of [`BlobStore`], for every store.
//!
//! They take keys as strings and validate them, tagging a bad key with the
//! store's provider, so `store.put_bytes("../x", …)` fails with `InvalidKey`
//! before any I/O.

use std::future::Future;
use std::path::Path;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use crate::{
    BlobKey, BlobMeta, BlobStore, Body, Error, ErrorKind, GetOptions, ListEntry, ListOptions,
    PutOptions, Result,
};

/// Extra calls on any [`BlobStore`], including `dyn BlobStore` and `Arc`s.
///
/// ```
/// use futures::TryStreamExt;
/// use storage_core::{memory::MemoryStore, BlobStoreExt, ListOptions};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let store = MemoryStore::new();
/// store.put_bytes("a/1.txt", "one").await?;
/// store.put_bytes("a/2.txt", "two").await?;
/// assert_eq!(store.get_bytes("a/2.txt").await?, "two");
/// assert!(store.exists("a/1.txt").await?);
/// let all: Vec<_> = store.list_all(ListOptions::new().prefix("a/")).try_collect().await?;
/// assert_eq!(all.len(), 2);
/// # Ok(()) }
/// ```
pub trait BlobStoreExt: BlobStore {
    /// Parses `key`, tagging errors with this store's provider.
    fn key(&self, key: &str) -> Result<BlobKey> {
        BlobKey::new(key).map_err(|e| e.with_provider(self.provider()))
    }

    /// Stores `bytes` under `key` with default options.
    fn put_bytes<'a>(
        &'a self,
        key: &'a str,
        bytes: impl Into<Bytes>,
    ) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        self.put_bytes_with(key, bytes, PutOptions::new())
    }

    /// Stores `bytes` under `key` with `opts`.
    fn put_bytes_with<'a>(
        &'a self,
        key: &'a str,
        bytes: impl Into<Bytes>,
        opts: PutOptions,
    ) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        let body = Body::from(bytes.into());
        async move { self.put(&self.key(key)?, body, opts).await }
    }

    /// Streams the file at `path` into `key`.
    fn put_file<'a>(
        &'a self,
        key: &'a str,
        path: &'a Path,
        opts: PutOptions,
    ) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        async move {
            let key = self.key(key)?;
            let body = Body::from_file(path)
                .await
                .map_err(|e| e.with_provider(self.provider()))?;
            self.put(&key, body, opts).await
        }
    }

    /// Reads the whole blob into memory.
    fn get_bytes<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        async move {
            self.get(&self.key(key)?, GetOptions::new())
                .await?
                .bytes()
                .await
        }
    }

    /// Streams the blob into a file at `path`, atomically: the file appears
    /// whole (a temporary file beside it is renamed) or not at all.
    fn get_to_file<'a>(
        &'a self,
        key: &'a str,
        path: &'a Path,
    ) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        async move {
            use tokio::io::AsyncWriteExt;
            let blob = self.get(&self.key(key)?, GetOptions::new()).await?;
            let meta = blob.meta.clone();
            let provider = self.provider();
            let local = |e: std::io::Error| {
                Error::new(ErrorKind::InvalidInput, provider)
                    .with_message(format!("cannot write `{}`: {e}", path.display()))
            };
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let tmp = dir.unwrap_or(Path::new(".")).join(format!(
                ".{}.part-{:016x}",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("download"),
                fastrand::u64(..)
            ));
            let result = async {
                let mut file = tokio::fs::File::create(&tmp).await.map_err(local)?;
                let mut body = blob.into_stream();
                while let Some(chunk) = body.next().await {
                    file.write_all(&chunk?).await.map_err(local)?;
                }
                file.sync_all().await.map_err(local)?;
                tokio::fs::rename(&tmp, path).await.map_err(local)
            }
            .await;
            if result.is_err() {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            result.map(|()| meta)
        }
    }

    /// Whether a blob exists under `key`.
    fn exists<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<bool>> + Send + 'a {
        async move {
            match self.head(&self.key(key)?).await {
                Ok(_) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            }
        }
    }

    /// Every blob matching `opts` (its delimiter is ignored), following
    /// cursors page by page.
    fn list_all(&self, opts: ListOptions) -> BoxStream<'_, Result<ListEntry>> {
        let first = opts.delimiter(false);
        stream::try_unfold(Some(first), move |next| async move {
            let Some(opts) = next else {
                return Ok(None);
            };
            let page = self.list(opts.clone()).await?;
            let next = page.cursor.map(|c| opts.cursor(c));
            Ok(Some((stream::iter(page.entries.into_iter().map(Ok)), next)))
        })
        .map(|page: Result<_>| match page {
            Ok(entries) => entries.left_stream(),
            Err(e) => stream::once(async move { Err(e) }).right_stream(),
        })
        .flatten()
        .boxed()
    }
}

impl<T: BlobStore + ?Sized> BlobStoreExt for T {}
