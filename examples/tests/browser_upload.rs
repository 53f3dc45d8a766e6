//! End to end: headless Chromium opens the recordings page, uploads a file
//! straight to a local signed URL, and downloads it back through the listed
//! link; the bytes must be identical on disk and in the browser.

use std::sync::Arc;

use examples::recordings_service;
use sha2::{Digest, Sha256};
use storage::local::{http, LocalConfig, LocalStore};
use storage::{BlobStore, BlobStoreExt};
use storage_testkit::browser::{pseudo_random_bytes, BrowserScript};

#[tokio::test(flavor = "multi_thread")]
async fn browser_uploads_straight_to_a_signed_url_and_downloads_it_back() {
    let browser = BrowserScript::new(&recordings_service::browser_script());

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
    let mut rng = pseudo_random_bytes(3 * 1024 * 1024 + 17);
    rng[0] = 0x1a;
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &rng).expect("write the upload");
    let report = browser
        .run(&[
            ("APP_URL", url.into()),
            ("UPLOAD_FILE", upload.into()),
            ("UPLOAD_NAME", name.into()),
            ("UPLOAD_TYPE", "audio/webm".into()),
        ])
        .await
        .report();

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
