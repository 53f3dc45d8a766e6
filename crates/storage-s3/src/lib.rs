//! Amazon S3, and the S3-compatible stores (Cloudflare R2, MinIO,
//! emulators), for the [`BlobStore`](storage_core::BlobStore) contract, on
//! `object_store::aws`.
//!
//! - Configure with [`S3Config::from_env`] (see [`config`] for the
//!   variables: the ones AWS users already have) or
//!   [`S3Config::from_lookup`]; bad settings fail there, naming the
//!   variable. Without a key pair, object_store's credential chain (web
//!   identity, container credentials, instance metadata) signs.
//! - Every request, object_store's and the adapter's own, goes through the
//!   workspace's HTTP client under the one retry and timeout policy
//!   ([`storage_object_store::PolicyHttp`]); conditional writes are never
//!   replayed.
//! - Uploads stream: a body larger than one part (8 MiB by default) goes up
//!   as a multipart upload, a few parts at a time, completed only at the
//!   end; a failing body aborts it, so nothing becomes visible. S3 keeps
//!   the parts of an upload that could not be aborted until a lifecycle
//!   rule (`AbortIncompleteMultipartUpload`) removes them.
//! - `PutMode::Create` / `IfMatch` are S3's conditional writes
//!   (`If-None-Match: *`, `If-Match`) on the request that makes the object
//!   visible, at any size; a conditional `copy` is a multipart copy
//!   completed with the condition (see the `copy` notes). S3 has supported
//!   them since 2024; for a service that ignores them (older MinIO, some
//!   S3-compatible stores) set `S3_CONDITIONAL_WRITES=false`, and they are
//!   refused as `Unsupported` before any request instead of overwriting.
//! - Etags are S3's (an MD5 of the content for single-part objects), so a
//!   rewrite of the same bytes keeps its etag (`etag_per_write` is false).
//! - Signed URLs are SigV4 presigned URLs: at most 7 days (and no longer
//!   than the session of temporary credentials), content type and
//!   content-disposition bound on uploads, no size bound (a presigned
//!   `PUT` cannot carry one).
//! - The secret key and the session token never appear in `Debug`,
//!   `Display` or errors.
//!
//! ```no_run
//! use storage_core::BlobStoreExt;
//! use storage_s3::{S3Config, S3Store};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let store = S3Store::new(S3Config::from_env()?)?;
//! store.put_bytes("recordings/a.webm", vec![1, 2, 3]).await?;
//! assert_eq!(store.get_bytes("recordings/a.webm").await?.len(), 3);
//! # Ok(()) }
//! ```

mod client;
pub mod config;
mod copy;
mod error;
mod list;
mod read;
mod rest;
mod sign;
mod upload;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::aws::AmazonS3;
use object_store::client::HttpClient;
use object_store::ObjectStoreExt;
use storage_core::driver::Driver;
use storage_core::retry::RetryPolicy;
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, Error, ErrorKind, GetOptions,
    ListOptions, ListPage, Provider, PutOptions, Result, SignOptions, SignedRequest,
};
use storage_object_store::map_error;

pub use config::{S3Config, S3Credentials};

use crate::rest::Rest;
use crate::upload::Tuning;

/// A [`BlobStore`](storage_core::BlobStore) on one S3 bucket.
///
/// Cloning is cheap; clones share the HTTP connection pool.
///
/// ```
/// use storage_core::{BlobStore, Provider};
/// use storage_s3::{S3Config, S3Store};
/// let config = S3Config::from_lookup(|var| match var {
///     "S3_BUCKET" => Some("recordings".into()),
///     "AWS_ACCESS_KEY_ID" => Some("AKIAEXAMPLE".into()),
///     "AWS_SECRET_ACCESS_KEY" => Some("not-a-real-secret".into()),
///     _ => None,
/// })?;
/// let store = S3Store::new(config)?;
/// assert_eq!(store.provider(), Provider::S3);
/// assert!(store.capabilities().sign_put && !store.capabilities().sign_max_size);
/// assert!(!format!("{store:?}").contains("not-a-real-secret"));
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    config: S3Config,
    s3: AmazonS3,
    rest: Rest,
}

