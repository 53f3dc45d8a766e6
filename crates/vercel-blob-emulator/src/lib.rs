//! A local emulator of the Vercel Blob service, faithful to the wire protocol
//! spoken by the official `@vercel/blob` SDK (2.8, and 0.27 for apps still
//! pinned to it).
//!
//! # One listener, two roles
//!
//! A running emulator listens on one loopback address, `http://<addr>`, and
//! serves both halves of the service from it:
//!
//! * **The API** at `http://<addr>` (export it as `VERCEL_BLOB_API_URL`).
//!   `/api/blob` is accepted as a prefix too, so a base URL shaped like
//!   production's `https://vercel.com/api/blob` works.
//! * **The blob host** at `http://<addr>/_blob/<public|private>/<pathname>`.
//!   Every `url` / `downloadUrl` the API returns has this form, so clients can
//!   fetch what they uploaded without any DNS or TLS tricks. Requests whose
//!   `Host` header is the production blob host
//!   (`<storeId>.<public|private>.blob.vercel-storage.com`) are served as
//!   blob reads too, with the path as the pathname: the SDK's `get()` always
//!   targets that host, and tests redirect its connection here.
//!
//! Wherever the API accepts a blob URL (`head`, `del`, `copy`, `rename`) it
//! accepts a pathname, an emulator URL or a production-style URL alike.
//!
//! # API versions
//!
//! Every SDK call sends `x-api-version` (`9` from `@vercel/blob` 0.27, `10`
//! from 1.0, `12` from 2.8). The version decides what a write gets when it
//! does not say: below 10, a put, copy, rename, multipart upload or client
//! token upload without `x-add-random-suffix` gets a random suffix, and one
//! without `x-allow-overwrite` may replace an existing blob; from 10 on, both
//! are off and writing an existing pathname is refused with `bad_request`.
//! Explicit headers, and the settings a client token or presigned URL
//! carries, always win over these defaults. A request without the header is
//! treated as version 12, the newest the emulator speaks, because the service
//! documents only the newest defaults; a value that is not a non-negative
//! integer is answered `400 {"error":{"code":"bad_request",...}}` on every
//! API route.
//!
//! # Credentials
//!
//! The read-write token (`vercel_blob_rw_<storeId>_<secret>`) grants
//! everything. Client tokens signed with it may upload what their payload
//! allows; presigned URLs built from `POST /signed-token` grants may do the
//! operation they were signed for. Private blobs are read with the read-write
//! token as a bearer token or through a presigned URL. Anything else is
//! answered `403 {"error":{"code":"forbidden",...}}`. Tokens are held in
//! [`Secret`], whose `Debug` output is redacted, and are never logged.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), vercel_blob_emulator::StartError> {
//! use vercel_blob_emulator::{Emulator, StorageConfig};
//! let emulator = Emulator::builder()
//!     .token("vercel_blob_rw_mystore_secret")
//!     .storage(StorageConfig::InMemory)
//!     .start()
//!     .await?;
//! println!("VERCEL_BLOB_API_URL={}", emulator.api_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod api_version;
mod auth;
mod blob_host;
mod callback;
pub mod client_token;
mod error;
mod multipart;
pub mod pathname;
mod presign;
mod query;
mod secret;
mod server;
mod state;
mod storage;
mod write;

pub use blob_host::{parse_range, RangeRequest};
pub use error::{ApiError, ApiResult};
pub use multipart::MINIMUM_PART_SIZE;
pub use secret::Secret;
pub use server::{
    store_id_of, Emulator, EmulatorBuilder, RunningEmulator, StartError, DEFAULT_MAX_BODY_SIZE,
};
pub use storage::StorageConfig;
