//! State shared by every request of one running emulator.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::multipart::Upload;
use crate::secret::Secret;
use crate::storage::Storage;

/// Everything a handler needs.
#[derive(Debug)]
pub struct AppState {
    /// The store id (the fourth `_`-separated field of the token).
    pub store_id: String,
    /// The read-write token; also the HMAC key for client tokens and callbacks.
    pub token: Secret,
    /// Blob contents and metadata.
    pub storage: Storage,
    /// `http://<addr>`: the API base and the root of blob URLs.
    pub base_url: String,
    /// Largest body accepted in one request (a put or one multipart part).
    pub max_body_size: u64,
    /// Multipart uploads in progress, by upload id.
    pub uploads: Mutex<HashMap<String, Upload>>,
    /// Client for upload-completed callbacks.
    pub http: reqwest::Client,
}
