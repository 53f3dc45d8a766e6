//! `from_env`-style configuration fails early, naming the variable and what
//! to set, and picks the right provider for every accepted spelling.

use std::collections::HashMap;

use storage::{from_config, BlobStoreExt, ErrorKind, Provider, StorageConfig};

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |var| map.get(var).cloned()
}

fn config_error_var(vars: &[(&str, &str)]) -> (String, String) {
    let err = StorageConfig::from_lookup(lookup(vars))
        .and_then(from_config)
        .expect_err("configuration should be refused");
    match err.kind() {
        ErrorKind::InvalidConfig { var } => (var.clone(), err.to_string()),
        other => panic!("expected InvalidConfig, got {other:?}: {err}"),
    }
}

#[test]
fn unknown_provider_names_the_variable_and_the_choices() {
    let (var, text) = config_error_var(&[("BLOB_STORAGE_PROVIDER", "ftp")]);
    assert_eq!(var, "BLOB_STORAGE_PROVIDER");
    assert!(text.contains("unknown provider `ftp`"), "{text}");
    assert!(
        text.contains("local, memory, azure, s3, gcs, vercel"),
        "{text}"
    );
}

#[test]
fn cloud_providers_name_their_missing_variables() {
    let (var, _) = config_error_var(&[("BLOB_STORAGE_PROVIDER", "vercel")]);
    assert_eq!(var, "BLOB_READ_WRITE_TOKEN");
    let (var, text) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "vercel"),
        ("BLOB_READ_WRITE_TOKEN", "vercel_blob_rw_store_s3cr3tvalue"),
        ("BLOB_STORAGE_ACCESS", "secret"),
    ]);
    assert_eq!(var, "BLOB_STORAGE_ACCESS");
    assert!(!text.contains("s3cr3tvalue"), "{text}");
    let (var, text) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_ACCOUNT_KEY", "c2VjcmV0c2VjcmV0"),
    ]);
    assert_eq!(var, "AZURE_STORAGE_ACCOUNT_NAME", "{text}");
    assert!(!text.contains("c2VjcmV0c2VjcmV0"), "{text}");
    let (var, _) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
        ("AZURE_STORAGE_CONTAINER_NAME", "Bad_Name"),
    ]);
    assert_eq!(var, "AZURE_STORAGE_CONTAINER_NAME");
    let (var, text) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            "AccountName=a;AccountKey=c2VjcmV0c2VjcmV0;Bogus",
        ),
    ]);
    assert_eq!(var, "AZURE_STORAGE_CONNECTION_STRING");
    assert!(!text.contains("c2VjcmV0c2VjcmV0"), "{text}");
    let (var, _) = config_error_var(&[("BLOB_STORAGE_PROVIDER", "s3")]);
    assert_eq!(var, "S3_BUCKET");
    let (var, text) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "s3"),
        ("S3_BUCKET", "recordings"),
        ("AWS_SECRET_ACCESS_KEY", "AwsSecretValue0123"),
    ]);
    assert_eq!(var, "AWS_ACCESS_KEY_ID", "{text}");
    assert!(!text.contains("AwsSecretValue0123"), "{text}");
    let (var, _) = config_error_var(&[("BLOB_STORAGE_PROVIDER", "gcs")]);
    assert_eq!(var, "GCS_BUCKET");
    let (var, text) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "gcs"),
        ("GCS_BUCKET", "recordings"),
        (
            "GOOGLE_SERVICE_ACCOUNT_KEY",
            r#"{"private_key": "GcsKeySecret0123"}"#,
        ),
    ]);
    assert_eq!(var, "GOOGLE_SERVICE_ACCOUNT_KEY", "{text}");
    assert!(!text.contains("GcsKeySecret0123"), "{text}");
}

#[test]
fn cloud_providers_build_from_their_variables() {
    let azure = StorageConfig::from_lookup(lookup(&[
        ("BLOB_STORAGE_PROVIDER", "azure"),
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            "UseDevelopmentStorage=true",
        ),
    ]))
    .and_then(from_config)
    .expect("azure on Azurite's well-known account");
    assert_eq!(azure.provider(), Provider::Azure);
    assert!(
        !format!("{azure:?}").contains("Eby8vdM02xNOcqF"),
        "{azure:?}"
    );
    let vercel = StorageConfig::from_lookup(lookup(&[
        ("BLOB_STORAGE_PROVIDER", "vercel"),
        ("BLOB_READ_WRITE_TOKEN", "vercel_blob_rw_store_s3cr3tvalue"),
        ("VERCEL_BLOB_API_URL", "http://127.0.0.1:9/api/blob"),
    ]))
    .and_then(from_config)
    .expect("vercel");
    assert_eq!(vercel.provider(), Provider::Vercel);
    assert!(!format!("{vercel:?}").contains("s3cr3tvalue"), "{vercel:?}");
    let s3 = StorageConfig::from_lookup(lookup(&[
        ("BLOB_STORAGE_PROVIDER", "s3"),
        ("S3_BUCKET", "recordings"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "AwsSecretValue0123"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]))
    .and_then(from_config)
    .expect("s3");
    assert_eq!(s3.provider(), Provider::S3);
    assert!(!format!("{s3:?}").contains("AwsSecretValue0123"), "{s3:?}");
    let gcs = StorageConfig::from_lookup(lookup(&[
        ("BLOB_STORAGE_PROVIDER", "gcs"),
        ("GCS_BUCKET", "recordings"),
        ("STORAGE_EMULATOR_HOST", "127.0.0.1:9"),
    ]))
    .and_then(from_config)
    .expect("gcs on an emulator");
    assert_eq!(gcs.provider(), Provider::Gcs);
}

#[test]
fn local_root_that_is_a_file_names_local_storage_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let path = file.to_str().expect("utf-8 path");
    let (var, text) = config_error_var(&[("LOCAL_STORAGE_PATH", path)]);
    assert_eq!(var, "LOCAL_STORAGE_PATH");
    assert!(text.contains("writable directory"), "{text}");
    let nested = format!("{path}/below");
    let (var, _) = config_error_var(&[
        ("BLOB_STORAGE_PROVIDER", "local"),
        ("LOCAL_STORAGE_PATH", &nested),
    ]);
    assert_eq!(var, "LOCAL_STORAGE_PATH");
}

#[test]
fn nul_in_local_path_is_refused() {
    let (var, _) = config_error_var(&[("LOCAL_STORAGE_PATH", "a\0b")]);
    assert_eq!(var, "LOCAL_STORAGE_PATH");
}

#[tokio::test]
async fn spellings_pick_the_right_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_str().expect("utf-8 path");
    for (value, expected) in [
        ("", Provider::Local),
        ("  local ", Provider::Local),
        ("LOCAL", Provider::Local),
        ("memory", Provider::Memory),
        ("Memory", Provider::Memory),
    ] {
        let config = StorageConfig::from_lookup(lookup(&[
            ("BLOB_STORAGE_PROVIDER", value),
            ("LOCAL_STORAGE_PATH", root),
        ]))
        .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        let store = from_config(config).expect("build");
        assert_eq!(store.provider(), expected, "{value:?}");
        store.put_bytes("probe", "ok").await.expect("usable");
    }
    let unset = StorageConfig::from_lookup(lookup(&[])).expect("unset means local");
    assert!(matches!(unset, StorageConfig::Local(ref c) if c.root.ends_with(".blobs")));
}
