//! Runs the official `@vercel/blob` SDK (sdk-tests/) against a live emulator.
//!
//! Needs `node` and `npm` on PATH and the npm registry on first run; it fails
//! loudly, never skips, when either is missing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fs4::fs_std::FileExt;
use tokio::process::Command;
use vercel_blob_emulator::{Emulator, StorageConfig};

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk-tests")
}

async fn require_tool(name: &str) {
    let out = Command::new(name).arg("--version").output().await;
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`{name} --version` failed ({}); the official SDK test needs Node.js and npm.\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "`{name}` not found ({e}); install Node.js 20+ and npm to run the official SDK test"
        ),
    }
}

/// Installs the pinned SDK once; the lock keeps parallel test processes
/// from running `npm ci` over each other.
async fn ensure_node_modules(dir: &Path) {
    let marker = dir.join("node_modules/@vercel/blob/package.json");
    if marker.is_file() {
        return;
    }
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vercel-sdk-tests-npm-ci.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .expect("open npm ci lock file");
    let lock = tokio::task::spawn_blocking(move || {
        lock.lock_exclusive().expect("take npm ci lock");
        lock
    })
    .await
    .expect("lock task");
    if !marker.is_file() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .output()
            .await
            .expect("spawn npm ci");
        assert!(
            out.status.success(),
            "npm ci failed in {} ({}):\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    FileExt::unlock(&lock).expect("release npm ci lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_against_emulator() {
    require_tool("node").await;
    require_tool("npm").await;
    let dir = sdk_dir();
    ensure_node_modules(&dir).await;

    let data = tempfile::tempdir().expect("temp dir");
    for storage in [
        StorageConfig::InMemory,
        StorageConfig::Directory(data.path().to_path_buf()),
    ] {
        let label = format!("{storage:?}");
        let emulator = Emulator::builder()
            .token("vercel_blob_rw_sdkstore_officialsdksecret")
            .storage(storage)
            .start()
            .await
            .expect("start emulator");
        let child = Command::new("node")
            .args(["--test", "--test-reporter=spec", "sdk.test.mjs"])
            .current_dir(&dir)
            .env("VERCEL_BLOB_API_URL", emulator.api_url())
            .env("BLOB_READ_WRITE_TOKEN", emulator.rw_token().expose())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node --test");
        let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
            .await
            .expect("node --test timed out after 300 s")
            .expect("wait for node --test");
        emulator.shutdown().await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "official SDK tests failed with {label} storage ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Guard against a run that silently executed nothing.
        assert!(
            stdout.contains("pass") && !stdout.contains("ℹ pass 0"),
            "no SDK test ran:\n{stdout}"
        );
        println!("official SDK tests passed with {label} storage:\n{stdout}");
    }
}
