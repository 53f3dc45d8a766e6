//! Configuration from variables: what each one does, that every bad value
//! fails naming its variable, and that the private key never shows in
//! `Debug`, `Display` or an error.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use storage_core::{BlobStore, BlobStoreExt, ErrorKind, Result};
use storage_gcs::config::DEFAULT_ENDPOINT;
use storage_gcs::{GcsConfig, GcsCredentials, GcsStore};

fn config(vars: &[(&str, &str)]) -> Result<GcsConfig> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    GcsConfig::from_lookup(|var| map.get(var).cloned())
}

fn expect_var(vars: &[(&str, &str)], var: &str) -> String {
    let err = config(vars).expect_err(var);
    assert_eq!(
        err.kind(),
        &ErrorKind::InvalidConfig { var: var.into() },
        "{vars:?}: {err}"
    );
    let text = err.to_string();
    assert!(text.contains(var), "the message names {var}: {text}");
    text
}

/// A line from the middle of the test key's PEM: if it shows anywhere, the
/// key leaked.
fn key_fragment() -> String {
    let pem = std::fs::read_to_string(&common::test_key().pem_path).expect("pem");
    pem.lines().nth(5).expect("a PEM body line").to_string()
}

#[test]
fn the_bucket_is_required_and_checked() {
    let text = expect_var(&[], "GCS_BUCKET");
    assert!(text.contains("set GCS_BUCKET"), "{text}");
    expect_var(&[("GCS_BUCKET", "Upper_Case")], "GCS_BUCKET");
    expect_var(&[("GCS_BUCKET", "ab")], "GCS_BUCKET");
    expect_var(&[("GCS_BUCKET", "-dash-first")], "GCS_BUCKET");
    let ok = config(&[("GCS_BUCKET", " my-bucket.example ")]).expect("valid");
    assert_eq!(ok.bucket(), "my-bucket.example");
}

#[test]
fn defaults_are_the_public_endpoint_and_the_application_default_chain() {
    let ok = config(&[("GCS_BUCKET", "recordings")]).expect("valid");
    assert_eq!(ok.endpoint(), DEFAULT_ENDPOINT);
    assert!(!ok.is_emulator());
    assert_eq!(ok.credentials(), &GcsCredentials::ApplicationDefault);
    // Building the store asks nothing of the network yet.
    let store = GcsStore::new(ok).expect("store");
    assert!(!store.capabilities().sign_get, "no key, no signing");
}

#[test]
fn the_emulator_host_and_the_endpoint_override() {
    let emu = config(&[
        ("GCS_BUCKET", "b-1"),
        ("STORAGE_EMULATOR_HOST", "localhost:4443"),
    ])
    .expect("valid");
    assert_eq!(emu.endpoint(), "http://localhost:4443");
    assert!(emu.is_emulator());
    let emu = config(&[
        ("GCS_BUCKET", "b-1"),
        ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9/"),
        ("GCS_ENDPOINT_URL", "https://ignored.example"),
    ])
    .expect("valid");
    assert_eq!(emu.endpoint(), "http://127.0.0.1:9", "the emulator wins");
    let private = config(&[
        ("GCS_BUCKET", "b-1"),
        ("GCS_ENDPOINT_URL", "https://storage.private.example"),
    ])
    .expect("valid");
    assert_eq!(private.endpoint(), "https://storage.private.example");
    assert!(!private.is_emulator(), "credentials still sent");

    for bad in ["ftp://x", "http://h/path", "http://h?x=1", "::"] {
        expect_var(
            &[("GCS_BUCKET", "b-1"), ("STORAGE_EMULATOR_HOST", bad)],
            "STORAGE_EMULATOR_HOST",
        );
    }
    for bad in ["storage.example", "http://h/path"] {
        expect_var(
            &[("GCS_BUCKET", "b-1"), ("GCS_ENDPOINT_URL", bad)],
            "GCS_ENDPOINT_URL",
        );
    }
}

#[test]
fn retry_variables_apply_and_are_checked() {
    let ok = config(&[
        ("GCS_BUCKET", "b-1"),
        ("BLOB_STORAGE_DEADLINE", "7s"),
        ("BLOB_STORAGE_MAX_RETRIES", "1"),
    ])
    .expect("valid");
    assert_eq!(ok.retry_policy().deadline, Duration::from_secs(7));
    assert_eq!(ok.retry_policy().max_retries, 1);
    expect_var(
        &[("GCS_BUCKET", "b-1"), ("BLOB_STORAGE_DEADLINE", "soon")],
        "BLOB_STORAGE_DEADLINE",
    );
}