impl S3Store {
    /// A store for `config`. No request is made; a missing bucket shows up
    /// as `InvalidConfig { var: S3_BUCKET }` on first use.
    pub fn new(config: S3Config) -> Result<Self> {
        let (s3, http) = client::build(&config)?;
        let rest = Rest::new(
            s3.clone(),
            HttpClient::new(http),
            config.bucket_url(),
            config.region(),
        );
        Ok(S3Store {
            inner: Arc::new(Inner { config, s3, rest }),
        })
    }

    /// A store configured from the environment (see [`config`]).
    pub fn from_env() -> Result<Self> {
        Self::new(S3Config::from_env()?)
    }

    /// The settings in use.
    pub fn config(&self) -> &S3Config {
        &self.inner.config
    }

    /// object_store's S3 client underneath, for what this crate does not
    /// wrap (reach it through [`BlobStore::native`](storage_core::BlobStore::native)).
    pub fn object_store(&self) -> &AmazonS3 {
        &self.inner.s3
    }

    fn explain(&self, err: Error) -> Error {
        error::explain(self.config(), err)
    }

    fn tuning(&self) -> Tuning {
        Tuning {
            part_size: self.config().part_size(),
            max_concurrency: self.config().max_concurrency(),
        }
    }
}

/// The raw calls; the [`Driver`] impl below adds the explanations.
impl S3Store {
    async fn copy_within(
        &self,
        from: &BlobKey,
        to: &BlobKey,
        opts: CopyOptions,
    ) -> Result<BlobMeta> {
        let s3 = &self.inner.s3;
        copy::copy(
            &self.inner.rest,
            s3,
            self.config().bucket(),
            from,
            to,
            &opts.mode,
        )
        .await?;
        read::stat(s3, to).await
    }

    async fn read(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let s3 = &self.inner.s3;
        match (read::get(s3, key, &opts).await, opts.range) {
            (Ok(blob), _) => Ok(blob),
            // A range that selects nothing (a suffix of an empty object) may
            // come back whole, which object_store refuses as a backend
            // error; the blob's size tells what the caller did wrong.
            (Err(err), Some(range)) if err.kind() == &ErrorKind::Backend => {
                match read::stat(s3, key)
                    .await
                    .map(|meta| range.resolve(meta.size))
                {
                    Ok(Err(unsatisfiable)) => Err(unsatisfiable),
                    _ => Err(err),
                }
            }
            (Err(err), _) => Err(err),
        }
    }

    async fn remove(&self, key: &BlobKey) -> Result<()> {
        match self.inner.s3.delete(&read::path(key)?).await {
            Ok(()) => Ok(()),
            // S3 answers 204 for a missing key; S3-compatible stores may 404.
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

#[async_trait]
impl Driver for S3Store {
    fn provider(&self) -> Provider {
        Provider::S3
    }

    fn retry_policy(&self) -> Option<&RetryPolicy> {
        Some(self.config().retry_policy())
    }

    fn endpoint(&self) -> String {
        self.config().endpoint()
    }

    fn native(&self) -> &dyn std::any::Any {
        self
    }

    fn supports(&self) -> Capabilities {
        let mut caps = Capabilities::all();
        // A presigned PUT cannot bound its size (only a POST policy can).
        caps.sign_max_size = false;
        // Etags are content hashes (MD5 for single-part objects).
        caps.etag_per_write = false;
        // A service that ignores the conditions would overwrite instead.
        caps.put_create = self.config().conditional_writes();
        caps.put_if_match = self.config().conditional_writes();
        caps
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        upload::upload(&self.inner.rest, key, body, &opts, self.tuning())
            .await
            .map_err(|e| self.explain(e))
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        self.read(key, opts).await.map_err(|e| self.explain(e))
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        read::stat(&self.inner.s3, key)
            .await
            .map_err(|e| self.explain(e))
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        self.remove(key).await.map_err(|e| self.explain(e))
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        list::page(&self.inner.s3, &opts)
            .await
            .map_err(|e| self.explain(e))
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        self.copy_within(from, to, opts)
            .await
            .map_err(|e| self.explain(e))
    }

    /// A SigV4 presigned URL for one method on one key (see the crate docs).
    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        sign::sign(&self.inner.s3, key, &opts)
            .await
            .map_err(|e| self.explain(e))
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
