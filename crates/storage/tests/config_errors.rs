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
    let (var, text) = config_error_var(&[("BLOB_STORAGE_PROVIDER", "s3")]);
    assert_eq!(var, "BLOB_STORAGE_PROVIDER");
    assert!(text.contains("unknown provider `s3`"), "{text}");
    assert!(text.contains("local, memory, azure, vercel"), "{text}");
}

#[test]
fn providers_not_yet_built_say_so() {
    for name in ["azure", "vercel"] {
        let (var, text) = config_error_var(&[("BLOB_STORAGE_PROVIDER", name)]);
        assert_eq!(var, "BLOB_STORAGE_PROVIDER");
        assert!(text.contains("not available"), "{text}");
    }
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
