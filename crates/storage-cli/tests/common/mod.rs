//! Helpers for the `blobctl` process tests: run the real binary with a
//! clean environment, and start the Vercel emulator in-process.

#![allow(dead_code)] // each test file uses a different subset

pub mod corpus;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use storage_testkit::fault_proxy::{FaultPlan, FaultProxy};
use vercel_blob_emulator::{Emulator, RunningEmulator};

/// The binary under test, with none of the storage variables of the
/// developer's shell leaking in.
pub fn blobctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blobctl"));
    for (name, _) in std::env::vars() {
        if name.starts_with("BLOB_")
            || name.starts_with("AZURE")
            || name.starts_with("LOCAL_STORAGE")
            || name.starts_with("VERCEL_")
            || name.starts_with("AWS_")
            || name.starts_with("S3_")
            || name.starts_with("GOOGLE_")
            || name.starts_with("GCS_")
            || name == "STORAGE_EMULATOR_HOST"
        {
            cmd.env_remove(name);
        }
    }
    // A developer's RUST_LOG would add log lines to every test's stderr.
    cmd.env_remove("RUST_LOG");
    cmd.stdin(Stdio::null());
    cmd
}

/// What a finished run left.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Asserts exit code 0 and returns self.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cmd` to the end.
pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run blobctl");
    Run {
        code: status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `blobctl args…`.
pub fn blob(args: &[&str]) -> Run {
    run(blobctl().args(args))
}

/// `file://<dir>/` with an explicit `//` store separator before `key`.
pub fn file_url(dir: &Path, key: &str) -> String {
    format!("file://{}//{key}", dir.display())
}

/// The Vercel emulator on its own runtime, for as long as this lives.
pub struct Vercel {
    runtime: tokio::runtime::Runtime,
    emulator: Option<RunningEmulator>,
}

impl Vercel {
    /// Starts an in-memory emulator on a free port.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let emulator = runtime
            .block_on(Emulator::builder().start())
            .expect("start emulator");
        Vercel {
            runtime,
            emulator: Some(emulator),
        }
    }

    /// `blobctl` pointed at the emulator through the library's variables.
    pub fn blobctl(&self) -> Command {
        let emulator = self.emulator.as_ref().expect("running");
        let mut cmd = blobctl();
        cmd.env("BLOB_STORAGE_PROVIDER", "vercel")
            .env("VERCEL_BLOB_API_URL", emulator.api_url())
            // The adapter reads blobs under `<host>/<access>`; private is
            // the default access.
            .env(
                "VERCEL_BLOB_HOST_URL",
                format!("{}/private", emulator.blob_host_url()),
            )
            .env("BLOB_READ_WRITE_TOKEN", emulator.rw_token().expose());
        cmd
    }

    /// Runs `blobctl args…` against the emulator.
    pub fn blob(&self, args: &[&str]) -> Run {
        run(self.blobctl().args(args))
    }

    /// Fault proxies in front of the emulator's API and its blob host,
    /// running on the emulator's runtime.
    pub fn proxies(&self, api: FaultPlan, host: FaultPlan) -> (FaultProxy, FaultProxy) {
        let upstream = self.emulator.as_ref().expect("running").addr();
        self.runtime.block_on(async {
            (
                FaultProxy::start(upstream, api).await.expect("API proxy"),
                FaultProxy::start(upstream, host)
                    .await
                    .expect("blob host proxy"),
            )
        })
    }

    /// `blobctl` pointed at the emulator through `api` and `host`.
    pub fn blobctl_through(&self, api: &FaultProxy, host: &FaultProxy) -> Command {
        let emulator = self.emulator.as_ref().expect("running");
        let direct = format!("http://{}", emulator.addr());
        let mut cmd = self.blobctl();
        cmd.env(
            "VERCEL_BLOB_API_URL",
            emulator.api_url().replacen(&direct, &api.url(), 1),
        )
        .env(
            "VERCEL_BLOB_HOST_URL",
            format!(
                "{}/private",
                emulator.blob_host_url().replacen(&direct, &host.url(), 1)
            ),
        );
        cmd
    }
}

impl Drop for Vercel {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}
