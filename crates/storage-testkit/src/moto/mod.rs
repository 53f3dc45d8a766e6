//! moto, the AWS emulator from PyPI, as the S3 backend of the S3 adapter's
//! tests.
//!
//! [`Moto::shared`] gives every test in a test binary the same running
//! moto, started on first use:
//!
//! 1. If `MOTO_S3_URL` is set (`http://127.0.0.1:5000`), that server is
//!    used as is.
//! 2. Otherwise the packages pinned in `crates/storage-testkit/moto/
//!    requirements.txt` (moto\[server\] and everything it pulls in) are
//!    installed into `crates/storage-testkit/moto/.venv` with
//!    [`python::venv`](crate::python::venv) (once, under a file lock), and
//!    `moto_server` is started on a free loopback port. It is stopped when
//!    the test process exits, however it exits
//!    ([`server_process`](crate::server_process)).
//!
//! When moto cannot be had, [`Moto::shared`] returns an error saying why;
//! tests should panic with it, never skip.
//!
//! Each test then takes its own bucket with [`Moto::fresh_bucket`]. moto
//! does not check request signatures, so buckets are created with a plain,
//! unsigned `PUT /<bucket>`; the adapter under test still signs every
//! request it sends, with [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`].
//!
//! What moto 5 does not do as S3 does, and where the tests get it instead:
//! it accepts any presigned URL (no signature or expiry check) and ignores
//! `If-Match` on `CompleteMultipartUpload`; [`Moto::strict`] puts a
//! [`Gateway`] in front of it that makes both checks. It also ignores
//! `If-None-Match` / `If-Match` on `CopyObject`, which S3 documents only
//! for `PutObject` and `CompleteMultipartUpload`, so a conditional copy is
//! best made as a multipart copy completed with the condition.
//!
//! ```no_run
//! use storage_testkit::moto::Moto;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let moto = Moto::shared().unwrap_or_else(|e| panic!("{e}"));
//! let bucket = moto.fresh_bucket().await.unwrap_or_else(|e| panic!("{e}"));
//! let endpoint = moto.endpoint();
//! # let _ = (bucket, endpoint);
//! # }
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::server_process::{ServerCommand, ServerProcess};

mod gateway;
mod sigv4;

pub use gateway::Gateway;

/// The variable naming a moto server that is already running.
pub const URL_VAR: &str = "MOTO_S3_URL";

/// The access key id the tests sign with (moto accepts any).
pub const ACCESS_KEY_ID: &str = "AKIAMOTOTESTKEY00000";

/// The secret key the tests sign with (moto accepts any; it opens nothing).
pub const SECRET_ACCESS_KEY: &str = "moto-test-secret-key-not-a-real-one/000";

/// The region moto is asked to emulate.
pub const REGION: &str = "us-east-1";

/// Why moto could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoError(String);

impl fmt::Display for MotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moto (the S3 emulator) is not available: {}", self.0)
    }
}

impl std::error::Error for MotoError {}

/// A running moto server.
pub struct Moto {
    endpoint: String,
    _running: Option<ServerProcess>,
}

impl fmt::Debug for Moto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Moto")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Result<Moto, MotoError>> = OnceLock::new();
static BUCKETS: AtomicU64 = AtomicU64::new(0);

impl Moto {
    /// The moto shared by this process, started (and installed) on first
    /// call. It blocks while doing so; other callers wait for the outcome,
    /// and a failure is reported to every caller rather than retried.
    pub fn shared() -> Result<&'static Moto, MotoError> {
        SHARED
            .get_or_init(Self::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn start() -> Result<Moto, MotoError> {
        if let Some(url) = std::env::var(URL_VAR).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(Moto {
                endpoint: url.trim().trim_end_matches('/').to_string(),
                _running: None,
            });
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("moto");
        let venv = crate::python::venv(&dir).map_err(MotoError)?;
        let program = venv.join("bin").join("moto_server");
        let args = |port: u16| {
            ["-H", "127.0.0.1", "-p", &port.to_string()]
                .map(String::from)
                .to_vec()
        };
        let running = crate::server_process::start(&ServerCommand {
            name: "moto",
            program: &program,
            args: &args,
            env: vec![
                ("AWS_DEFAULT_REGION".into(), REGION.into()),
                // Python buffers a piped stdout; the log should be current.
                ("PYTHONUNBUFFERED".into(), "1".into()),
            ],
            ready: &is_moto,
            start_timeout: Duration::from_secs(60),
        })
        .map_err(MotoError)?;
        Ok(Moto {
            endpoint: format!("http://127.0.0.1:{}", running.port),
            _running: Some(running),
        })
    }

    /// The S3 endpoint, `http://127.0.0.1:<port>` (path-style addressing).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A [`Gateway`] in front of this moto, on the calling runtime, that
    /// adds the checks of S3 moto does not make (presigned URL signatures
    /// and expiry, `If-Match` on `CompleteMultipartUpload`); point the
    /// adapter at its [`url`](Gateway::url) and keep it for the test.
    pub async fn strict(&self) -> Result<Gateway, MotoError> {
        gateway::start(&self.endpoint)
            .await
            .map_err(|e| MotoError(format!("the gateway did not start: {e}")))
    }

    /// A [`FaultProxy`](crate::fault_proxy::FaultProxy) in front of this
    /// moto, applying `plan`; point the adapter at its
    /// [`url`](crate::fault_proxy::FaultProxy::url).
    pub async fn behind_proxy(
        &self,
        plan: crate::fault_proxy::FaultPlan,
    ) -> Result<crate::fault_proxy::FaultProxy, MotoError> {
        let upstream: SocketAddr = self
            .endpoint
            .strip_prefix("http://")
            .and_then(|authority| authority.parse().ok())
            .ok_or_else(|| {
                MotoError(format!(
                    "its endpoint {} is not http://IP:PORT",
                    self.endpoint
                ))
            })?;
        crate::fault_proxy::FaultProxy::start(upstream, plan)
            .await
            .map_err(|e| MotoError(format!("the fault proxy did not start: {e}")))
    }

    /// Creates a bucket that no other test in this run uses, and returns
    /// its name (lowercase, as S3 bucket names must be).
    pub async fn fresh_bucket(&self) -> Result<String, MotoError> {
        let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}-{n}-{:08x}", std::process::id(), fastrand::u32(..));
        self.create_bucket(&name).await?;
        Ok(name)
    }

    /// Creates `name` with a plain `PUT /<name>` (moto checks no signature).
    pub async fn create_bucket(&self, name: &str) -> Result<(), MotoError> {
        let fail = |what: String| MotoError(format!("creating bucket `{name}` failed: {what}"));
        // A client per call: tests run on separate runtimes, and a pooled
        // connection must not outlive the runtime that opened it.
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .header("content-length", "0")
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

/// Whether the server on `port` is moto (and not whatever else may have
/// grabbed the port): moto serves its own API under `/moto-api/`.
fn is_moto(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /moto-api/data.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if conn.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = conn.take(1 << 20).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains("\r\n\r\n{")
}
