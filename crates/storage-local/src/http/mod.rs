//! The axum `Router` that serves the local store's signed URLs, so browsers
//! can upload and download directly, as they would from Azure or Vercel.
//!
//! Mount it where `LOCAL_STORAGE_BASE_URL` points (by default `/blobs`):
//!
//! ```
//! use storage_local::{http, LocalConfig, LocalStore};
//! # fn main() -> storage_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = LocalStore::new(LocalConfig::new(dir.path()))?;
//! let options = http::RouterOptions::new().allow_origin("http://localhost:5173")?;
//! let app: axum::Router = axum::Router::new().nest("/blobs", http::router_with(store, options));
//! # Ok(()) }
//! ```
//!
//! - `GET`/`HEAD` serve the blob with `Content-Type`, `ETag`,
//!   `Last-Modified`, `Cache-Control`, `Content-Disposition` from its
//!   properties (or the overrides the URL was signed with), single `Range`
//!   requests (206, 416) and `If-None-Match` (304).
//! - `PUT` streams the body to the store; the URL's size bound is enforced
//!   while streaming (a body over it is cut off and nothing is kept) and its
//!   content type must match the request's. 201 with the blob's etag.
//! - `DELETE` deletes; 204.
//! - A refused URL gets 403 with `{"error": "<short reason>"}`: expired,
//!   signature does not match (tampered, or another key), wrong method,
//!   malformed. A missing blob gets 404.

mod delete;
mod download;
mod range;
mod refusal;
mod upload;

use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use std::time::SystemTime;

use storage_core::{BlobKey, Error, ErrorKind, Result, SignMethod};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{Grant, LocalStore};

/// How the router answers browsers from other origins, and how much it
/// accepts in one upload.
#[derive(Debug, Clone, Default)]
pub struct RouterOptions {
    origins: Vec<HeaderValue>,
    any_origin: bool,
    max_upload_bytes: Option<u64>,
}

impl RouterOptions {
    /// Same-origin only, no size limit beyond what each URL was signed with.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets pages served from `origin` (e.g. `https://app.example`) call the router.
    pub fn allow_origin(mut self, origin: &str) -> Result<Self> {
        let value = HeaderValue::from_str(origin.trim_end_matches('/')).map_err(|_| {
            Error::without_provider(ErrorKind::InvalidInput)
                .with_message(format!("`{}` is not a valid origin", origin.escape_debug()))
        })?;
        self.origins.push(value);
        Ok(self)
    }

    /// Lets any origin call the router (the URLs are still signed).
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Refuses uploads larger than `bytes`, whatever the URL allows.
    pub fn max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = Some(bytes);
        self
    }

    fn cors(&self) -> Option<CorsLayer> {
        let allow = if self.any_origin {
            AllowOrigin::any()
        } else if !self.origins.is_empty() {
            AllowOrigin::list(self.origins.clone())
        } else {
            return None;
        };
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::DELETE])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::RANGE,
                    header::IF_NONE_MATCH,
                    // Sent by browser code written for Azure SAS uploads.
                    HeaderName::from_static("x-ms-blob-type"),
                ])
                .expose_headers([
                    header::ETAG,
                    header::CONTENT_LENGTH,
                    header::CONTENT_RANGE,
                    header::CONTENT_DISPOSITION,
                ])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

struct Shared {
    store: LocalStore,
    max_upload_bytes: Option<u64>,
}

impl Shared {
    /// Checks the request's signature for `method` (before anything else, so
    /// an unsigned request learns nothing), then parses the key.
    fn authorize(
        &self,
        method: SignMethod,
        key: String,
        query: Option<&str>,
    ) -> std::result::Result<(Grant, BlobKey), Denied> {
        let grant = self
            .store
            .signer()
            .verify(method, &key, query.unwrap_or(""), SystemTime::now())
            .map_err(Denied::Signature)?;
        let key = BlobKey::new(key).map_err(Denied::Key)?;
        Ok((grant, key))
    }
}

/// Why [`Shared::authorize`] turned a request away.
enum Denied {
    Signature(crate::Refusal),
    Key(Error),
}

impl axum::response::IntoResponse for Denied {
    fn into_response(self) -> axum::response::Response {
        match self {
            Denied::Signature(refusal) => refusal::refused(refusal),
            Denied::Key(e) => refusal::from_error(&e),
        }
    }
}

/// The router with default options (same-origin only).
pub fn router(store: LocalStore) -> Router {
    router_with(store, RouterOptions::new())
}

/// The router with `options`.
pub fn router_with(store: LocalStore, options: RouterOptions) -> Router {
    let shared = Arc::new(Shared {
        store,
        max_upload_bytes: options.max_upload_bytes,
    });
    let router = Router::new()
        .route(
            "/{*key}",
            get(download::download)
                .put(upload::upload)
                .delete(delete::delete),
        )
        .with_state(shared);
    match options.cors() {
        Some(cors) => router.layer(cors),
        None => router,
    }
}
