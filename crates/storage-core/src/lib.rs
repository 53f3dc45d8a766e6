//! The contract of the blob storage library: the [`BlobStore`] trait, its
//! option and result types, the one [`Error`] type, the key rules, the
//! convenience calls in [`BlobStoreExt`], secret redaction, and the
//! in-memory adapter.
//!
//! Adapters (Azure, Vercel, local disk, or your own) implement [`BlobStore`];
//! applications usually get one from the `storage` crate's `from_env()`.
//!
//! ```
//! use storage_core::{memory::MemoryStore, BlobStore, BlobStoreExt, PutOptions, Provider};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let store = MemoryStore::new();
//! let meta = store
//!     .put_bytes_with("receipts/2024/0001.pdf", vec![0x25, 0x50], PutOptions::new().metadata("user_id", "42"))
//!     .await?;
//! assert_eq!(meta.content_type, "application/pdf");
//! assert_eq!(store.provider(), Provider::Memory);
//! # Ok(()) }
//! ```

mod body;
mod capabilities;
mod copy;
pub mod driver;
mod error;
mod ext;
mod get;
mod key;
pub mod list;
pub mod memory;
mod meta;
mod portable;
mod provider;
mod put;
pub mod redact;
mod resume;
pub mod retry;
mod sign;
mod store;

pub use body::{Body, ByteStream};
pub use capabilities::Capabilities;
pub use copy::CopyOptions;
pub use error::{Error, ErrorKind, Result};
pub use ext::{list_stream, BlobStoreExt};
pub use get::{Blob, ByteRange, GetOptions};
pub use key::{validate_prefix, BlobKey, MAX_KEY_BYTES};
pub use list::{ListEntry, ListOptions, ListPage, MAX_PAGE_SIZE};
pub use meta::BlobMeta;
pub use provider::Provider;
pub use put::{infer_content_type, PutMode, PutOptions, MAX_METADATA_BYTES};
pub use sign::{SignMethod, SignOptions, SignedRequest, DEFAULT_SIGN_EXPIRY, MAX_SIGN_EXPIRY};
pub use store::BlobStore;

pub use async_trait::async_trait;
pub use bytes::Bytes;
