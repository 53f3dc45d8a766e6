//! Vercel Blob adapter: a [`BlobStore`] over the Vercel Blob HTTP API,
//! speaking the wire protocol of the official `@vercel/blob` SDK (2.8).
//!
//! ```no_run
//! use storage_core::{BlobStore, BlobStoreExt};
//! use storage_vercel::VercelStore;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! // BLOB_READ_WRITE_TOKEN=vercel_blob_rw_<storeId>_<secret>
//! let store = VercelStore::from_env()?;
//! store.put_bytes("recordings/call.webm", vec![0u8; 1024]).await?;
//! assert_eq!(store.get_bytes("recordings/call.webm").await?.len(), 1024);
//! # Ok(()) }
//! ```
//!
//! # Configuration
//!
//! | variable | meaning |
//! |---|---|
//! | `BLOB_READ_WRITE_TOKEN` | the store's read-write token (required) |
//! | `VERCEL_BLOB_API_URL` | API base, default `https://vercel.com/api/blob` |
//! | `BLOB_STORAGE_ACCESS` | `private` (default) or `public`: the access of every blob written |
//! | `VERCEL_BLOB_HOST_URL` | base URL that pathnames are appended to for reads; default `https://<storeId>.<access>.blob.vercel-storage.com`; for the project's emulator `http://<addr>/_blob/<access>` |
//!
//! # What to know
//!
//! - **Keys are pathnames**, one to one; no random suffix is ever added.
//! - **Metadata**: Vercel keeps a content type and a cache `max-age`, nothing
//!   else. A put with user metadata or a content disposition fails with
//!   `Unsupported` and stores nothing. Cache-control is accepted only in the
//!   form the blob host serves back, `<access>, max-age=N` with N ≥ 60
//!   (see [`Capabilities`]: `cache_control`, `content_disposition` and
//!   `user_metadata` are false).
//! - **Etags** are the service's, the same from `put`, `head`, `get` and
//!   `list`. They are derived from the content, so rewriting identical bytes
//!   keeps the etag, and `PutMode::IfMatch` compares content.
//! - **Large bodies** (over 8 MiB, or streams of unknown length that turn
//!   out larger) use a multipart upload with 8 MiB parts, 4 in flight
//!   (see [`VercelConfig::part_size`], [`VercelConfig::concurrency`]). The
//!   blob appears only when the upload completes; a failing body stores
//!   nothing.
//! - **Retries and timeouts** follow the one policy of
//!   [`storage_core::retry`] (the `BLOB_STORAGE_*` variables): `429`, `5xx`
//!   (not `501`), timeouts and broken connections are retried with capped,
//!   jittered backoff, honouring `retry-after`, for reads, heads, lists,
//!   deletes, overwrites whose body is in memory, multipart parts and
//!   overwriting completions, with the SDK's request id and attempt
//!   headers. `Create` and `IfMatch` writes are never replayed. A download
//!   whose connection breaks resumes from the last byte received, pinned to
//!   its etag; a blob host that streams without `Content-Length` is read
//!   too (its size comes from the API).
//! - **Signed URLs** are presigned URLs (one cached `POST /signed-token`,
//!   local HMAC signing); [`VercelStore::client_token`] mints the client
//!   tokens the official browser SDK uploads with.
//! - Blobs the contract cannot name (pathnames such as `folder/` that the
//!   SDK's `createFolder` writes) are left out of listings.

mod client;
mod config;
mod error;
mod meta;
mod multipart;
mod sign;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use storage_core::driver::Driver;
use storage_core::redact::Secret;
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, ByteRange, Capabilities, CopyOptions, Error, ErrorKind,
    GetOptions, ListEntry, ListOptions, ListPage, Provider, PutMode, PutOptions, Result,
    SignOptions, SignedRequest,
};

pub use config::{
    Access, VercelConfig, ACCESS_VAR, API_URL_VAR, BLOB_HOST_URL_VAR, DEFAULT_API_URL,
    DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, MIN_PART_SIZE, TOKEN_VAR,
};
pub use sign::{ClientTokenOptions, UploadCallback};

use client::{Client, WriteHeaders};

