//! Convenience calls written once on top of [`BlobStore`], for every store.
//!
//! They take keys as strings and validate them, tagging a bad key with the
//! store's provider, so `store.put_bytes("../x", …)` fails with `InvalidKey`
//! before any I/O.
//!
//! Naming: the string-key twin of a [`BlobStore`] method is that method's
//! name plus `_key` (`head_key`, `delete_key`, `copy_key`, `sign_key`). The
//! twins cannot share the trait methods' names: with both traits in scope,
//! `store.head("a")` would be ambiguous between the two traits and fail to
//! compile.

use std::future::Future;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::{
    BlobKey, BlobMeta, BlobStore, Body, ByteRange, CopyOptions, Error, ErrorKind, GetOptions,
    ListEntry, ListOptions, PutOptions, Result, SignOptions, SignedRequest,
};

/// How many keys [`BlobStoreExt::delete_prefix`] hands to one `delete_many`
/// call: Vercel's batch limit, and a bound on the keys held in memory.
const DELETE_BATCH: usize = 1000;

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

    /// The blob's properties ([`BlobStore::head`] by string key).
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStoreExt};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put_bytes("a.txt", "hello").await?;
    /// assert_eq!(store.head_key("a.txt").await?.size, 5);
    /// assert!(store.head_key("missing.txt").await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// ```
    fn head_key<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        async move { self.head(&self.key(key)?).await }
    }

    /// Deletes the blob ([`BlobStore::delete`] by string key); deleting a
    /// missing blob succeeds.
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStoreExt};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put_bytes("a.txt", "hello").await?;
    /// store.delete_key("a.txt").await?;
    /// store.delete_key("a.txt").await?; // idempotent
    /// assert!(!store.exists("a.txt").await?);
    /// # Ok(()) }
    /// ```
    fn delete_key<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<()>> + Send + 'a {
        async move { self.delete(&self.key(key)?).await }
    }

    /// Copies `from` to `to` within this store, with its properties, on the
    /// server where the provider can ([`BlobStore::copy`] by string keys,
    /// overwriting `to`).
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStoreExt, PutOptions};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put_bytes_with("a.txt", "hello", PutOptions::new().metadata("owner", "42")).await?;
    /// let copy = store.copy_key("a.txt", "b.txt").await?;
    /// assert_eq!(copy.metadata.get("owner").map(String::as_str), Some("42"));
    /// assert_eq!(store.get_bytes("b.txt").await?, "hello");
    /// # Ok(()) }
    /// ```
    fn copy_key<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> impl Future<Output = Result<BlobMeta>> + Send + 'a {
        async move {
            let (from, to) = (self.key(from)?, self.key(to)?);
            self.copy(&from, &to, CopyOptions::new()).await
        }
    }

    /// A signed request for one blob ([`BlobStore::signed_url`] by string
    /// key): what a browser sends to get or put it without credentials.
    ///
    /// ```
    /// use std::time::Duration;
    /// use storage_core::{memory::MemoryStore, BlobStoreExt, ErrorKind, SignMethod, SignOptions};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let store = MemoryStore::new();
    /// let opts = SignOptions::new(SignMethod::Put).expires_in(Duration::from_secs(600));
    /// // The memory store has no URLs to sign; a real store answers a SignedRequest.
    /// let err = store.sign_key("uploads/a.webm", opts).await.unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Unsupported { .. }));
    /// # }
    /// ```
    fn sign_key<'a>(
        &'a self,
        key: &'a str,
        opts: SignOptions,
    ) -> impl Future<Output = Result<SignedRequest>> + Send + 'a {
        async move { self.signed_url(&self.key(key)?, opts).await }
    }

    /// Reads `range` of the blob into memory (`start..end`, end exclusive;
    /// an end past the blob is clamped, see [`ByteRange`]).
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStoreExt, ByteRange};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put_bytes("a.txt", "hello world").await?;
    /// assert_eq!(store.get_range_bytes("a.txt", 6..11).await?, "world");
    /// assert_eq!(store.get_range_bytes("a.txt", ByteRange::Suffix(3)).await?, "rld");
    /// # Ok(()) }
    /// ```
    fn get_range_bytes<'a>(
        &'a self,
        key: &'a str,
        range: impl Into<ByteRange>,
    ) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        let opts = GetOptions::new().range(range);
        async move { self.get(&self.key(key)?, opts).await?.bytes().await }
    }

    /// Deletes every blob whose key starts with `prefix` and says how many
    /// it deleted. It lists page by page and hands each batch of up to
    /// 1,000 keys to [`BlobStore::delete_many`] (one request per batch where
    /// the provider has a batch call), so memory stays bounded for any
    /// number of blobs.
    ///
    /// The prefix is a plain string prefix, not a folder: `"a/b"` also
    /// deletes `a/bc.txt`; end it with `/` to delete one folder. An empty
    /// prefix deletes everything in the store. Blobs written under the
    /// prefix while it runs may survive.
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStoreExt};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// for key in ["tmp/1", "tmp/2/a", "tmpfile", "keep/1"] {
    ///     store.put_bytes(key, "x").await?;
    /// }
    /// assert_eq!(store.delete_prefix("tmp/").await?, 2);
    /// assert!(store.exists("tmpfile").await? && store.exists("keep/1").await?);
    /// # Ok(()) }
    /// ```
    fn delete_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        async move {
            crate::validate_prefix(prefix).map_err(|e| e.with_provider(self.provider()))?;
            let mut batches = self
                .list_all(ListOptions::new().prefix(prefix))
                .map_ok(|entry| entry.key)
                .try_chunks(DELETE_BATCH)
                .map_err(|e| e.1);
            let mut deleted = 0;
            while let Some(keys) = batches.try_next().await? {
                self.delete_many(&keys).await?;
                deleted += keys.len() as u64;
            }
            Ok(deleted)
        }
    }

    /// Every blob matching `opts` (its delimiter is ignored), following
    /// cursors page by page. The stream borrows the store; to return it from
    /// a handler (a streamed response body) or move it into a task, use
    /// [`list_stream`], which owns an `Arc` of the store instead.
    fn list_all(&self, opts: ListOptions) -> BoxStream<'_, Result<ListEntry>> {
        pages(self, opts)
    }
}

