//! Building, starting and stopping an emulator, and routing its requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::header::HOST;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::pathname;
use crate::query::Query;
use crate::secret::Secret;
use crate::state::AppState;
use crate::storage::{Storage, StorageConfig};

/// Default largest body of one request: 1 GiB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 1024 * 1024 * 1024;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The token is not `vercel_blob_rw_<storeId>_<secret>`, or disagrees with the store id.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Binding the listener failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// The storage directory could not be prepared.
    #[error("cannot open storage: {0}")]
    Storage(#[source] std::io::Error),
    /// The HTTP client for callbacks could not be built.
    #[error("cannot build HTTP client: {0}")]
    Client(String),
}

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with defaults: in-memory storage, `127.0.0.1:0`, a random token.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures an emulator.
#[derive(Debug)]
pub struct EmulatorBuilder {
    store_id: Option<String>,
    token: Option<Secret>,
    storage: StorageConfig,
    bind: String,
    max_body_size: u64,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            store_id: None,
            token: None,
            storage: StorageConfig::InMemory,
            bind: "127.0.0.1:0".to_owned(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
        }
    }
}

/// Splits `vercel_blob_rw_<storeId>_<secret>` the way the SDK does.
pub fn store_id_of(token: &str) -> Option<&str> {
    let mut fields = token.split('_');
    let ok = fields.next() == Some("vercel")
        && fields.next() == Some("blob")
        && fields.next() == Some("rw");
    let store = fields.next().filter(|s| !s.is_empty())?;
    let secret_present = fields.next().is_some_and(|s| !s.is_empty());
    (ok && secret_present).then_some(store)
}

impl EmulatorBuilder {
    /// The store id; derived from the token when not set.
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// The read-write token (`vercel_blob_rw_<storeId>_<secret>`); random when not set.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// Memory (default) or a directory.
    pub fn storage(mut self, storage: StorageConfig) -> Self {
        self.storage = storage;
        self
    }

    /// Listening address; loopback by default.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Largest body of one request (a put, or one multipart part).
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Binds, and serves in the background until `shutdown`.
    pub async fn start(self) -> Result<RunningEmulator, StartError> {
        let (store_id, token) = match (self.store_id, self.token) {
            (store, Some(token)) => {
                let from_token = store_id_of(token.expose())
                    .ok_or_else(|| {
                        StartError::InvalidToken(
                            "expected vercel_blob_rw_<storeId>_<secret>".into(),
                        )
                    })?
                    .to_owned();
                if store.as_ref().is_some_and(|s| *s != from_token) {
                    return Err(StartError::InvalidToken(
                        "the token names another store id".into(),
                    ));
                }
                (from_token, token)
            }
            (store, None) => {
                let store = store.unwrap_or_else(|| "emulator".to_owned());
                if store.is_empty() || store.contains('_') {
                    return Err(StartError::InvalidToken(
                        "store id must be non-empty and contain no '_'".into(),
                    ));
                }
                let secret: String = (0..32).map(|_| fastrand::alphanumeric()).collect();
                let token = Secret::new(format!("vercel_blob_rw_{store}_{secret}"));
                (store, token)
            }
        };
        let storage = Storage::open(&self.storage).map_err(StartError::Storage)?;
        let listener = tokio::net::TcpListener::bind(&self.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.bind.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.bind.clone(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| StartError::Client(e.to_string()))?;
        let state = Arc::new(AppState {
            store_id,
            token,
            storage,
            base_url: format!("http://{addr}"),
            max_body_size: self.max_body_size,
            uploads: Mutex::new(HashMap::new()),
            http,
        });
        let app = Router::new()
            .fallback(dispatch)
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&state));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(err) = served {
                tracing::error!(%err, "emulator server stopped with an error");
            }
        });
        tracing::info!(%addr, store_id = %state.store_id, "vercel blob emulator listening");
        Ok(RunningEmulator {
            addr,
            state,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }
}

/// A serving emulator. Dropping it stops the server too, without waiting.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Value for `VERCEL_BLOB_API_URL`.
    pub fn api_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Root of blob URLs: `<blob_host_url>/<public|private>/<pathname>`.
    pub fn blob_host_url(&self) -> String {
        format!("{}{}", self.state.base_url, pathname::BLOB_HOST_PREFIX)
    }

    /// The store id.
    pub fn store_id(&self) -> &str {
        &self.state.store_id
    }

    /// Value for `BLOB_READ_WRITE_TOKEN`.
    pub fn rw_token(&self) -> &Secret {
        &self.state.token
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Single entry for every request, so that routing by Host header, the blob
/// prefix and the `/api/blob` base can all be decided in one place and every
/// failure leaves as JSON.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let path = parts.uri.path().to_owned();
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    tracing::debug!(method = %parts.method, %path, "request");

    let result = if let Some((store, access)) = pathname::parse_real_blob_host(&host) {
        if store == state.store_id {
            let raw = path.strip_prefix('/').unwrap_or(&path);
            crate::blob_host::handle(&state, &parts.method, access, raw, &query, &parts.headers)
                .await
        } else {
            Err(ApiError::not_found())
        }
    } else if let Some((access, raw)) = pathname::strip_blob_host_prefix(&path) {
        crate::blob_host::handle(&state, &parts.method, access, raw, &query, &parts.headers).await
    } else {
        let api_path = path.strip_prefix("/api/blob").unwrap_or(&path);
        crate::api::handle(
            Arc::clone(&state),
            parts.method.clone(),
            api_path,
            query,
            parts.headers,
            body,
        )
        .await
    };
    match result {
        Ok(response) => response,
        Err(err) => {
            if err.status.is_server_error() {
                tracing::warn!(%err, %path, "request failed");
            }
            err.into_response()
        }
    }
}
