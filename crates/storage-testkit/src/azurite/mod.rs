//! Azurite, the Azure Storage emulator, for the Azure adapter's tests.
//!
//! [`Azurite::shared`] gives every test in a test binary the same running
//! Azurite, started on first use:
//!
//! 1. If `AZURITE_BLOB_STORAGE_URL` is set, that Azurite is used as is.
//! 2. Otherwise the npm package pinned in `crates/storage-testkit/azurite/`
//!    is installed with `npm ci` when `node_modules` is missing (once, under
//!    a file lock, when several test binaries start together), and
//!    `azurite-blob` is started on a free loopback port with in-memory
//!    storage. It is stopped when the test process exits, however it exits.
//! 3. With the `testcontainers` feature and
//!    `STORAGE_TESTKIT_AZURITE=docker`, the Azurite Docker image is used
//!    instead (for machines with Docker and no Node).
//!
//! When Azurite cannot be had, [`Azurite::shared`] returns an error saying
//! why; tests should panic with it, never skip.
//!
//! Each test then takes its own container with [`Azurite::fresh_container`],
//! which is how the conformance suite's "empty namespace" contract is met.
//!
//! ```no_run
//! use storage_testkit::azurite::Azurite;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
//! let container = azurite.fresh_container().await.unwrap_or_else(|e| panic!("{e}"));
//! let connection_string = azurite.connection_string();
//! # let _ = (container, connection_string);
//! # }
//! ```

#[cfg(feature = "testcontainers")]
mod docker;
mod install;
mod process;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use reqwest::header::{HeaderMap, HeaderValue};
use storage_azure::rest::VERSION;
use storage_azure::shared_key::SharedKey;

/// Azurite's well-known development account.
pub use storage_azure::EMULATOR_ACCOUNT as ACCOUNT;
/// Azurite's well-known development key (public; it only opens the emulator).
pub use storage_azure::EMULATOR_ACCOUNT_KEY as ACCOUNT_KEY;

/// The variable naming an Azurite that is already running.
pub const URL_VAR: &str = "AZURITE_BLOB_STORAGE_URL";

/// Why Azurite could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzuriteError(String);

impl fmt::Display for AzuriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Azurite is not available: {}", self.0)
    }
}

impl std::error::Error for AzuriteError {}

/// A running Azurite blob service.
pub struct Azurite {
    blob_endpoint: String,
    _running: Running,
}

enum Running {
    External,
    Npm(#[allow(dead_code)] crate::server_process::ServerProcess),
    #[cfg(feature = "testcontainers")]
    Docker(#[allow(dead_code)] docker::Container),
}

impl fmt::Debug for Azurite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Azurite")
            .field("blob_endpoint", &self.blob_endpoint)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Result<Azurite, AzuriteError>> = OnceLock::new();
static CONTAINERS: AtomicU64 = AtomicU64::new(0);

impl Azurite {
    /// The Azurite shared by this process, started (and installed) on first
    /// call. It blocks while doing so; other callers wait for the outcome,
    /// and a failure is reported to every caller rather than retried.
    pub fn shared() -> Result<&'static Azurite, AzuriteError> {
        SHARED
            .get_or_init(Self::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn start() -> Result<Azurite, AzuriteError> {
        if let Some(url) = std::env::var(URL_VAR).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(Azurite {
                blob_endpoint: endpoint_from_url(&url),
                _running: Running::External,
            });
        }
        #[cfg(feature = "testcontainers")]
        if std::env::var("STORAGE_TESTKIT_AZURITE").as_deref() == Ok("docker") {
            let container = docker::start().map_err(AzuriteError)?;
            return Ok(Azurite {
                blob_endpoint: format!("http://127.0.0.1:{}/{ACCOUNT}", container.port),
                _running: Running::Docker(container),
            });
        }
        let bin = install::ensure_installed().map_err(AzuriteError)?;
        let running = process::start(&bin).map_err(AzuriteError)?;
        Ok(Azurite {
            blob_endpoint: format!("http://127.0.0.1:{}/{ACCOUNT}", running.port),
            _running: Running::Npm(running),
        })
    }

    /// The blob service URL, account included: `http://127.0.0.1:<port>/devstoreaccount1`.
    pub fn blob_endpoint(&self) -> &str {
        &self.blob_endpoint
    }

    /// A connection string for the development account on this Azurite.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={};",
            self.blob_endpoint
        )
    }

