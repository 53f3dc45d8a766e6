//! A small recordings service, the kind of app this library is for: the
//! browser asks for a signed upload URL, sends the file straight to storage,
//! then lists recordings with signed download links.
//!
//! It only talks to `storage::from_env()`, so `BLOB_STORAGE_PROVIDER` moves it
//! between local disk, Azure and Vercel without a code change. With the local
//! provider it also mounts the signed-URL router under `/blobs`.
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /` | the upload page |
//! | `POST /api/uploads` `{filename, content_type, size}` | a signed upload request |
//! | `GET /api/recordings` | recordings with signed download URLs |
//! | `DELETE /api/recordings?key=…` | deletes one |

mod api;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;
use storage::BlobStore;

/// Where recordings live in the store.
pub const PREFIX: &str = "recordings/";

/// The largest upload the service signs for.
pub const MAX_UPLOAD_BYTES: u64 = 200 * 1024 * 1024;

/// The app: API, page, and (for the local provider) the blob router.
pub fn app(store: Arc<dyn BlobStore>, blob_router: Option<Router>) -> Router {
    let api = Router::new()
        .route("/", get(api::page))
        .route("/api/uploads", post(api::create_upload))
        .route("/api/recordings", get(api::list))
        .route("/api/recordings", delete(api::remove))
        .with_state(store);
    match blob_router {
        Some(blobs) => api.nest("/blobs", blobs),
        None => api,
    }
}

/// The headless-browser script that drives this page (upload, then the
/// download through the listed link), for `storage_testkit::browser`.
pub fn browser_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser-tests/upload.mjs")
}

/// Builds the app from the environment, as `main` does.
pub fn app_from_env() -> storage::Result<Router> {
    let store = storage::from_env()?;
    let blobs = storage::local_router_from_env()?;
    Ok(app(store, blobs))
}