impl<T: BlobStore + ?Sized> BlobStoreExt for T {}

/// [`BlobStoreExt::list_all`] that owns its store: a `'static` stream of
/// every blob matching `opts` (its delimiter is ignored), for an axum
/// streaming response (`Body::from_stream`) or a spawned task.
///
/// ```
/// use std::sync::Arc;
/// use futures::TryStreamExt;
/// use storage_core::{list_stream, memory::MemoryStore, BlobStore, BlobStoreExt, ListOptions};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let store: Arc<dyn BlobStore> = Arc::new(MemoryStore::new());
/// store.put_bytes("a/1", "one").await?;
/// let entries = list_stream(store.clone(), ListOptions::new().prefix("a/"));
/// let keys: Vec<String> = tokio::spawn(async move {
///     entries.map_ok(|e| e.key.into_string()).try_collect().await
/// })
/// .await
/// .expect("the task ran")?;
/// assert_eq!(keys, ["a/1"]);
/// # Ok(()) }
/// ```
pub fn list_stream<S>(store: Arc<S>, opts: ListOptions) -> BoxStream<'static, Result<ListEntry>>
where
    S: BlobStore + ?Sized + 'static,
{
    pages(store, opts)
}

/// Lists page by page through `store`, a reference or an `Arc`, so the
/// borrowed and the owned stream share one implementation.
fn pages<'a, S>(store: S, opts: ListOptions) -> BoxStream<'a, Result<ListEntry>>
where
    S: Deref + Clone + Send + Sync + 'a,
    S::Target: BlobStore,
{
    let first = opts.delimiter(false);
    stream::try_unfold(Some(first), move |next| {
        let store = store.clone();
        async move {
            let Some(opts) = next else {
                return Ok(None);
            };
            let page = store.list(opts.clone()).await?;
            let next = page.cursor.map(|c| opts.cursor(c));
            Ok(Some((stream::iter(page.entries.into_iter().map(Ok)), next)))
        }
    })
    .map(|page: Result<_>| match page {
        Ok(entries) => entries.left_stream(),
        Err(e) => stream::once(async move { Err(e) }).right_stream(),
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    /// More keys than one batch and one listing page, so deleting while the
    /// listing goes on must not skip the blobs of later pages.
    #[tokio::test]
    async fn delete_prefix_deletes_across_pages_and_batches() {
        let store = MemoryStore::new();
        for i in 0..2_345 {
            store
                .put_bytes(&format!("tmp/{i:05}"), "x")
                .await
                .expect("put");
        }
        store.put_bytes("tmq", "keep").await.expect("put");
        assert_eq!(store.delete_prefix("tmp/").await.expect("delete"), 2_345);
        let left: Vec<_> = store
            .list_all(ListOptions::new())
            .map_ok(|e| e.key.into_string())
            .try_collect()
            .await
            .expect("list");
        assert_eq!(left, ["tmq"]);
    }

    #[tokio::test]
    async fn delete_prefix_refuses_a_malformed_prefix() {
        let err = MemoryStore::new()
            .delete_prefix("/abs")
            .await
            .expect_err("leading slash");
        assert_eq!(err.kind(), &ErrorKind::InvalidKey);
    }

    /// The owned stream outlives the handle it was made from, in another task.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_stream_runs_in_a_spawned_task_after_the_caller_drops_its_store() {
        let store: Arc<dyn BlobStore> = Arc::new(MemoryStore::new());
        for i in 0..1_500 {
            store
                .put_bytes(&format!("r/{i:04}"), "x")
                .await
                .expect("put");
        }
        let entries = list_stream(store, ListOptions::new().prefix("r/"));
        let count = tokio::spawn(async move { entries.try_collect::<Vec<_>>().await })
            .await
            .expect("task")
            .expect("list")
            .len();
        assert_eq!(count, 1_500);
    }
}
