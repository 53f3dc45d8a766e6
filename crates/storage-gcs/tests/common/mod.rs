//! Stores on the shared emulator, each on a bucket of its own, with a
//! service-account key generated for this test process (never committed).

#![allow(dead_code)]

pub mod gateway;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use storage_gcs::{GcsConfig, GcsStore};
use storage_testkit::gcs_emulator::GcsEmulator;

/// The shared emulator, or a panic that says why there is none.
pub async fn emulator() -> &'static GcsEmulator {
    match tokio::task::spawn_blocking(GcsEmulator::shared).await {
        Ok(Ok(emulator)) => emulator,
        Ok(Err(e)) => panic!("{e}"),
        Err(e) => panic!("starting the GCS emulator panicked: {e}"),
    }
}

/// A test service-account key: a fresh RSA key from `openssl genpkey`,
/// in a key file's JSON, and the files it was made from.
pub struct TestKey {
    /// The key file's JSON, as `GOOGLE_SERVICE_ACCOUNT_KEY` takes it.
    pub json: String,
    /// The account's e-mail.
    pub email: String,
    /// The PKCS#8 PEM file of the private key.
    pub pem_path: PathBuf,
    /// The PKCS#1 DER of the public key, for verifying signatures.
    pub public_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// The process's test key, generated on first use.
pub fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let pem_path = dir.path().join("key.pem");
        let pub_path = dir.path().join("pub.der");
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            path(&pem_path),
        ]);
        openssl(&[
            "rsa",
            "-in",
            path(&pem_path),
            "-RSAPublicKey_out",
            "-outform",
            "DER",
            "-out",
            path(&pub_path),
        ]);
        let pem = std::fs::read_to_string(&pem_path).expect("read key.pem");
        let email = "tester@blob-storage-tests.iam.gserviceaccount.com".to_string();
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "blob-storage-tests",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": email,
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string();
        TestKey {
            json,
            email,
            pem_path,
            public_der: std::fs::read(&pub_path).expect("read pub.der"),
            _dir: dir,
        }
    })
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Runs `openssl`, panicking with its output when it fails.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the tests need the openssl command line tool: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Settings for `bucket` on the emulator at `endpoint`, with the test key.
pub fn config_for(endpoint: &str, bucket: &str) -> GcsConfig {
    let key = test_key().json.clone();
    GcsConfig::from_lookup(|var| match var {
        "STORAGE_EMULATOR_HOST" => Some(endpoint.to_string()),
        "GCS_BUCKET" => Some(bucket.to_string()),
        "GOOGLE_SERVICE_ACCOUNT_KEY" => Some(key.clone()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("emulator configuration: {e}"))
}

/// A fresh, empty bucket on the emulator.
pub async fn fresh_bucket() -> String {
    emulator()
        .await
        .fresh_bucket()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Settings for a fresh, empty bucket, straight to the emulator.
pub async fn fresh_config() -> GcsConfig {
    let bucket = fresh_bucket().await;
    config_for(emulator().await.url(), &bucket)
}

/// A store on a fresh, empty bucket, straight to the emulator.
pub async fn fresh_store() -> GcsStore {
    GcsStore::new(fresh_config().await).unwrap_or_else(|e| panic!("GcsStore::new: {e}"))
}
