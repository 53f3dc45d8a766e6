//! Azure Blob Storage for the [`BlobStore`] contract, speaking the Blob
//! service's REST API directly (Azurite works the same way).
//!
//! - Configure with [`AzureConfig::from_env`] (see [`config`] for the
//!   variables) or [`AzureConfig::from_lookup`]; bad settings fail there,
//!   naming the variable.
//! - Uploads stream: a body larger than one part (8 MiB by default) goes up
//!   as blocks, committed only at the end, so a failed upload leaves nothing
//!   behind. Azure drops uncommitted blocks after 7 days.
//! - `PutMode::Create`/`IfMatch` are enforced by Azure at any size: the
//!   condition travels on the request that makes the blob visible (Put Blob,
//!   or the Put Block List commit), and on Copy Blob for `copy`.
//! - Every request is the adapter's own ([`rest`]), signed by the one
//!   Shared Key signer ([`shared_key`]), a SAS, or an Entra ID token from
//!   object_store's credential chain (the only part of object_store used),
//!   and sent under the one retry and timeout policy.
//! - Downloads stream straight from the connection; `put` reports the new
//!   blob from the service's answer (etag, `Last-Modified`) and what it
//!   sent, without a `HEAD`.
//! - Signed URLs are SAS: service SAS with an account key, user delegation
//!   SAS with Entra ID credentials (see [`sign`](crate) notes in the docs of
//!   [`AzureStore::signed_url`](BlobStore::signed_url)).
//! - Account keys, SAS tokens and connection strings never appear in
//!   `Debug`, `Display` or errors.
//!
//! ```no_run
//! use storage_azure::{AzureConfig, AzureStore};
//! use storage_core::BlobStoreExt;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let store = AzureStore::new(AzureConfig::from_env()?)?;
//! store.put_bytes("recordings/a.webm", vec![1, 2, 3]).await?;
//! assert_eq!(store.get_bytes("recordings/a.webm").await?.len(), 3);
//! # Ok(()) }
//! ```

mod client;
pub mod config;
mod connection_string;
mod copy;
mod delegation;
mod delete;
mod error;
mod explain;
mod list;
mod meta;
mod read;
pub mod rest;
pub mod shared_key;
mod sign;
mod upload;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use object_store::azure::MicrosoftAzure;
use storage_core::driver::Driver;
use storage_core::retry::RetryPolicy;
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, ByteRange, Capabilities, CopyOptions, Error, GetOptions,
    ListOptions, ListPage, Provider, PutOptions, Result, SignOptions, SignedRequest,
};

pub use config::{validate_container, AzureConfig, AzureCredentials, IdentitySettings};
pub use connection_string::{
    ConnectionString, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY, EMULATOR_BLOB_ENDPOINT,
};

use crate::delegation::DelegationCache;
use crate::error::tag;
use crate::read::Ask;
use crate::rest::Rest;
use crate::upload::{blob_url, container_url, upload, Tuning};

/// A [`BlobStore`](storage_core::BlobStore) on one Azure Blob container.
///
/// Cloning is cheap; clones share the HTTP connection pool.
///
/// ```
/// use storage_azure::{AzureConfig, AzureStore};
/// use storage_core::{BlobStore, Provider};
/// let config = AzureConfig::from_lookup(|var| {
///     (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| "UseDevelopmentStorage=true".to_string())
/// })?;
/// let store = AzureStore::new(config)?;
/// assert_eq!(store.provider(), Provider::Azure);
/// assert!(store.capabilities().sign_put);
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone)]
pub struct AzureStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: AzureConfig,
    /// Only for its credential chain (Entra ID tokens); every request on
    /// the wire is the adapter's own, through `rest`.
    credentials: MicrosoftAzure,
    rest: Arc<Rest>,
    container_url: url::Url,
    /// The account key's MAC for SAS, keyed once.
    sas_mac: Option<hmac::Hmac<sha2::Sha256>>,
    delegation: DelegationCache,
}

impl AzureStore {
    /// A store for `config`. No request is made; a missing container shows
    /// up as `NotFound` on first use.
    pub fn new(config: AzureConfig) -> Result<Self> {
        let credentials = client::build(&config)?;
        let rest = Arc::new(Rest::new(&config, &credentials)?);
        let sas_mac = sign::account_mac(&config)?;
        let container_url = container_url(config.endpoint(), config.container())?;
        Ok(AzureStore {
            inner: Arc::new(Inner {
                config,
                credentials,
                rest,
                container_url,
                sas_mac,
                delegation: DelegationCache::default(),
            }),
        })
    }

    /// A store configured from the environment (see [`config`]).
    pub fn from_env() -> Result<Self> {
        Self::new(AzureConfig::from_env()?)
    }

    /// The settings in use.
    pub fn config(&self) -> &AzureConfig {
        &self.inner.config
    }

    /// `err` with the advice this store's configuration allows.
    fn explain(&self, err: Error) -> Error {
        explain::explain(self.config(), err)
    }

    fn rest(&self) -> &Rest {
        &self.inner.rest
    }

    fn url(&self, key: &BlobKey) -> Result<url::Url> {
        blob_url(&self.inner.container_url, key)
    }
}

impl AzureStore {
    /// [`BlobStore::signed_url`] as if the clock read `now`. Not part of the
    /// API: it exists so tests can sign a SAS whose validity window lies
    /// entirely in the past and check that Azure refuses it.
    #[doc(hidden)]
    pub async fn signed_url_at(
        &self,
        key: &BlobKey,
        opts: SignOptions,
        now: std::time::SystemTime,
    ) -> Result<SignedRequest> {
        sign::sign(
            self.config(),
            self.inner.sas_mac.as_ref(),
            &self.inner.credentials,
            &self.inner.delegation,
            key,
            &opts,
            now,
        )
        .await
    }

