//! Configurations and stores print without their credentials: `blobctl -vv`
//! and apps log them with `{:?}`, so `Debug` must redact every secret.

use std::collections::HashMap;

use storage::{from_config, StorageConfig};

const ACCOUNT_KEY: &str = "QWNjb3VudEtleVNlY3JldFZhbHVlMDEyMzQ1Njc4OQ==";
const SAS: &str = "sv=2022-11-02&ss=b&srt=sco&sp=rl&sig=SasSignatureSecret0123%3D";
const TOKEN: &str = "vercel_blob_rw_teststore0001_VercelTokenSecret0123";
const SIGNING_KEY: &str = "LocalSigningKeySecret-0123456789abcdef0123456789";
const CLIENT_SECRET: &str = "ClientSecretValue0123456789";
const AWS_SECRET: &str = "AwsSecretAccessKeyValue0123456789";
const AWS_SESSION: &str = "AwsSessionTokenValue0123456789";

/// The secret parts that must never be printed.
const NEEDLES: &[&str] = &[
    "QWNjb3VudEtleVNlY3JldFZhbHVl",
    "SasSignatureSecret",
    "VercelTokenSecret",
    "LocalSigningKeySecret",
    "ClientSecretValue",
    "AwsSecretAccessKeyValue",
    "AwsSessionTokenValue",
    "PRIVATE KEY",
];

fn config(vars: &[(&str, &str)]) -> StorageConfig {
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    StorageConfig::from_lookup(|var| map.get(var).map(|v| v.to_string()))
        .unwrap_or_else(|e| panic!("{vars:?} is a valid configuration: {e}"))
}

fn assert_redacted(config: StorageConfig) {
    let text = format!("{config:?}");
    let store = from_config(config).expect("the store opens without I/O");
    let text = format!("{text} {store:?}");
    for needle in NEEDLES {
        assert!(!text.contains(needle), "`{needle}` printed in: {text}");
    }
}

#[test]
fn every_provider_config_and_store_debug_hides_its_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().display().to_string();
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "local"),
        ("LOCAL_STORAGE_PATH", &root),
        ("LOCAL_STORAGE_SIGNING_KEY", SIGNING_KEY),
    ]));
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
        ("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY),
    ]));
    let connection_string = format!(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
    );
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_CONNECTION_STRING", &connection_string),
    ]));
    let sas_string =
        format!("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature={SAS}");
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_CONNECTION_STRING", &sas_string),
    ]));
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
        ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
        ("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111"),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
    ]));
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "vercel"),
        ("BLOB_READ_WRITE_TOKEN", TOKEN),
    ]));
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "s3"),
        ("S3_BUCKET", "recordings"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_SESSION_TOKEN", AWS_SESSION),
    ]));
    let key = service_account_key();
    assert_redacted(config(&[
        ("BLOB_STORAGE_PROVIDER", "gcs"),
        ("GCS_BUCKET", "recordings"),
        ("GOOGLE_SERVICE_ACCOUNT_KEY", &key),
    ]));
}

/// A service-account key file's JSON around a fresh RSA key, made with the
/// `openssl` command line tool (never a key kept in the repository).
fn service_account_key() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = dir.path().join("key.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .output()
        .unwrap_or_else(|e| panic!("this test needs the openssl command line tool: {e}"));
    assert!(out.status.success(), "openssl genpkey failed: {out:?}");
    let pem = std::fs::read_to_string(&pem).expect("read key.pem");
    serde_json::json!({
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "a@p.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}