    /// A [`FaultProxy`](crate::fault_proxy::FaultProxy) in front of this
    /// Azurite, applying `plan`, and a connection string whose requests go
    /// through it (same account and key).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), storage_testkit::azurite::AzuriteError> {
    /// use storage_testkit::{azurite::Azurite, fault_proxy::FaultPlan};
    /// let (proxy, connection_string) = Azurite::shared()?.behind_proxy(FaultPlan::none()).await?;
    /// assert!(connection_string.contains(&proxy.url()));
    /// # Ok(()) }
    /// ```
    pub async fn behind_proxy(
        &self,
        plan: crate::fault_proxy::FaultPlan,
    ) -> Result<(crate::fault_proxy::FaultProxy, String), AzuriteError> {
        let endpoint = self.blob_endpoint();
        let upstream: std::net::SocketAddr = endpoint
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|authority| authority.parse().ok())
            .ok_or_else(|| {
                AzuriteError(format!("its endpoint {endpoint} is not http://IP:PORT/…"))
            })?;
        let proxy = crate::fault_proxy::FaultProxy::start(upstream, plan)
            .await
            .map_err(|e| AzuriteError(format!("the fault proxy did not start: {e}")))?;
        let cs = self
            .connection_string()
            .replace(endpoint, &format!("{}/{ACCOUNT}", proxy.url()));
        Ok((proxy, cs))
    }

    /// Creates a container that no other test in this run uses, and returns
    /// its name.
    pub async fn fresh_container(&self) -> Result<String, AzuriteError> {
        let n = CONTAINERS.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}-{n}-{:08x}", std::process::id(), fastrand::u32(..));
        self.create_container(&name).await?;
        Ok(name)
    }

    /// Creates `name` (`PUT ?restype=container`, signed with Shared Key).
    pub async fn create_container(&self, name: &str) -> Result<(), AzuriteError> {
        let fail =
            |what: String| AzuriteError(format!("creating container `{name}` failed: {what}"));
        let url = format!("{}/{name}?restype=container", self.blob_endpoint);
        let parsed = url::Url::parse(&url).map_err(|e| fail(e.to_string()))?;
        let signer = SharedKey::new(ACCOUNT, ACCOUNT_KEY).map_err(|e| fail(e.to_string()))?;
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let date = HeaderValue::from_str(&date).map_err(|e| fail(e.to_string()))?;
        headers.insert("x-ms-date", date);
        headers.insert("x-ms-version", HeaderValue::from_static(VERSION));
        headers.insert("content-length", HeaderValue::from_static("0"));
        signer.sign("PUT", &parsed, &mut headers);
        // A client per call: tests run on separate runtimes, and a pooled
        // connection must not outlive the runtime that opened it.
        let response = reqwest::Client::new()
            .put(parsed)
            .headers(headers)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(fail(format!("HTTP {status}: {}", body.trim())))
    }
}

/// `AZURITE_BLOB_STORAGE_URL` may name the server (`http://127.0.0.1:10000`)
/// or the account endpoint; the account goes into the path either way.
fn endpoint_from_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let has_path = url
        .split_once("://")
        .map(|(_, rest)| rest.contains('/'))
        .unwrap_or(false);
    if has_path {
        url.to_string()
    } else {
        format!("{url}/{ACCOUNT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_var_gets_the_account_path() {
        assert_eq!(
            endpoint_from_url("http://127.0.0.1:10000/"),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(
            endpoint_from_url("http://h:1/devstoreaccount1"),
            "http://h:1/devstoreaccount1"
        );
    }
}