/// A [`BlobStore`](storage_core::BlobStore) on Vercel Blob (or the project's emulator).
///
/// ```
/// use storage_core::{BlobStore, Provider};
/// use storage_vercel::{VercelConfig, VercelStore};
/// let config = VercelConfig::new("vercel_blob_rw_abc_s3cr3t")?
///     .api_url("http://127.0.0.1:3000")?
///     .blob_host_url("http://127.0.0.1:3000/_blob/private")?;
/// let store = VercelStore::new(config)?;
/// assert_eq!(store.provider(), Provider::Vercel);
/// assert!(!store.capabilities().user_metadata);
/// assert!(!format!("{store:?}").contains("s3cr3t"));
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone)]
pub struct VercelStore {
    client: Client,
    presigner: Arc<sign::Presigner>,
}

impl VercelStore {
    /// A store for `config`.
    pub fn new(config: VercelConfig) -> Result<Self> {
        Ok(VercelStore {
            client: Client::new(config)?,
            presigner: Arc::new(sign::Presigner::default()),
        })
    }

    /// A store configured from the environment (see the [crate docs](crate)).
    pub fn from_env() -> Result<Self> {
        Self::new(VercelConfig::from_env()?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &VercelConfig {
        self.client.config()
    }

    /// Mints a client token that lets a browser upload `key`, and only
    /// `key`, within `opts`, with the official SDK
    /// (`put(key, file, { access, token })` or an `upload()` token route).
    /// The token is signed locally; no request is made.
    ///
    /// ```
    /// use std::time::Duration;
    /// use storage_vercel::{ClientTokenOptions, VercelConfig, VercelStore};
    /// let store = VercelStore::new(VercelConfig::new("vercel_blob_rw_abc_s3cr3t")?)?;
    /// let token = store.client_token(
    ///     "avatars/42.png",
    ///     ClientTokenOptions::new()
    ///         .allowed_content_types(["image/png"])
    ///         .maximum_size(1 << 20)
    ///         .valid_for(Duration::from_secs(300)),
    /// )?;
    /// assert!(token.expose().starts_with("vercel_blob_client_abc_"));
    /// # Ok::<(), storage_core::Error>(())
    /// ```
    pub fn client_token(&self, key: &str, opts: ClientTokenOptions) -> Result<Secret<String>> {
        let key = BlobKey::new(key).map_err(|e| e.with_provider(Provider::Vercel))?;
        let config = self.client.config();
        sign::client_token(config.token(), config.store_id(), key.as_str(), &opts)
    }

    /// The write headers for `mode`, and whether replaying the write is safe.
    fn mode_headers(mode: &PutMode) -> (WriteHeaders, Idempotency) {
        let (allow, if_match, idempotent) = match mode {
            PutMode::Overwrite => (true, None, Idempotency::Idempotent),
            // A replayed Create could find its own first attempt and fail.
            PutMode::Create => (false, None, Idempotency::NotIdempotent),
            // The SDK pairs x-if-match with x-allow-overwrite: 1.
            PutMode::IfMatch(etag) => (true, Some(etag.clone()), Idempotency::NotIdempotent),
        };
        let headers = WriteHeaders {
            allow_overwrite: Some(allow),
            if_match,
            ..WriteHeaders::default()
        };
        (headers, idempotent)
    }

    async fn read(&self, key: &BlobKey, opts: &GetOptions) -> Result<Blob> {
        let range = opts.range.map(|r| match r {
            ByteRange::Bounded { start, end } => format!("bytes={start}-{}", end - 1),
            ByteRange::From(start) => format!("bytes={start}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        });
        let resp = self
            .client
            .read(
                key.as_str(),
                range.as_deref(),
                opts.if_match.as_deref(),
                opts.if_none_match.as_deref(),
            )
            .await?;
        if resp.status().as_u16() == 304 {
            return Err(Error::new(ErrorKind::NotModified, Provider::Vercel)
                .with_message("the blob still has the etag given in if_none_match"));
        }
        // A blob host may stream without a length (chunked); the API's
        // head then says how large the blob is.
        let size = if meta::length_known(resp.headers()) {
            None
        } else {
            Some(self.client.head(key.as_str()).await?.size)
        };
        let (meta, served) = meta::from_read(key, resp.headers(), size)?;
        // The condition is checked here too, for hosts that ignore If-Match.
        if opts
            .if_match
            .as_deref()
            .is_some_and(|want| want != meta.etag)
        {
            return Err(
                Error::new(ErrorKind::PreconditionFailed, Provider::Vercel).with_message(format!(
                    "the blob's etag is {}, not the one given in if_match",
                    meta.etag
                )),
            );
        }
        if opts.range.is_some() && resp.status().as_u16() != 206 && meta.size > 0 {
            return Err(error::malformed(
                "get",
                "the blob host ignored the Range header",
            ));
        }
        let endpoint = self.client.blob_endpoint();
        let stream = resp
            .bytes_stream()
            .map_err(move |e| error::from_transport("reading a blob", &endpoint, e))
            .boxed();
        Ok(Blob::new(meta, served, stream))
    }
}

#[async_trait]
impl Driver for VercelStore {
    fn provider(&self) -> Provider {
        Provider::Vercel
    }

    fn retry_policy(&self) -> Option<&RetryPolicy> {
        Some(self.client.config().retry_policy())
    }

    fn endpoint(&self) -> String {
        self.client.api_endpoint()
    }

    fn supports(&self) -> Capabilities {
        let mut caps = Capabilities::all();
        caps.cache_control = false;
        caps.content_disposition = false;
        caps.user_metadata = false;
        caps.etag_per_write = false;
        caps
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let access = self.client.config().access_level();
        let max_age = opts
            .cache_control
            .as_deref()
            .map(|v| meta::max_age_for(v, access))
            .transpose()?;
        let (mut headers, idempotent) = Self::mode_headers(&opts.mode);
        headers.content_type = Some(opts.content_type_for(key));
        headers.cache_control_max_age = max_age;

        let target = multipart::Target {
            client: &self.client,
            pathname: key.as_str(),
            headers: &headers,
            idempotency: idempotent,
        };
        let threshold = self.client.config().threshold();
        let (result, size) = match body.as_bytes() {
            // Bytes in hand need no copy into parts.
            Some(bytes) if bytes.len() as u64 <= threshold => {
                let bytes = bytes.clone();
                let size = bytes.len() as u64;
                let result = self
                    .client
                    .put(key.as_str(), &headers, bytes, idempotent)
                    .await?;
                (result, size)
            }
            _ => multipart::upload(target, body.into_stream()).await?,
        };
        let mut meta = BlobMeta::new(
            key.clone(),
            size,
            result.etag,
            SystemTime::now(),
            result.content_type,
        );
        meta.cache_control = opts.cache_control;
        if result.pathname != key.as_str() {
            return Err(error::malformed(
                "put",
                format!("the blob was stored as `{}`", result.pathname),
            )
            .with_key(key.as_str()));
        }
        Ok(meta)
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        self.read(key, &opts).await
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        let head = self.client.head(key.as_str()).await?;
        meta::from_head(key, head)
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        self.client.delete(&[key.as_str()]).await
    }

    async fn delete_blobs(&self, keys: &[BlobKey]) -> Result<()> {
        // The service takes up to 1,000 URLs per call.
        for batch in keys.chunks(1000) {
            let pathnames: Vec<&str> = batch.iter().map(BlobKey::as_str).collect();
            self.client.delete(&pathnames).await?;
        }
        Ok(())
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        let page = self
            .client
            .list(
                opts.page_size(),
                opts.prefix_str(),
                opts.cursor.as_deref(),
                opts.delimiter,
            )
            .await?;
        let mut entries = Vec::with_capacity(page.blobs.len());
        for blob in page.blobs {
            let Ok(key) = BlobKey::new(blob.pathname) else {
                continue;
            };
            let uploaded = meta::parse_uploaded_at("list", &blob.uploaded_at)?;
            entries.push(ListEntry::new(key, blob.size, blob.etag, uploaded));
        }
        let cursor = page.cursor.filter(|c| page.has_more && !c.is_empty());
        Ok(ListPage::new(entries, page.folders, cursor))
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        let source = self
            .stat_blob(from)
            .await
            .map_err(|e| e.with_key(from.as_str()))?;
        let (headers, idempotency) = Self::mode_headers(&opts.mode);
        let result = self
            .client
            .copy(from.as_str(), to.as_str(), &headers, idempotency)
            .await?;
        // Etags follow content: an unchanged etag means the source we
        // measured is what was copied.
        let size = if result.etag == source.etag {
            source.size
        } else {
            self.stat_blob(to).await?.size
        };
        let mut meta = BlobMeta::new(
            to.clone(),
            size,
            result.etag,
            SystemTime::now(),
            result.content_type,
        );
        meta.cache_control = source.cache_control;
        Ok(meta)
    }

    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        self.presigner.sign(&self.client, key.as_str(), &opts).await
    }
}

impl fmt::Debug for VercelStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VercelStore")
            .field("config", self.client.config())
            .finish()
    }
}
