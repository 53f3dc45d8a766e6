//! End to end: `apply` provisions a container and the blob service's CORS on
//! Azurite, then headless Chromium on the recordings page uploads a file
//! straight to Azurite with a SAS and downloads it back through the listed
//! link. The page and Azurite are on different ports, so both requests are
//! cross-origin and only work when the provisioned CORS rule is right.
//!
//! The negative control runs first: with no CORS rules the same upload must
//! fail in the browser. CORS is a property of the whole blob service, so
//! this test lives alone in its own test binary (which gets its own Azurite
//! unless `AZURITE_BLOB_STORAGE_URL` names a shared one; either way the
//! rules are cleared again at the end).

use std::path::Path;
use std::sync::Arc;

use examples::recordings_service;
use sha2::{Digest, Sha256};
use storage::{BlobStore, BlobStoreExt};
use storage_azure::{AzureConfig, AzureStore};
use storage_infra::azure::AzureBackend;
use storage_infra::manifest::{Access, Manifest};
use storage_infra::{apply, Backend, Change};
use storage_testkit::azurite::Azurite;
use storage_testkit::browser::{pseudo_random_bytes, BrowserRun, BrowserScript};

fn azure_config(azurite: &Azurite) -> AzureConfig {
    let cs = azurite.connection_string();
    AzureConfig::from_lookup(|var| (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone()))
        .unwrap_or_else(|e| panic!("Azurite's connection string was refused: {e}"))
}

/// A container name no other run uses (Azure rules: lowercase, digits, `-`).
fn unique_container() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!("browser-{}-{:08x}", std::process::id(), nanos)
}

/// One run of the recordings page's browser script against `app_url`.
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

#[tokio::test(flavor = "multi_thread")]
async fn apply_sets_cors_so_the_browser_uploads_straight_to_azurite() {
    let browser = BrowserScript::new(&recordings_service::browser_script());

    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    let backend = AzureBackend::new(&azure_config(azurite))
        .unwrap_or_else(|e| panic!("the Azure backend for Azurite: {e}"));
    let client = backend.client();
    let cors_before = client
        .get_cors()
        .await
        .unwrap_or_else(|e| panic!("reading Azurite's CORS rules: {e}"));
    let container = unique_container();

    // The app first, so its origin is known for the manifest.
    let config = azure_config(azurite)
        .with_container(container.clone())
        .unwrap_or_else(|e| panic!("container name `{container}`: {e}"));
    let store = AzureStore::new(config).unwrap_or_else(|e| panic!("the Azure store: {e}"));
    let app = recordings_service::app(Arc::new(store.clone()), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the app's port");
    let addr = listener.local_addr().expect("the app's address");
    let origin = format!("http://{addr}");
    let app_url = format!("{origin}/");
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_ne!(
        azurite.blob_endpoint().split('/').nth(2),
        Some(addr.to_string().as_str()),
        "the app and Azurite must be on different origins"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = pseudo_random_bytes(3 * 1024 * 1024 + 17);
    bytes[0] = 0x1a;
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &bytes).expect("write the upload");

    // Negative control: `apply` creates the container and removes every CORS
    // rule, so a failure below is about CORS, not a missing container.
    let manifest_path = dir.path().join("storage.toml");
    std::fs::write(
        &manifest_path,
        format!("cors = []\n\n[[container]]\nname = \"{container}\"\naccess = \"private\"\n"),
    )
    .expect("write storage.toml");
    let manifest = Manifest::load(&manifest_path)
        .unwrap_or_else(|e| panic!("the negative-control manifest: {e}"));
    let plan = backend
        .plan(&manifest)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    assert!(
        plan.changes.iter().any(|c| matches!(
            c,
            Change::CreateContainer { name, access: Access::Private, .. } if *name == container
        )),
        "the container must be created by apply: {plan:#?}"
    );
    let report = apply(&backend, &manifest)
        .await
        .unwrap_or_else(|e| panic!("apply (no CORS): {e}"));
    assert!(report.succeeded(), "{report:#?}");
    assert!(
        client
            .get_container(&container)
            .await
            .expect("get container")
            .is_some(),
        "apply did not create `{container}`"
    );
    assert_eq!(
        client.get_cors().await.expect("get CORS"),
        [],
        "`cors = []` must leave no rules"
    );

    let refused = run_browser(&browser, &app_url, &upload).await;
    eprintln!("negative control (no CORS): {}", refused.stderr.trim());
    assert!(
        !refused.success,
        "without CORS the cross-origin upload to Azurite must fail, but it succeeded:\n{}\n{}",
        refused.stdout, refused.stderr
    );
    // Azurite answers the preflight without `Access-Control-Allow-Origin`,
    // Chromium blocks the PUT ("blocked by CORS policy" on the console), and
    // `fetch` rejects, so the page shows "Failed to fetch".
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
            .expect("list the container")
            .entries
            .is_empty(),
        "a refused upload left a blob behind"
    );

    // The real manifest: the same container plus a CORS rule for the app.
    std::fs::write(
        &manifest_path,
        format!(
            r#"[[container]]
name = "{container}"
access = "private"

[[cors]]
origins = ["{origin}"]
methods = ["GET", "HEAD", "PUT", "OPTIONS"]
allowed_headers = ["content-type", "x-ms-blob-type", "x-ms-*"]
exposed_headers = ["content-disposition", "content-length", "etag"]
max_age_secs = 600
"#
        ),
    )
    .expect("write storage.toml");
    let manifest =
        Manifest::load(&manifest_path).unwrap_or_else(|e| panic!("the CORS manifest: {e}"));
    let plan = backend
        .plan(&manifest)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    assert_eq!(plan.changes.len(), 1, "{plan:#?}");
    assert!(
        matches!(&plan.changes[0], Change::SetCors { to, .. } if to.len() == 1),
        "{plan:#?}"
    );
    let report = apply(&backend, &manifest)
        .await
        .unwrap_or_else(|e| panic!("apply (CORS): {e}"));
    assert!(report.succeeded(), "{report:#?}");
    let plan = backend
        .plan(&manifest)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    assert!(plan.is_empty(), "the second plan must be empty: {plan:#?}");

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
        .unwrap_or_else(|e| panic!("the upload is not in Azurite ({key}): {e}"));
    assert_eq!(
        hex::encode(Sha256::digest(&stored)),
        expected,
        "bytes in Azurite differ"
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

    // Leave the blob service's CORS as it was found, and drop the container.
    client
        .set_cors(&cors_before)
        .await
        .unwrap_or_else(|e| panic!("restoring Azurite's CORS rules: {e}"));
    backend
        .destroy(&manifest)
        .await
        .unwrap_or_else(|e| panic!("destroy: {e}"));
}
