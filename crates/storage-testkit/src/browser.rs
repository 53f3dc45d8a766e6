//! The headless-browser harness: Debian's Chromium driven by a Node script
//! (Playwright, from the script folder's own lockfile), for tests where a
//! browser is the user.
//!
//! The page-specific script stays beside the page it drives (the
//! recordings service keeps `examples/browser-tests/upload.mjs`); this module
//! owns what every such test repeats: finding Chromium (never a downloaded
//! one), installing the script's npm packages, running it with the
//! variables it reads, and reading the JSON report it prints last.
//!
//! ```no_run
//! # async fn demo() {
//! use std::path::Path;
//! use storage_testkit::browser::{BrowserScript, pseudo_random_bytes};
//! let script = BrowserScript::new(Path::new("examples/browser-tests/upload.mjs"));
//! let bytes = pseudo_random_bytes(1024);
//! # let _ = bytes;
//! let run = script.run(&[("APP_URL", "http://127.0.0.1:3000/".into())]).await;
//! let report = run.report();
//! assert_eq!(report["downloadStatus"], 200);
//! # }
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where Chromium is: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`.
/// Panics, saying how to install it, when it is not there.
pub fn chromium() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.exists(),
        "Chromium is not at {}: install Debian's `chromium` package (scripts/install-test-deps \
         does it) or set CHROMIUM_PATH",
        path.display()
    );
    path
}

/// A Node script that drives Chromium, in a folder holding its
/// `package.json` and `package-lock.json`.
#[derive(Debug, Clone)]
pub struct BrowserScript {
    script: PathBuf,
    chromium: PathBuf,
}

impl BrowserScript {
    /// Finds Chromium and installs the script folder's npm packages once;
    /// panics, saying what is missing, when either cannot be had.
    pub fn new(script: &Path) -> Self {
        let chromium = chromium();
        let dir = script
            .parent()
            .unwrap_or_else(|| panic!("{} has no folder", script.display()));
        crate::node::ensure_npm_packages(dir);
        BrowserScript {
            script: script.to_path_buf(),
            chromium,
        }
    }

    /// Runs the script with `env` plus `CHROMIUM_PATH` and `SCREENSHOT`
    /// (from `BROWSER_TEST_SCREENSHOT`, to keep a picture of the page).
    pub async fn run(&self, env: &[(&str, OsString)]) -> BrowserRun {
        let mut command = tokio::process::Command::new("node");
        command
            .arg(&self.script)
            .env("CHROMIUM_PATH", &self.chromium)
            .env(
                "SCREENSHOT",
                std::env::var("BROWSER_TEST_SCREENSHOT").unwrap_or_default(),
            );
        for (name, value) in env {
            command.env(name, value);
        }
        let out = command
            .output()
            .await
            .unwrap_or_else(|e| panic!("could not run `node` (is Node.js installed?): {e}"));
        BrowserRun {
            success: out.status.success(),
            status: out.status.to_string(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What one browser run left.
#[derive(Debug, Clone)]
pub struct BrowserRun {
    /// Whether the script exited 0.
    pub success: bool,
    /// The exit status, for messages.
    pub status: String,
    /// What it printed; the last line is its JSON report.
    pub stdout: String,
    /// Its diagnostics.
    pub stderr: String,
}

impl BrowserRun {
    /// The JSON report of a successful run; panics with everything the run
    /// printed when it failed or printed no report.
    pub fn report(&self) -> serde_json::Value {
        assert!(
            self.success,
            "the browser run failed ({}):\n{}\n{}",
            self.status, self.stdout, self.stderr
        );
        serde_json::from_str(self.stdout.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("unreadable browser report ({e}): {}", self.stdout))
    }
}

/// Deterministic pseudo-random bytes (xorshift), so a failing upload can be
/// reproduced byte for byte.
///
/// ```
/// let a = storage_testkit::browser::pseudo_random_bytes(64);
/// assert_eq!(a, storage_testkit::browser::pseudo_random_bytes(64));
/// assert!(a.iter().any(|b| *b != a[0]));
/// ```
pub fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
