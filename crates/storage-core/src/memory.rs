//! The in-memory store: for tests, examples and `BLOB_STORAGE_PROVIDER=memory`.
//!
//! Everything lives in one process and is gone when the last clone of the
//! store is dropped. Clones share the same blobs. It implements the whole
//! contract except signed URLs (there is no server to sign for).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, StreamExt};

use crate::driver::Driver;
use crate::{
    list::paginate, Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, Error, ErrorKind,
    GetOptions, ListEntry, ListOptions, ListPage, Provider, PutMode, PutOptions, Result,
    SignOptions, SignedRequest,
};

/// Downloads are streamed in chunks of this size so callers exercise the
/// same streaming path they would against a network store.
const CHUNK: usize = 64 * 1024;

/// A [`BlobStore`](crate::BlobStore) held in memory.
///
/// ```
/// use storage_core::{memory::MemoryStore, BlobStoreExt};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let store = MemoryStore::new();
/// store.put_bytes("k", "v").await?;
/// let shared = store.clone();
/// assert_eq!(shared.get_bytes("k").await?, "v");
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    blobs: RwLock<BTreeMap<BlobKey, Stored>>,
    generation: AtomicU64,
}

#[derive(Clone)]
struct Stored {
    data: Bytes,
    meta: BlobMeta,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<BlobKey, Stored>> {
        // A panic while holding the lock cannot leave a half-written entry
        // (entries are replaced whole), so a poisoned map is still consistent.
        self.inner
            .blobs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<BlobKey, Stored>> {
        self.inner
            .blobs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_etag(&self) -> String {
        let n = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        format!("\"{n:016x}\"")
    }

    fn not_found(key: &BlobKey) -> Error {
        Error::new(ErrorKind::NotFound, Provider::Memory).with_key(key.as_str())
    }
}

/// Checks `mode` against what is stored under `key` now.
fn check_mode(mode: &PutMode, key: &BlobKey, current: Option<&Stored>) -> Result<()> {
    match (mode, current) {
        (PutMode::Overwrite, _) | (PutMode::Create, None) => Ok(()),
        (PutMode::Create, Some(_)) => Err(Error::new(ErrorKind::AlreadyExists, Provider::Memory)
            .with_key(key.as_str())
            .with_message("PutMode::Create refuses to replace an existing blob")),
        (PutMode::IfMatch(etag), Some(s)) if &s.meta.etag == etag => Ok(()),
        (PutMode::IfMatch(etag), _) => {
            Err(Error::new(ErrorKind::PreconditionFailed, Provider::Memory)
                .with_key(key.as_str())
                .with_message(format!("the blob's etag is not {etag}")))
        }
    }
}

#[async_trait]
impl Driver for MemoryStore {
    fn provider(&self) -> Provider {
        Provider::Memory
    }

    fn supports(&self) -> Capabilities {
        Capabilities::unsigned()
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let data = body.collect(u64::MAX).await?;
        let mut blobs = self.write();
        check_mode(&opts.mode, key, blobs.get(key))?;
        let meta = BlobMeta {
            key: key.clone(),
            size: data.len() as u64,
            etag: self.next_etag(),
            last_modified: SystemTime::now(),
            content_type: opts.content_type_for(key),
            cache_control: opts.cache_control,
            content_disposition: opts.content_disposition,
            metadata: opts.metadata,
        };
        blobs.insert(
            key.clone(),
            Stored {
                data,
                meta: meta.clone(),
            },
        );
        Ok(meta)
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let stored = self
            .read()
            .get(key)
            .cloned()
            .ok_or_else(|| Self::not_found(key))?;
        opts.check_conditions(&stored.meta.etag)?;
        let range = match opts.range {
            Some(r) => r.resolve(stored.meta.size)?,
            None => 0..stored.meta.size,
        };
        let data = stored.data.slice(range.start as usize..range.end as usize);
        let chunks: Vec<Result<Bytes>> = (0..data.len())
            .step_by(CHUNK)
            .map(|i| Ok(data.slice(i..(i + CHUNK).min(data.len()))))
            .collect();
        Ok(Blob::new(stored.meta, range, stream::iter(chunks).boxed()))
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        self.read()
            .get(key)
            .map(|s| s.meta.clone())
            .ok_or_else(|| Self::not_found(key))
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        self.write().remove(key);
        Ok(())
    }

    async fn delete_blobs(&self, keys: &[BlobKey]) -> Result<()> {
        let mut blobs = self.write();
        for key in keys {
            blobs.remove(key);
        }
        Ok(())
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        let blobs = self.read();
        let prefix = opts.prefix_str();
        let entries = blobs
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.as_str().starts_with(prefix))
            .map(|(k, s)| {
                ListEntry::new(
                    k.clone(),
                    s.meta.size,
                    s.meta.etag.clone(),
                    s.meta.last_modified,
                )
            });
        Ok(paginate(entries, &opts))
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        let mut blobs = self.write();
        let source = blobs
            .get(from)
            .cloned()
            .ok_or_else(|| Self::not_found(from))?;
        check_mode(&opts.mode, to, blobs.get(to))?;
        let mut meta = source.meta;
        meta.key = to.clone();
        meta.etag = self.next_etag();
        meta.last_modified = SystemTime::now();
        blobs.insert(
            to.clone(),
            Stored {
                data: source.data,
                meta: meta.clone(),
            },
        );
        Ok(meta)
    }

    async fn sign_blob(&self, _key: &BlobKey, _opts: SignOptions) -> Result<SignedRequest> {
        Err(Error::unsupported(Provider::Memory, "signed_url").with_message(
            "the memory store has no HTTP endpoint; use the local provider for signed URLs in development",
        ))
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("blobs", &self.read().len())
            .finish()
    }
}