#[test]
fn an_inline_key_signs_and_never_shows() {
    let key = &common::test_key().json;
    let ok = config(&[("GCS_BUCKET", "b-1"), ("GOOGLE_SERVICE_ACCOUNT_KEY", key)]).expect("valid");
    let account = ok.service_account().expect("a service account");
    assert_eq!(account.client_email(), common::test_key().email);
    let fragment = key_fragment();
    let store = GcsStore::new(ok.clone()).expect("store with token chain");
    assert!(store.capabilities().sign_get && store.capabilities().sign_put);
    for shown in [
        format!("{ok:?}"),
        format!("{store:?}"),
        format!("{account:?}"),
        format!("{:?}", ok.credentials()),
    ] {
        assert!(!shown.contains(&fragment), "key material in {shown}");
        assert!(!shown.contains("PRIVATE KEY"), "key material in {shown}");
    }
    assert!(format!("{ok:?}").contains(&common::test_key().email));
}

#[test]
fn a_damaged_key_fails_naming_the_variable_without_quoting_it() {
    let good: serde_json::Value = serde_json::from_str(&common::test_key().json).expect("json");
    let fragment = key_fragment();
    let mut cut = good.clone();
    let pem = good["private_key"].as_str().expect("pem");
    cut["private_key"] = serde_json::json!(pem.replace(&fragment, &fragment[..fragment.len() / 2]));
    let mut no_email = good.clone();
    no_email
        .as_object_mut()
        .expect("object")
        .remove("client_email");
    let mut wrong_type = good.clone();
    wrong_type["type"] = serde_json::json!("authorized_user");
    let mut not_pem = good.clone();
    not_pem["private_key"] = serde_json::json!(fragment.clone());
    for (what, json) in [
        ("cut PEM", cut.to_string()),
        ("no email", no_email.to_string()),
        ("wrong type", wrong_type.to_string()),
        ("not PEM", not_pem.to_string()),
        ("not JSON", format!("{{\"private_key\": \"{fragment}")),
    ] {
        let text = expect_var(
            &[("GCS_BUCKET", "b-1"), ("GOOGLE_SERVICE_ACCOUNT_KEY", &json)],
            "GOOGLE_SERVICE_ACCOUNT_KEY",
        );
        let err = config(&[("GCS_BUCKET", "b-1"), ("GOOGLE_SERVICE_ACCOUNT_KEY", &json)])
            .expect_err(what);
        let debug = format!("{err:?}");
        assert!(!text.contains(&fragment[..20]), "{what}: key in {text}");
        assert!(!debug.contains(&fragment[..20]), "{what}: key in {debug}");
    }
}

#[test]
fn a_key_file_is_read_from_google_application_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key.json");
    std::fs::write(&path, &common::test_key().json).expect("write key");
    let path_text = path.to_str().expect("utf-8");
    let ok = config(&[
        ("GCS_BUCKET", "b-1"),
        ("GOOGLE_APPLICATION_CREDENTIALS", path_text),
    ])
    .expect("valid");
    assert!(ok.service_account().is_some());

    let user = dir.path().join("user.json");
    std::fs::write(
        &user,
        r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#,
    )
    .expect("write user");
    let ok = config(&[
        ("GCS_BUCKET", "b-1"),
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            user.to_str().expect("utf-8"),
        ),
    ])
    .expect("valid");
    assert!(matches!(
        ok.credentials(),
        GcsCredentials::AuthorizedUser(_)
    ));
    assert!(ok.service_account().is_none());

    let text = expect_var(
        &[
            ("GCS_BUCKET", "b-1"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json"),
        ],
        "GOOGLE_APPLICATION_CREDENTIALS",
    );
    assert!(text.contains("/nonexistent/key.json"), "{text}");
    std::fs::write(&path, "{}").expect("write");
    expect_var(
        &[
            ("GCS_BUCKET", "b-1"),
            ("GOOGLE_APPLICATION_CREDENTIALS", path_text),
        ],
        "GOOGLE_APPLICATION_CREDENTIALS",
    );
}

#[test]
fn the_inline_key_wins_over_the_file() {
    let ok = config(&[
        ("GCS_BUCKET", "b-1"),
        ("GOOGLE_SERVICE_ACCOUNT_KEY", &common::test_key().json),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json"),
    ])
    .expect("the file is not read");
    assert!(ok.service_account().is_some());
}

#[tokio::test]
async fn errors_from_the_service_carry_no_key() {
    let store = common::fresh_store().await;
    let fragment = key_fragment();
    let err = store
        .get(&store.key("missing").expect("key"), Default::default())
        .await
        .expect_err("missing");
    assert!(err.is_not_found());
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&fragment), "{shown}");
    }
}

#[test]
fn part_sizes_are_multiples_of_256_kib() {
    let ok = config(&[("GCS_BUCKET", "b-1")]).expect("valid");
    assert!(ok.clone().with_part_size(256 << 10).is_ok());
    for bad in [0, 1000, (256 << 10) + 1] {
        let err = ok.clone().with_part_size(bad).expect_err("bad size");
        assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    }
}
