//! End to end: headless Chromium opens the recordings page, uploads a file
//! straight to a local signed URL, and downloads it back through the listed
//! link; the bytes must be identical on disk and in the browser.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use examples::recordings_service;
use sha2::{Digest, Sha256};
use storage::local::{http, LocalConfig, LocalStore};
use storage::{BlobStore, BlobStoreExt};

fn chromium() -> PathBuf {
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

#[tokio::test(flavor = "multi_thread")]
async fn browser_uploads_straight_to_a_signed_url_and_downloads_it_back() {
    let chromium = chromium();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser-tests");
    storage_testkit::node::ensure_npm_packages(&scripts);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = LocalConfig::new(dir.path().join("store"))
        .signing_key("browser-test-signing-key-0123456789abcdef")
        .expect("key");
    let store = LocalStore::new(config).expect("store");
    let app = recordings_service::app(Arc::new(store.clone()), Some(http::router(store.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let name = "voice memo – ünï 🎙.webm";
    let mut rng = fastrand_bytes(3 * 1024 * 1024 + 17);
    rng[0] = 0x1a;
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &rng).expect("write the upload");
    let screenshot = std::env::var("BROWSER_TEST_SCREENSHOT").unwrap_or_default();

    let out = tokio::process::Command::new("node")
        .arg(scripts.join("upload.mjs"))
        .env("APP_URL", &url)
        .env("UPLOAD_FILE", &upload)
        .env("UPLOAD_NAME", name)
        .env("UPLOAD_TYPE", "audio/webm")
        .env("CHROMIUM_PATH", &chromium)
        .env("SCREENSHOT", &screenshot)
        .output()
        .await
        .expect("run node");
    assert!(
        out.status.success(),
        "the browser run failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("unreadable browser report ({e}): {stdout}"));

    let expected = hex::encode(Sha256::digest(&rng));
    let key = report["key"].as_str().expect("key in report");
    assert!(
        key.starts_with("recordings/") && key.ends_with(name),
        "{key}"
    );
    let stored = store
        .get_bytes(key)
        .await
        .expect("the upload landed in the store");
    assert_eq!(
        hex::encode(Sha256::digest(&stored)),
        expected,
        "bytes on disk differ"
    );
    assert_eq!(report["downloadStatus"], 200, "{report}");
    assert_eq!(
        report["downloadedSha256"],
        expected.as_str(),
        "downloaded bytes differ: {report}"
    );
    let disposition = report["disposition"].as_str().unwrap_or("");
    assert!(disposition.starts_with("attachment"), "{report}");
    let meta = store
        .head(&store.key(key).expect("key"))
        .await
        .expect("head");
    assert_eq!(meta.content_type, "audio/webm");
}

/// Deterministic pseudo-random bytes, so a failure can be reproduced.
fn fastrand_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9e3779b97f4a7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
