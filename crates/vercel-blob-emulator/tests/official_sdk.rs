//! Runs the official `@vercel/blob` SDK against a live emulator: 2.8
//! (sdk-tests/, API version 12) and 0.27 (sdk-tests-v0/, API version 9,
//! whose write defaults differ).
//!
//! Needs `node` and `npm` on PATH and the npm registry on first run; it fails
//! loudly, never skips, when either is missing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use vercel_blob_emulator::{Emulator, StorageConfig};

/// Installs the SDK pinned in `folder` and runs its `sdk.test.mjs` against a
/// fresh emulator, once per storage backend.
async fn run_sdk_suite(folder: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    storage_testkit::node::ensure_npm_packages(&dir);

    let data = tempfile::tempdir().expect("temp dir");
    for storage in [
        StorageConfig::InMemory,
        StorageConfig::Directory(data.path().to_path_buf()),
    ] {
        let label = format!("{folder} with {storage:?} storage");
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
            // Each suite is about the version its SDK sends by itself.
            .env_remove("VERCEL_BLOB_API_VERSION_OVERRIDE")
            .env_remove("NEXT_PUBLIC_VERCEL_BLOB_API_VERSION_OVERRIDE")
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
            "official SDK tests failed in {label} ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Guard against a run that silently executed nothing.
        assert!(
            stdout.contains("pass") && !stdout.contains("ℹ pass 0"),
            "no SDK test ran in {label}:\n{stdout}"
        );
        println!("official SDK tests passed in {label}:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_against_emulator() {
    run_sdk_suite("sdk-tests").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_0_27_against_emulator() {
    run_sdk_suite("sdk-tests-v0").await;
}
