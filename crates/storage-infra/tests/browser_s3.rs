//! End to end on S3: `apply` provisions a bucket and its CORS rules on
//! moto, then headless Chromium on the recordings page uploads a file
//! straight to moto through a presigned PUT URL and downloads it back
//! through the listed presigned link. The page and moto are on different
//! ports, so both requests are cross-origin and need the bucket's CORS.
//!
//! The negative control runs first, with a CORS rule for another origin:
//! moto then answers the page's preflight 403, as S3 does. A bucket with
//! no CORS configuration at all cannot be the control on moto: moto's
//! server answers every preflight to such a bucket with
//! `Access-Control-Allow-Origin` set to the asking origin (S3 answers 403),
//! so the rules are what this test proves, not their absence.

use std::path::Path;
use std::sync::Arc;

use examples::recordings_service;
use sha2::{Digest, Sha256};
use storage::{BlobStore, BlobStoreExt};
use storage_infra::manifest::{Access, Manifest};
use storage_infra::s3::S3Backend;
use storage_infra::{apply, Backend, Change};
use storage_s3::{S3Config, S3Store};
use storage_testkit::browser::{pseudo_random_bytes, BrowserRun, BrowserScript};
use storage_testkit::moto::{self, Moto};

fn s3_config(moto: &Moto, bucket: &str) -> S3Config {
    S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some(bucket.to_string()),
        "AWS_ENDPOINT_URL_S3" => Some(moto.endpoint().to_string()),
        "AWS_REGION" => Some(moto::REGION.into()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY_ID.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_ACCESS_KEY.into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("the S3 settings for moto were refused: {e}"))
}

async fn run_browser(browser: &BrowserScript, app_url: &str, upload: &Path) -> BrowserRun {
    browser
        .run(&[
            ("APP_URL", app_url.into()),
            ("UPLOAD_FILE", upload.into()),
            ("UPLOAD_NAME", UPLOAD_NAME.into()),
            ("UPLOAD_TYPE", "audio/webm".into()),
        ])
        .await
}

const UPLOAD_NAME: &str = "voice memo – ünï 🎙.webm";

fn manifest(bucket: &str, origin: &str) -> String {
    format!(
        r#"[[container]]
name = "{bucket}"
access = "private"

[[cors]]
origins = ["{origin}"]
methods = ["GET", "HEAD", "PUT", "OPTIONS"]
allowed_headers = ["content-type"]
exposed_headers = ["content-disposition", "content-length", "etag"]
max_age_secs = 600
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_sets_cors_so_the_browser_uploads_straight_to_moto() {
    let browser = BrowserScript::new(&recordings_service::browser_script());
    let moto = Moto::shared().unwrap_or_else(|e| panic!("{e}"));
    let bucket = format!("browser-{}-{:08x}", std::process::id(), fastrand::u32(..));
    let config = s3_config(moto, &bucket);
    let backend =
        S3Backend::new(&config).unwrap_or_else(|e| panic!("the S3 backend for moto: {e}"));
    let store = S3Store::new(config).unwrap_or_else(|e| panic!("the S3 store: {e}"));

    let app = recordings_service::app(Arc::new(store.clone()), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the app's port");
    let addr = listener.local_addr().expect("the app's address");
    let origin = format!("http://{addr}");
    let app_url = format!("{origin}/");
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert!(
        !moto.endpoint().ends_with(&format!(":{}", addr.port())),
        "the app and moto must be on different origins"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = pseudo_random_bytes(3 * 1024 * 1024 + 17);
    bytes[0] = 0x1a;
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &bytes).expect("write the upload");

    // Negative control: the bucket exists, with CORS for another origin.
    let manifest_path = dir.path().join("storage.toml");
    std::fs::write(&manifest_path, manifest(&bucket, "https://app.example.com"))
        .expect("write storage.toml");
    let wrong = Manifest::load(&manifest_path).unwrap_or_else(|e| panic!("manifest: {e}"));
    let plan = backend
        .plan(&wrong)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    assert!(
        plan.changes.iter().any(|c| matches!(
            c,
            Change::CreateContainer { name, access: Access::Private, .. } if *name == bucket
        )),
        "the bucket must be created by apply: {plan:#?}"
    );
    let report = apply(&backend, &wrong)
        .await
        .unwrap_or_else(|e| panic!("apply (other origin): {e}"));
    assert!(report.succeeded(), "{report:#?}");

    let refused = run_browser(&browser, &app_url, &upload).await;
    eprintln!(
        "negative control (CORS for another origin): {}",
        refused.stderr.trim()
    );
    assert!(
        !refused.success,
        "with CORS for another origin the upload to moto must fail, but it succeeded:\n{}\n{}",
        refused.stdout, refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("the page reported: Failed to fetch")
            && refused.stderr.contains("blocked by CORS policy"),
        "the browser run failed ({}), but not with a fetch blocked by CORS:\n{}\n{}",
        refused.status,
        refused.stdout,
        refused.stderr
    );
    assert!(
        store
            .list(storage::ListOptions::new())
            .await
            .expect("list the bucket")
            .entries
            .is_empty(),
        "a refused upload left an object behind"
    );

    // The app's origin: one change, the bucket's CORS rules.
    std::fs::write(&manifest_path, manifest(&bucket, &origin)).expect("write storage.toml");
    let right = Manifest::load(&manifest_path).unwrap_or_else(|e| panic!("manifest: {e}"));
    let plan = backend
        .plan(&right)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    assert_eq!(plan.changes.len(), 1, "{plan:#?}");
    assert!(
        matches!(&plan.changes[0], Change::SetBucketCors { name, to, .. } if *name == bucket && to.len() == 1),
        "{plan:#?}"
    );
    let report = apply(&backend, &right)
        .await
        .unwrap_or_else(|e| panic!("apply (CORS): {e}"));
    assert!(report.succeeded(), "{report:#?}");
    assert!(backend.plan(&right).await.expect("plan").is_empty());

    let run = run_browser(&browser, &app_url, &upload).await;
    assert!(
        run.success,
        "with CORS applied the browser run failed ({}):\n{}\n{}",
        run.status, run.stdout, run.stderr
    );
    let report = run.report();
    let expected = hex::encode(Sha256::digest(&bytes));
    let key = report["key"].as_str().expect("key in report");
    assert!(
        key.starts_with("recordings/") && key.ends_with(UPLOAD_NAME),
        "{key}"
    );
    let stored = store
        .get_bytes(key)
        .await
        .unwrap_or_else(|e| panic!("the upload is not in moto ({key}): {e}"));
    assert_eq!(
        hex::encode(Sha256::digest(&stored)),
        expected,
        "bytes in moto differ"
    );
    assert_eq!(report["downloadStatus"], 200, "{report}");
    assert_eq!(
        report["downloadedSha256"],
        expected.as_str(),
        "downloaded bytes differ: {report}"
    );
    let disposition = report["disposition"].as_str().unwrap_or("");
    assert!(
        disposition.starts_with("attachment"),
        "content-disposition not readable in the browser (is it exposed?): {report}"
    );
    let meta = store
        .head(&store.key(key).expect("key"))
        .await
        .unwrap_or_else(|e| panic!("head {key}: {e}"));
    assert_eq!(meta.content_type, "audio/webm");

    let deleted = backend
        .destroy(&right)
        .await
        .unwrap_or_else(|e| panic!("destroy: {e}"));
    assert_eq!(deleted, vec![bucket]);
}
