//! One blob storage API for Azure Blob, Amazon S3, Google Cloud Storage,
//! Vercel Blob, local disk and memory, with the provider picked at run time
//! by `BLOB_STORAGE_PROVIDER`.
//!
//! Call [`from_env`] once at start-up and share the `Arc<dyn BlobStore>`:
//!
//! ```
//! use storage::{BlobStoreExt, ListOptions};
//! use futures::TryStreamExt;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # std::env::set_var("LOCAL_STORAGE_PATH", dir.path());
//! let store = storage::from_env()?; // local disk under ./.blobs when nothing is set
//! store.put_bytes("recordings/hello.txt", "hello").await?;
//! assert_eq!(store.get_bytes("recordings/hello.txt").await?, "hello");
//! let all: Vec<_> = store.list_all(ListOptions::new().prefix("recordings/")).try_collect().await?;
//! assert_eq!(all.len(), 1);
//! # Ok(()) }
//! ```
//!
//! | `BLOB_STORAGE_PROVIDER` | store | its variables |
//! |---|---|---|
//! | `local` (or unset) | files under a directory | `LOCAL_STORAGE_PATH` (default `./.blobs`) |
//! | `memory` | process memory | none |
//! | `azure` | Azure Blob Storage, Azurite | `AZURE_STORAGE_CONNECTION_STRING`, or `AZURE_STORAGE_ACCOUNT_NAME` + `AZURE_STORAGE_ACCOUNT_KEY` (else the managed-identity chain), `AZURE_STORAGE_CONTAINER_NAME`, `AZURE_STORAGE_USE_EMULATOR`, `AZURITE_BLOB_STORAGE_URL` |
//! | `s3` | Amazon S3, R2, MinIO, an emulator | `S3_BUCKET`, `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`; else the default credential chain), `AWS_ENDPOINT_URL`, `S3_FORCE_PATH_STYLE` |
//! | `gcs` | Google Cloud Storage, an emulator | `GCS_BUCKET`, `GOOGLE_APPLICATION_CREDENTIALS` or `GOOGLE_SERVICE_ACCOUNT_KEY` (else the metadata server), `STORAGE_EMULATOR_HOST` / `GCS_ENDPOINT_URL` |
//! | `vercel` | Vercel Blob, the emulator | `BLOB_READ_WRITE_TOKEN`, `VERCEL_BLOB_API_URL`, `BLOB_STORAGE_ACCESS`, `VERCEL_BLOB_HOST_URL` |
//!
//! A missing or malformed variable fails here, naming the variable, never
//! later at the first request.

mod config;
mod url;

use std::sync::Arc;

pub use config::{StorageConfig, PROVIDER_VAR};
pub use storage_core::*;
pub use url::open;

#[cfg(feature = "local")]
pub use storage_local as local;

#[cfg(feature = "azure")]
pub use storage_azure as azure;

#[cfg(feature = "s3")]
pub use storage_s3 as s3;

#[cfg(feature = "gcs")]
pub use storage_gcs as gcs;

#[cfg(feature = "vercel")]
pub use storage_vercel as vercel;

/// Builds the store that the environment describes.
///
/// # Errors
/// `InvalidConfig { var }` naming the variable that is missing or malformed,
/// with what to set it to.
pub fn from_env() -> Result<Arc<dyn BlobStore>> {
    from_config(StorageConfig::from_env()?)
}

/// The router that serves the local store's signed URLs, when the
/// environment selects the local provider; `None` for providers whose URLs
/// point at the cloud. Mount it where `LOCAL_STORAGE_BASE_URL` points
/// (`/blobs` by default). It shares the files and the signing key of the
/// store [`from_env`] returns.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # std::env::set_var("LOCAL_STORAGE_PATH", dir.path());
/// let mut app = axum::Router::new();
/// if let Some(blobs) = storage::local_router_from_env()? {
///     app = app.nest("/blobs", blobs);
/// }
/// # Ok::<(), storage::Error>(())
/// ```
#[cfg(feature = "local")]
pub fn local_router_from_env() -> Result<Option<axum::Router>> {
    match StorageConfig::from_env()? {
        StorageConfig::Local(config) => {
            let store = storage_local::LocalStore::new(config)?;
            Ok(Some(storage_local::http::router(store)))
        }
        _ => Ok(None),
    }
}

/// Builds the store that `config` describes, for apps that configure in code.
///
/// ```
/// use storage::{BlobStoreExt, StorageConfig};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage::Result<()> {
/// let store = storage::from_config(StorageConfig::Memory)?;
/// store.put_bytes("a", "b").await?;
/// assert_eq!(store.provider(), storage::Provider::Memory);
/// # Ok(()) }
/// ```
pub fn from_config(config: StorageConfig) -> Result<Arc<dyn BlobStore>> {
    Ok(match config {
        #[cfg(feature = "local")]
        StorageConfig::Local(local) => Arc::new(storage_local::LocalStore::new(local)?),
        StorageConfig::Memory => Arc::new(memory::MemoryStore::new()),
        #[cfg(feature = "azure")]
        StorageConfig::Azure(azure) => Arc::new(storage_azure::AzureStore::new(azure)?),
        #[cfg(feature = "s3")]
        StorageConfig::S3(s3) => Arc::new(storage_s3::S3Store::new(s3)?),
        #[cfg(feature = "gcs")]
        StorageConfig::Gcs(gcs) => Arc::new(storage_gcs::GcsStore::new(gcs)?),
        #[cfg(feature = "vercel")]
        StorageConfig::Vercel(vercel) => Arc::new(storage_vercel::VercelStore::new(vercel)?),
    })
}

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
