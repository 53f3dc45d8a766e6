//! The `BlobStore` trait: the small contract every provider implements.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, GetOptions, ListOptions, ListPage,
    Provider, PutOptions, Result, SignOptions, SignedRequest,
};

/// A blob store: Azure, Vercel, the local filesystem, memory, or your own.
///
/// Providers cannot implement this trait directly (it is sealed): they
/// implement the smaller [`Driver`](crate::driver::Driver), and the portable layer makes
/// every driver a `BlobStore` with validation, capability checks, error
/// tagging, tracing, deadlines and resumed downloads written once.
///
/// Every method takes an already validated [`BlobKey`], so key rules hold
/// before any I/O. Convenience calls (`put_bytes`, `get_bytes`, `exists`,
/// `list_all` …) live in [`BlobStoreExt`](crate::BlobStoreExt), written once
/// for every store.
///
/// The contract, checked by `storage-testkit`'s conformance suite:
/// - writes are all-or-nothing: a reader sees the old blob or the new one;
/// - `put`, `head` and `get` report the same [`BlobMeta`];
/// - `delete` of a missing blob succeeds;
/// - `list` is ascending by key bytes, paginated by an opaque cursor;
/// - an option the store cannot honour fails with `Unsupported`, it is never
///   silently dropped ([`Capabilities`] says which up front).
///
/// ```
/// use storage_core::{memory::MemoryStore, BlobKey, BlobStore, GetOptions, PutOptions};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let store = MemoryStore::new();
/// let key = BlobKey::new("greetings/hello.txt")?;
/// let meta = store.put(&key, "hello".into(), PutOptions::new()).await?;
/// assert_eq!(meta.content_type, "text/plain");
/// let blob = store.get(&key, GetOptions::new()).await?;
/// assert_eq!(blob.bytes().await?, "hello");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait BlobStore: sealed::Sealed + Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn provider(&self) -> Provider;

    /// What this backend can honour.
    fn capabilities(&self) -> Capabilities;

    /// Writes a blob, all or nothing.
    async fn put(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta>;

    /// Reads a blob (or a range of it) as a stream.
    async fn get(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob>;

    /// Reads a blob's properties.
    async fn head(&self, key: &BlobKey) -> Result<BlobMeta>;

    /// Deletes a blob; deleting a missing blob succeeds.
    async fn delete(&self, key: &BlobKey) -> Result<()>;

    /// Deletes many blobs, in batches where the provider has a batch call;
    /// missing blobs are not an error.
    async fn delete_many(&self, keys: &[BlobKey]) -> Result<()>;

    /// Lists one page of blobs (and folders, with a delimiter).
    async fn list(&self, opts: ListOptions) -> Result<ListPage>;

    /// Copies a blob with its properties within this store.
    async fn copy(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta>;

    /// A URL that lets a client without credentials do one thing to one blob.
    async fn signed_url(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest>;

    /// The escape hatch: the provider's own type (`AzureStore`,
    /// `VercelStore`, `LocalStore`, `MemoryStore` …), for what the portable
    /// API does not cover. Downcast it with
    /// [`downcast_ref`](std::any::Any::downcast_ref).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use storage_core::{memory::MemoryStore, BlobStore};
    /// let store: Arc<dyn BlobStore> = Arc::new(MemoryStore::new());
    /// assert!(store.native().downcast_ref::<MemoryStore>().is_some());
    /// ```
    fn native(&self) -> &dyn std::any::Any;
}

/// Keeps the validation and policies of the portable layer in front of
/// every store: only drivers (and shared handles to stores) are stores.
mod sealed {
    use std::sync::Arc;

    pub trait Sealed {}
    impl<D: crate::driver::Driver> Sealed for D {}
    impl<T: super::BlobStore + ?Sized> Sealed for Arc<T> {}
}

#[async_trait]
impl<T: BlobStore + ?Sized> BlobStore for Arc<T> {
    fn provider(&self) -> Provider {
        (**self).provider()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn put(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        (**self).put(key, body, opts).await
    }
    async fn get(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        (**self).get(key, opts).await
    }
    async fn head(&self, key: &BlobKey) -> Result<BlobMeta> {
        (**self).head(key).await
    }
    async fn delete(&self, key: &BlobKey) -> Result<()> {
        (**self).delete(key).await
    }
    async fn delete_many(&self, keys: &[BlobKey]) -> Result<()> {
        (**self).delete_many(keys).await
    }
    async fn list(&self, opts: ListOptions) -> Result<ListPage> {
        (**self).list(opts).await
    }
    async fn copy(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        (**self).copy(from, to, opts).await
    }
    async fn signed_url(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        (**self).signed_url(key, opts).await
    }
    fn native(&self) -> &dyn std::any::Any {
        (**self).native()
    }
}
