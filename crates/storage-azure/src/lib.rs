//! Azure Blob Storage for the [`BlobStore`] contract, on top of
//! [`object_store`]'s Azure backend (Azurite works the same way).
//!
//! - Configure with [`AzureConfig::from_env`] (see [`config`] for the
//!   variables) or [`AzureConfig::from_lookup`]; bad settings fail there,
//!   naming the variable.
//! - Uploads stream: a body larger than one part (8 MiB by default) goes up
//!   as blocks, committed only at the end, so a failed upload leaves nothing
//!   behind. Azure drops uncommitted blocks after 7 days.
//! - `PutMode::Create`/`IfMatch` are enforced by Azure at any size: the
//!   condition travels on the request that makes the blob visible (Put Blob,
//!   or the Put Block List commit). Uploads are the adapter's own requests
//!   ([`rest`]), signed by the one Shared Key signer ([`shared_key`]); reads,
//!   lists, deletes and copies go through object_store.
//! - `put` reports the new blob from the service's answer (etag,
//!   `Last-Modified`) and what it sent, without a `HEAD`.
//! - `copy` with `PutMode::IfMatch` streams the source into a conditional
//!   upload of the destination (object_store's copy cannot carry `If-Match`).
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
mod delegation;
mod error;
mod explain;
mod list;
mod meta;
pub mod rest;
pub mod shared_key;
mod sign;
mod upload;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::azure::MicrosoftAzure;
use object_store::path::Path;
use object_store::{GetOptions as OsGetOptions, GetRange, ObjectStore};
use storage_core::driver::Driver;
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, ByteRange, Capabilities, CopyOptions, Error, ErrorKind,
    GetOptions, ListEntry, ListOptions, ListPage, Provider, PutMode, PutOptions, Result,
    SignOptions, SignedRequest,
};

pub use config::{validate_container, AzureConfig, AzureCredentials, IdentitySettings};
pub use connection_string::{
    ConnectionString, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY, EMULATOR_BLOB_ENDPOINT,
};

use crate::client::Role;
use crate::delegation::DelegationCache;
use crate::error::{map_error, tag, Op};
use crate::rest::Rest;
use crate::upload::{blob_url, upload, Tuning};

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
    client: MicrosoftAzure,
    reader: MicrosoftAzure,
    rest: Arc<Rest>,
    delegation: DelegationCache,
}

