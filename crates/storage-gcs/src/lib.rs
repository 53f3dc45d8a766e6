//! Google Cloud Storage for the [`BlobStore`](storage_core::BlobStore)
//! contract, speaking the JSON API directly.
//!
//! - Configure with [`GcsConfig::from_env`] (see [`config`] for the
//!   variables) or [`GcsConfig::from_lookup`]; bad settings fail there,
//!   naming the variable.
//! - Uploads stream with bounded memory: a body up to one chunk (8 MiB by
//!   default) is one request; a longer one is a resumable upload that
//!   becomes visible only when its last chunk arrives, so a failed upload
//!   leaves nothing behind (see [`upload`](crate#uploads)).
//! - A blob's etag is its generation. `PutMode::Create` is
//!   `ifGenerationMatch=0`, `PutMode::IfMatch` is `ifGenerationMatch=<etag>`,
//!   on uploads and copies alike, checked by the service.
//! - A download's properties and bytes come from one answer, so they are
//!   of one version; a resumed download is pinned to that generation.
//! - Deleting a blob that is gone already succeeds.
//! - Signed URLs are V4 (`GOOG4-RSA-SHA256`), signed locally with the
//!   service account's key; without a key the store signs nothing.
//! - Every request is the adapter's own, sent under the one retry and
//!   timeout policy; object_store supplies only the credential chain.
//! - Private keys, tokens and session URIs never appear in `Debug`,
//!   `Display` or errors.
//!
//! # Uploads
//!
//! Cloud Storage drops a resumable session that was never finished after
//! a week; the adapter cancels the sessions of failed uploads itself.
//!
//! ```no_run
//! use storage_gcs::{GcsConfig, GcsStore};
//! use storage_core::BlobStoreExt;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let store = GcsStore::new(GcsConfig::from_env()?)?;
//! store.put_bytes("recordings/a.webm", vec![1, 2, 3]).await?;
//! assert_eq!(store.get_bytes("recordings/a.webm").await?.len(), 3);
//! # Ok(()) }
//! ```

mod client;
mod condition;
pub mod config;
mod copy;
mod error;
mod list;
mod object;
mod read;
mod rest;
pub mod service_account;
mod sign;
mod upload;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use reqwest::Method;
use storage_core::driver::Driver;
use storage_core::retry::RetryPolicy;
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, Error, ErrorKind, GetOptions,
    ListOptions, ListPage, Provider, PutOptions, Result, SignOptions, SignedRequest,
};

pub use config::{GcsConfig, GcsCredentials};
pub use service_account::ServiceAccountKey;

use crate::error::Op;
use crate::object::Urls;
use crate::rest::{Auth, Request, Rest};
use crate::sign::Signer;

/// A [`BlobStore`](storage_core::BlobStore) on one Cloud Storage bucket.
///
/// Cloning is cheap; clones share the HTTP connection pool.
///
/// ```
/// use storage_gcs::{GcsConfig, GcsStore};
/// use storage_core::{BlobStore, Provider};
/// let config = GcsConfig::from_lookup(|var| match var {
///     "GCS_BUCKET" => Some("recordings".to_string()),
///     "STORAGE_EMULATOR_HOST" => Some("http://127.0.0.1:4443".to_string()),
///     _ => None,
/// })?;
/// let store = GcsStore::new(config)?;
/// assert_eq!(store.provider(), Provider::Gcs);
/// // No service-account key: nothing to sign URLs with.
/// assert!(!store.capabilities().sign_get);
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone)]
pub struct GcsStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: GcsConfig,
    rest: Rest,
    urls: Urls,
    signer: Option<Signer>,
}

impl GcsStore {
    /// A store for `config`. No request is made; a missing bucket shows up
    /// as `NotFound` on first use.
    pub fn new(config: GcsConfig) -> Result<Self> {
        let auth = if config.is_emulator() {
            Auth::Anonymous
        } else {
            Auth::Token(client::credentials(&config)?)
        };
        let endpoint = storage_core::redact::redact_url(config.endpoint());
        let rest = Rest::new(config.retry_policy().clone(), auth, endpoint)?;
        let urls = Urls::new(config.endpoint(), config.bucket());
        let signer = config
            .service_account()
            .map(|key| Signer::new(key, config.endpoint(), config.bucket()))
            .transpose()?;
        Ok(GcsStore {
            inner: Arc::new(Inner {
                config,
                rest,
                urls,
                signer,
            }),
        })
    }

    /// A store configured from the environment (see [`config`]).
    pub fn from_env() -> Result<Self> {
        Self::new(GcsConfig::from_env()?)
    }

    /// The settings in use.
    pub fn config(&self) -> &GcsConfig {
        &self.inner.config
    }

    /// The `Authorization` header the store's own requests carry (a bearer
    /// token from the credential chain, fetched or refreshed now), for
    /// tools that send requests of their own with the same identity, such
    /// as provisioning. `None` on an emulator, which takes no credentials.
    pub async fn authorization(&self) -> Result<Option<reqwest::header::HeaderValue>> {
        let mut headers = reqwest::header::HeaderMap::new();
        self.inner.rest.authorize(&mut headers).await?;
        Ok(headers.remove(reqwest::header::AUTHORIZATION))
    }

    /// [`BlobStore::signed_url`](storage_core::BlobStore::signed_url) as if
    /// the clock read `now`. Not part of the API: it exists so tests can
    /// sign a URL whose validity lies in the past.
    #[doc(hidden)]
    pub fn signed_url_at(
        &self,
        key: &BlobKey,
        opts: &SignOptions,
        now: SystemTime,
    ) -> Result<SignedRequest> {
        let signer = self.inner.signer.as_ref().ok_or_else(|| {
            Error::unsupported(Provider::Gcs, "signed_url").with_message(
                "signed URLs need a service-account key: set GOOGLE_SERVICE_ACCOUNT_KEY or \
                 GOOGLE_APPLICATION_CREDENTIALS to one",
            )
        })?;
        signer.sign(key, opts, now)
    }
}

#[async_trait]
impl Driver for GcsStore {
    fn provider(&self) -> Provider {
        Provider::Gcs
    }

    fn retry_policy(&self) -> Option<&RetryPolicy> {
        Some(self.config().retry_policy())
    }

    fn endpoint(&self) -> String {
        storage_core::redact::redact_url(self.config().endpoint())
    }

    fn supports(&self) -> Capabilities {
        if self.inner.signer.is_some() {
            Capabilities::all()
        } else {
            Capabilities::unsigned()
        }
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let inner = &self.inner;
        upload::upload(
            &inner.rest,
            &inner.urls,
            key,
            body,
            &opts,
            inner.config.part_size(),
        )
        .await
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        read::get(&self.inner.rest, &self.inner.urls, key, &opts).await
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        read::stat(&self.inner.rest, &self.inner.urls, key).await
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        let url = self.inner.urls.object(key)?;
        let request = Request::new(Method::DELETE, &url, Op::Delete, key.as_str());
        match self.inner.rest.fetch(request).await {
            Ok(_) => Ok(()),
            // Gone already counts as deleted; a missing bucket does not,
            // where the service says so ("The specified bucket does not
            // exist.").
            Err(e)
                if e.kind() == &ErrorKind::NotFound
                    && !e
                        .message()
                        .is_some_and(|m| m.contains("bucket does not exist")) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        list::page(&self.inner.rest, &self.inner.urls, &opts).await
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        copy::copy(&self.inner.rest, &self.inner.urls, from, to, &opts.mode).await
    }

    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        self.signed_url_at(key, &opts, SystemTime::now())
    }
}

impl fmt::Debug for GcsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