    /// The error for a ranged read that failed: `InvalidInput` when the
    /// range selects nothing of the blob as it is now, else the read's own.
    async fn range_error(&self, key: &BlobKey, range: Option<ByteRange>, err: Error) -> Error {
        if err.is_not_found() {
            return err;
        }
        match (range, self.stat(key).await) {
            (Some(range), Ok(meta)) => match range.resolve(meta.size) {
                Err(unsatisfiable) => tag(unsatisfiable, key.as_str()),
                Ok(_) => err,
            },
            _ => err,
        }
    }
}

/// The raw calls; the [`Driver`] impl below adds the explanations.
impl AzureStore {
    async fn write(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let config = self.config();
        let tuning = Tuning {
            part_size: config.part_size(),
            max_concurrency: config.max_concurrency(),
        };
        upload(&self.inner.rest, &self.url(key)?, key, body, &opts, tuning).await
    }

    async fn read(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let mut ask = Ask {
            range: None,
            if_match: opts.if_match.clone(),
            if_none_match: opts.if_none_match.clone(),
        };
        ask.range = match opts.range {
            None => None,
            Some(ByteRange::Bounded { start, end }) => Some((start, Some(end))),
            Some(ByteRange::From(start)) => Some((start, None)),
            Some(ByteRange::Suffix(n)) => {
                // Azure has no suffix ranges: resolve against the current
                // size and pin the read to that version with If-Match.
                let head = self.stat(key).await?;
                opts.check_conditions(&head.etag)?;
                let range = ByteRange::Suffix(n)
                    .resolve(head.size)
                    .map_err(|e| tag(e, key.as_str()))?;
                ask.if_match = Some(head.etag.clone());
                if range.is_empty() {
                    let empty = futures::stream::empty().boxed();
                    return Ok(Blob::new(head, range, empty));
                }
                Some((range.start, Some(range.end)))
            }
        };
        match read::get(self.rest(), &self.url(key)?, key, &ask).await {
            Ok(blob) => Ok(blob),
            Err(e) if ask.range.is_some() => Err(self.range_error(key, opts.range, e).await),
            Err(e) => Err(e),
        }
    }

    async fn stat(&self, key: &BlobKey) -> Result<BlobMeta> {
        match read::stat(self.rest(), &self.url(key)?, key).await {
            Err(e) if e.is_not_found() => Err(self.missing_blob_or_container(e).await),
            other => other,
        }
    }

    /// A `HEAD` answer has no body; its 404 says in a header whether the
    /// blob or the whole container is missing. Where that header is absent,
    /// one tiny listing tells, so a missing container is never reported as
    /// a missing blob.
    async fn missing_blob_or_container(&self, not_found: Error) -> Error {
        let told = error::ServiceAnswer::of(&not_found).is_some_and(|a| a.code.is_some());
        if told {
            return not_found;
        }
        let probe = ListOptions::new().limit(1);
        match list::page(self.rest(), &self.inner.container_url, &probe).await {
            Err(listed) if error::ServiceAnswer::container_missing(&listed) => listed,
            _ => not_found,
        }
    }

    async fn remove(&self, key: &BlobKey) -> Result<()> {
        delete::delete(self.rest(), &self.url(key)?, key).await
    }

    async fn list_page(&self, opts: ListOptions) -> Result<ListPage> {
        list::page(self.rest(), &self.inner.container_url, &opts).await
    }

    async fn copy_within(
        &self,
        from: &BlobKey,
        to: &BlobKey,
        opts: CopyOptions,
    ) -> Result<BlobMeta> {
        let (from_url, to_url) = (self.url(from)?, self.url(to)?);
        copy::copy(self.rest(), (from, &from_url), (to, &to_url), &opts.mode).await
    }

    /// A SAS URL for one method on one blob (see the crate docs).
    async fn sign(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        self.signed_url_at(key, opts, std::time::SystemTime::now())
            .await
    }
}

#[async_trait]
impl Driver for AzureStore {
    fn provider(&self) -> Provider {
        Provider::Azure
    }

    fn retry_policy(&self) -> Option<&RetryPolicy> {
        Some(self.config().retry_policy())
    }

    fn endpoint(&self) -> String {
        storage_core::redact::redact_url(self.config().endpoint())
    }

    fn supports(&self) -> Capabilities {
        match self.config().credentials() {
            AzureCredentials::Sas(_) => Capabilities::unsigned(),
            _ => {
                let mut caps = Capabilities::all();
                caps.sign_max_size = false;
                caps.sign_content_type = false;
                caps
            }
        }
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        self.write(key, body, opts)
            .await
            .map_err(|e| self.explain(e))
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        self.read(key, opts).await.map_err(|e| self.explain(e))
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        self.stat(key).await.map_err(|e| self.explain(e))
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        self.remove(key).await.map_err(|e| self.explain(e))
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        self.list_page(opts).await.map_err(|e| self.explain(e))
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        self.copy_within(from, to, opts)
            .await
            .map_err(|e| self.explain(e))
    }

    /// A SAS URL for one method on one blob (see the crate docs).
    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        self.sign(key, opts).await.map_err(|e| self.explain(e))
    }
}

impl fmt::Debug for AzureStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