impl AzureStore {
    /// A store for `config`. No request is made; a missing container shows
    /// up as `NotFound` on first use.
    pub fn new(config: AzureConfig) -> Result<Self> {
        let client = client::build(&config, Role::Write)?;
        let reader = client::build(&config, Role::Read)?;
        let rest = Arc::new(Rest::new(&config, &client)?);
        Ok(AzureStore {
            inner: Arc::new(Inner {
                config,
                client,
                reader,
                rest,
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

    fn client(&self) -> &MicrosoftAzure {
        &self.inner.client
    }

    fn path(key: &BlobKey) -> Result<Path> {
        Path::parse(key.as_str()).map_err(|e| {
            Error::new(ErrorKind::InvalidKey, Provider::Azure)
                .with_key(key.as_str())
                .with_message(e.to_string())
        })
    }

    /// `GET` (or `HEAD`) with properties.
    async fn fetch(&self, key: &BlobKey, options: OsGetOptions) -> Result<object_store::GetResult> {
        let path = Self::path(key)?;
        let client = if options.head {
            self.client()
        } else {
            &self.inner.reader
        };
        client
            .get_opts(&path, options)
            .await
            .map_err(|e| map_error(e, Op::Read, Some(key.as_str())))
    }

    /// Copy under a destination etag: stream the source into a conditional
    /// upload, since object_store's copy cannot carry `If-Match`. The
    /// destination gets the source's content headers and metadata, as a
    /// service-side copy would give it.
    async fn copy_if_match(&self, from: &BlobKey, to: &BlobKey, etag: &str) -> Result<BlobMeta> {
        let source = self.read(from, GetOptions::default()).await?;
        let meta = source.meta.clone();
        let mut opts = PutOptions::new()
            .mode(PutMode::IfMatch(etag.to_string()))
            .content_type(meta.content_type.clone());
        opts.cache_control = meta.cache_control.clone();
        opts.content_disposition = meta.content_disposition.clone();
        opts.metadata = meta.metadata.clone();
        let body = Body::from_stream(source.into_stream(), Some(meta.size));
        self.write(to, body, opts).await
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
            self.client(),
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
        let url = blob_url(config.endpoint(), config.container(), key)?;
        let tuning = Tuning {
            part_size: config.part_size(),
            max_concurrency: config.max_concurrency(),
        };
        upload(&self.inner.rest, &url, key, body, &opts, tuning).await
    }

    async fn read(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let mut options = OsGetOptions {
            if_match: opts.if_match.clone(),
            if_none_match: opts.if_none_match.clone(),
            ..Default::default()
        };
        options.range = match opts.range {
            None => None,
            Some(ByteRange::Bounded { start, end }) => Some(GetRange::Bounded(start..end)),
            Some(ByteRange::From(start)) => Some(GetRange::Offset(start)),
            Some(ByteRange::Suffix(n)) => {
                // Azure has no suffix ranges: resolve against the current
                // size and pin the read to that version with If-Match.
                let head = self.stat(key).await?;
                opts.check_conditions(&head.etag)?;
                let range = ByteRange::Suffix(n)
                    .resolve(head.size)
                    .map_err(|e| tag(e, key.as_str()))?;
                options.if_match = Some(head.etag.clone());
                if range.is_empty() {
                    let empty = futures::stream::empty().boxed();
                    return Ok(Blob::new(head, range, empty));
                }
                Some(GetRange::Bounded(range))
            }
        };
        let ranged = options.range.is_some();
        let result = match self.fetch(key, options).await {
            Ok(result) => result,
            // An empty blob answers any range with a Content-Range that
            // object_store cannot parse; report what the range means instead.
            Err(e) if ranged => return Err(self.range_error(key, opts.range, e).await),
            Err(e) => return Err(e),
        };
        let meta = meta::blob_meta(key.clone(), &result.meta, &result.attributes);
        let range = result.range.clone();
        let owned_key = key.as_str().to_string();
        let stream = result
            .into_stream()
            .map_err(move |e| map_error(e, Op::Read, Some(&owned_key)))
            .boxed();
        Ok(Blob::new(meta, range, stream))
    }

    async fn stat(&self, key: &BlobKey) -> Result<BlobMeta> {
        let options = OsGetOptions {
            head: true,
            ..Default::default()
        };
        let result = match self.fetch(key, options).await {
            Ok(result) => result,
            Err(e) if e.is_not_found() => return Err(self.missing_blob_or_container(key, e).await),
            Err(e) => return Err(e),
        };
        Ok(meta::blob_meta(
            key.clone(),
            &result.meta,
            &result.attributes,
        ))
    }

    /// A `HEAD` answer has no body, so its 404 cannot say whether the blob
    /// or the whole container is missing; one small listing beside the key
    /// tells, so a missing container is never reported as a missing blob.
    async fn missing_blob_or_container(&self, key: &BlobKey, not_found: Error) -> Error {
        let Ok(path) = Self::path(key) else {
            return not_found;
        };
        match self.client().list_with_delimiter(Some(&path)).await {
            Err(e) => {
                let listed = map_error(e, Op::List, Some(key.as_str()));
                let container_missing = error::ServiceAnswer::of(&listed)
                    .is_some_and(|a| a.code.as_deref() == Some("ContainerNotFound"));
                if container_missing {
                    listed
                } else {
                    not_found
                }
            }
            Ok(_) => not_found,
        }
    }

    async fn remove(&self, key: &BlobKey) -> Result<()> {
        let path = Self::path(key)?;
        // object_store retries a DELETE on error statuses but not on a broken
        // connection; a delete is idempotent, so the policy retries those.
        let policy = self.config().retry_policy();
        policy
            .run(&self.endpoint(), Idempotency::Idempotent, |_| async {
                self.delete_once(key, &path).await.map_err(|e| {
                    let transport = e.kind() == &ErrorKind::Transport;
                    e.with_retryable(transport)
                })
            })
            .await
    }

    async fn delete_once(&self, key: &BlobKey, path: &Path) -> Result<()> {
        match self.client().delete(path).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = map_error(e, Op::Delete, Some(key.as_str()));
                let container_missing = error::ServiceAnswer::of(&err)
                    .is_some_and(|a| a.code.as_deref() == Some("ContainerNotFound"));
                if err.is_not_found() && !container_missing {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_page(&self, opts: ListOptions) -> Result<ListPage> {
        list::page(self.client(), &opts, |key| async move {
            match self.stat(&key).await {
                Ok(meta) => Ok(Some(ListEntry::new(
                    key,
                    meta.size,
                    meta.etag,
                    meta.last_modified,
                ))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn copy_within(
        &self,
        from: &BlobKey,
        to: &BlobKey,
        opts: CopyOptions,
    ) -> Result<BlobMeta> {
        let (src, dst) = (Self::path(from)?, Self::path(to)?);
        let copied = match &opts.mode {
            PutMode::Overwrite => self.client().copy(&src, &dst).await,
            PutMode::Create => self.client().copy_if_not_exists(&src, &dst).await,
            PutMode::IfMatch(etag) => return self.copy_if_match(from, to, etag).await,
        };
        match copied {
            Ok(()) => self.stat(to).await,
            // object_store names the source in a failed copy; a 404 means it is missing.
            Err(e @ object_store::Error::NotFound { .. }) => {
                Err(map_error(e, Op::Copy, Some(from.as_str())))
            }
            Err(e) => {
                let op = if opts.mode == PutMode::Create {
                    Op::WriteCreate
                } else {
                    Op::Copy
                };
                Err(map_error(e, op, Some(to.as_str())))
            }
        }
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
