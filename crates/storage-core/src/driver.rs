//! The driver: the raw calls a provider implements. Everything else a store
//! does (option validation, capability checks, error tagging, tracing, the
//! deadline, resuming broken downloads, the convenience calls) is written
//! once, in the portable layer, for every driver.
//!
//! Implement [`Driver`] for a cheap, cloneable handle (an `Arc` inside) and
//! the type is a [`BlobStore`](crate::BlobStore) at once:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//! use std::time::SystemTime;
//! use storage_core::driver::Driver;
//! use storage_core::{
//!     async_trait, list::paginate, Blob, BlobKey, BlobMeta, BlobStoreExt, Body, Capabilities,
//!     CopyOptions, Error, ErrorKind, GetOptions, ListEntry, ListOptions, ListPage, Provider,
//!     PutOptions, Result, SignOptions, SignedRequest,
//! };
//!
//! /// A toy driver: whole blobs in a map, no ranges, no conditions.
//! #[derive(Debug, Clone, Default)]
//! struct Toy(Arc<Mutex<BTreeMap<BlobKey, (bytes::Bytes, BlobMeta)>>>);
//!
//! #[async_trait]
//! impl Driver for Toy {
//!     fn provider(&self) -> Provider { Provider::Memory }
//!     fn supports(&self) -> Capabilities {
//!         let mut caps = Capabilities::unsigned();
//!         caps.ranges = false;
//!         caps.put_create = false;
//!         caps.put_if_match = false;
//!         caps
//!     }
//!     async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
//!         let data = body.collect(1 << 20).await?;
//!         let meta = BlobMeta::new(key.clone(), data.len() as u64, "\"1\"", SystemTime::now(), opts.content_type_for(key));
//!         self.0.lock().unwrap().insert(key.clone(), (data, meta.clone()));
//!         Ok(meta)
//!     }
//!     async fn read_blob(&self, key: &BlobKey, _opts: GetOptions) -> Result<Blob> {
//!         let (data, meta) = self.0.lock().unwrap().get(key).cloned()
//!             .ok_or_else(|| Error::new(ErrorKind::NotFound, Provider::Memory))?;
//!         let range = 0..data.len() as u64;
//!         Ok(Blob::new(meta, range, Box::pin(futures::stream::iter([Ok(data)]))))
//!     }
//!     async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
//!         self.0.lock().unwrap().get(key).map(|(_, m)| m.clone())
//!             .ok_or_else(|| Error::new(ErrorKind::NotFound, Provider::Memory))
//!     }
//!     async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
//!         self.0.lock().unwrap().remove(key);
//!         Ok(())
//!     }
//!     async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
//!         let map = self.0.lock().unwrap();
//!         let entries = map.iter()
//!             .filter(|(k, _)| k.as_str().starts_with(opts.prefix_str()))
//!             .map(|(k, (_, m))| ListEntry::new(k.clone(), m.size, m.etag.clone(), m.last_modified));
//!         Ok(paginate(entries, &opts))
//!     }
//!     async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, _opts: CopyOptions) -> Result<BlobMeta> {
//!         let mut map = self.0.lock().unwrap();
//!         let (data, mut meta) = map.get(from).cloned()
//!             .ok_or_else(|| Error::new(ErrorKind::NotFound, Provider::Memory))?;
//!         meta.key = to.clone();
//!         map.insert(to.clone(), (data, meta.clone()));
//!         Ok(meta)
//!     }
//!     async fn sign_blob(&self, _key: &BlobKey, _opts: SignOptions) -> Result<SignedRequest> {
//!         unreachable!("the portable layer refuses signing: supports() says no")
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let store = Toy::default();
//! store.put_bytes("a.txt", "hi").await?;
//! assert_eq!(store.get_bytes("a.txt").await?, "hi");
//! // Validation and capability checks come from the portable layer:
//! let err = store.put_bytes_with("b", "x", PutOptions::new().mode(storage_core::PutMode::Create)).await.unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::Unsupported { op: "PutMode::Create" });
//! # Ok(()) }
//! ```
//!
//! # What a driver may assume, and what it must do
//!
//! - Keys are valid ([`BlobKey`] enforces the rules) and every option has
//!   passed its `validate()`.
//! - Nothing reaches a driver that [`Driver::supports`] says it cannot do:
//!   a put with user metadata when `user_metadata` is false, a `Create`
//!   without `put_create`, a ranged read without `ranges`, a signed URL of
//!   a method it does not sign. (Cache-control is the exception: a driver
//!   without `cache_control` may accept the values it can keep and refuse
//!   the rest.)
//! - Errors need not carry the provider or the key; the portable layer adds
//!   them. They must say what happened and what to do, with no secret.
//! - Requests on the wire go through [`RetryPolicy::run`] with the policy
//!   from [`Driver::retry_policy`], so that retries, backoff and per-attempt
//!   timeouts are the same on every provider. The portable layer bounds each
//!   operation by the policy's deadline and resumes broken downloads.
//! - A read honours [`GetOptions::if_match`] and
//!   [`GetOptions::if_none_match`] (`PreconditionFailed`, `NotModified`).

use std::any::Any;

use async_trait::async_trait;

use crate::retry::RetryPolicy;
use crate::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, GetOptions, ListOptions, ListPage,
    Provider, PutOptions, Result, SignOptions, SignedRequest,
};

/// The raw calls of one provider. See the [module docs](self).
#[async_trait]
pub trait Driver: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Which backend this is.
    fn provider(&self) -> Provider;

    /// What this backend can honour; the portable layer refuses the rest
    /// with `Unsupported` before any I/O.
    fn supports(&self) -> Capabilities;

    /// The retry and timeout policy of a network backend; `None` (the
    /// default) for a store without a network, which then has no deadline.
    fn retry_policy(&self) -> Option<&RetryPolicy> {
        None
    }

    /// Where requests go, for error messages: scheme, host and port, never
    /// a secret.
    fn endpoint(&self) -> String {
        self.provider().to_string()
    }

    /// The driver itself, for [`BlobStore::native`](crate::BlobStore::native).
    fn native(&self) -> &dyn Any {
        self
    }

    /// Writes a blob, all or nothing.
    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta>;

    /// Opens a read of a blob or of a range of it.
    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob>;

    /// Reads a blob's properties.
    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta>;

    /// Deletes a blob; a missing blob is not an error.
    async fn delete_blob(&self, key: &BlobKey) -> Result<()>;

    /// Deletes many blobs. The default deletes them one by one, eight at a
    /// time; drivers with a batch call (Vercel's `/delete`, Azure's Blob
    /// Batch) override it.
    async fn delete_blobs(&self, keys: &[BlobKey]) -> Result<()> {
        for batch in keys.chunks(8) {
            let deletes = batch.iter().map(|key| async move {
                self.delete_blob(key)
                    .await
                    .map_err(|e| e.with_key(key.as_str()))
            });
            futures::future::try_join_all(deletes).await?;
        }
        Ok(())
    }

    /// Lists one page.
    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage>;

    /// Copies a blob with its properties within this store.
    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta>;

    /// Signs one request on one blob.
    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest>;
}
