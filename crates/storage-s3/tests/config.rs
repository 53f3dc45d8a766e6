//! Configuration: the variables AWS users already have, errors that name
//! the variable at fault, and secrets that never show, not even in the
//! error of a request made with a wrong key.

mod common;

use std::collections::HashMap;

use storage_core::{BlobStore, BlobStoreExt, ErrorKind, ListOptions};
use storage_s3::{S3Config, S3Credentials, S3Store};

/// Variables and their values.
type Vars<'a> = &'a [(&'a str, &'a str)];

const SECRET: &str = "wJalrXUtnFEMI-not-a-real-secret-key";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE-session-token";

fn config(vars: &[(&str, &str)]) -> storage_core::Result<S3Config> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    S3Config::from_lookup(|var| vars.get(var).cloned())
}

fn invalid_var(vars: &[(&str, &str)]) -> (String, String) {
    let err = config(vars).expect_err("invalid configuration");
    let text = err.to_string();
    match err.kind() {
        ErrorKind::InvalidConfig { var } => (var.clone(), text),
        other => panic!("expected InvalidConfig, saw {other:?}: {text}"),
    }
}

#[test]
fn aws_variables_configure_the_bucket_region_and_keys() {
    let config = config(&[
        ("S3_BUCKET", "recordings"),
        ("AWS_REGION", "eu-west-3"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ])
    .expect("valid");
    assert_eq!(config.bucket(), "recordings");
    assert_eq!(config.region(), "eu-west-3");
    assert_eq!(
        config.bucket_url(),
        "https://recordings.s3.eu-west-3.amazonaws.com"
    );
    assert_eq!(
        config.endpoint(),
        "https://recordings.s3.eu-west-3.amazonaws.com"
    );
    match config.credentials() {
        S3Credentials::Static {
            key_id,
            secret_key,
            session_token,
        } => {
            assert_eq!(key_id, "AKIAEXAMPLE");
            assert_eq!(secret_key.expose(), SECRET);
            assert_eq!(
                session_token.as_ref().map(|t| t.expose().as_str()),
                Some(TOKEN)
            );
        }
        other => panic!("expected a static key pair, saw {other:?}"),
    }
}

#[test]
fn the_default_region_and_aws_default_region() {
    let plain = config(&[("S3_BUCKET", "b-1")]).expect("valid");
    assert_eq!(plain.region(), "us-east-1");
    let fallback =
        config(&[("S3_BUCKET", "b-1"), ("AWS_DEFAULT_REGION", "ap-south-1")]).expect("valid");
    assert_eq!(fallback.region(), "ap-south-1");
    let both = config(&[
        ("S3_BUCKET", "b-1"),
        ("AWS_REGION", "eu-north-1"),
        ("AWS_DEFAULT_REGION", "ap-south-1"),
    ])
    .expect("valid");
    assert_eq!(both.region(), "eu-north-1", "AWS_REGION wins");
}

#[test]
fn endpoints_pick_path_style_for_ips_and_localhost_unless_told() {
    let cases = [
        (
            "http://127.0.0.1:9000",
            None,
            "http://127.0.0.1:9000/b-1",
            true,
        ),
        (
            "http://localhost:4566/",
            None,
            "http://localhost:4566/b-1",
            true,
        ),
        ("http://[::1]:9000", None, "http://[::1]:9000/b-1", true),
        (
            "https://acct.r2.cloudflarestorage.com",
            None,
            "https://b-1.acct.r2.cloudflarestorage.com",
            false,
        ),
        (
            "https://acct.r2.cloudflarestorage.com",
            Some("true"),
            "https://acct.r2.cloudflarestorage.com/b-1",
            true,
        ),
        (
            "http://127.0.0.1:9000",
            Some("false"),
            "http://b-1.127.0.0.1:9000",
            false,
        ),
    ];
    for (endpoint, force, url, path_style) in cases {
        let mut vars = vec![("S3_BUCKET", "b-1"), ("AWS_ENDPOINT_URL", endpoint)];
        if let Some(force) = force {
            vars.push(("S3_FORCE_PATH_STYLE", force));
        }
        let config = config(&vars).unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        assert_eq!(config.bucket_url(), url, "{endpoint} {force:?}");
        assert_eq!(config.path_style(), path_style, "{endpoint} {force:?}");
    }
    let s3_only = config(&[
        ("S3_BUCKET", "b-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2"),
    ])
    .expect("valid");
    assert_eq!(
        s3_only.bucket_url(),
        "http://127.0.0.1:2/b-1",
        "AWS_ENDPOINT_URL_S3 wins"
    );
}

#[test]
fn no_keys_means_the_credential_chain_with_its_variables() {
    let config = config(&[
        ("S3_BUCKET", "b-1"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app"),
    ])
    .expect("valid");
    match config.credentials() {
        S3Credentials::Chain(settings) => {
            let names: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, ["aws_web_identity_token_file", "aws_role_arn"]);
        }
        other => panic!("expected the chain, saw {other:?}"),
    }
    S3Store::new(config).expect("a chain store builds without a request");
}

#[test]
fn every_error_names_its_variable_and_what_it_accepts() {
    let cases: &[(Vars<'_>, &str, &str)] = &[
        (&[], "S3_BUCKET", "is not set"),
        (&[("S3_BUCKET", "Bad_Bucket")], "S3_BUCKET", "lowercase"),
        (&[("S3_BUCKET", "ab")], "S3_BUCKET", "3 to 63"),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_REGION", "EU West")],
            "AWS_REGION",
            "us-east-1",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_DEFAULT_REGION", "x_y")],
            "AWS_DEFAULT_REGION",
            "region",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_ENDPOINT_URL", "127.0.0.1:9000")],
            "AWS_ENDPOINT_URL",
            "http://",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_ENDPOINT_URL_S3", "ftp://h")],
            "AWS_ENDPOINT_URL_S3",
            "https://",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("S3_FORCE_PATH_STYLE", "maybe")],
            "S3_FORCE_PATH_STYLE",
            "`true` or `false`",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("S3_CONDITIONAL_WRITES", "sometimes")],
            "S3_CONDITIONAL_WRITES",
            "`true` or `false`",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_ACCESS_KEY_ID", "AKIA")],
            "AWS_SECRET_ACCESS_KEY",
            "set both",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_SECRET_ACCESS_KEY", SECRET)],
            "AWS_ACCESS_KEY_ID",
            "set both",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("AWS_SESSION_TOKEN", TOKEN)],
            "AWS_SESSION_TOKEN",
            "temporary key pair",
        ),
        (
            &[("S3_BUCKET", "b-1"), ("BLOB_STORAGE_DEADLINE", "soon")],
            "BLOB_STORAGE_DEADLINE",
            "duration",
        ),
    ];
    for (vars, var, hint) in cases {
        let (named, text) = invalid_var(vars);
        assert_eq!(&named, var, "{vars:?}: {text}");
        assert!(text.contains(var), "{text}");
        assert!(text.contains(hint), "{vars:?}: {text}");
        assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    }
}

#[test]
fn debug_of_the_config_and_the_store_hides_the_secret_and_the_token() {
    let config = config(&[
        ("S3_BUCKET", "b-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ])
    .expect("valid");
    let store = S3Store::new(config.clone()).expect("store");
    for text in [
        format!("{config:?}"),
        format!("{store:?}"),
        format!("{:?}", config.credentials()),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_a_configuration_error_naming_s3_bucket() {
    let moto = common::moto().await;
    let store =
        S3Store::new(common::config_for(moto.endpoint(), "never-created-bucket")).expect("store");
    let err = store.get_bytes("a.txt").await.expect_err("no bucket");
    assert_eq!(
        err.kind(),
        &ErrorKind::InvalidConfig {
            var: "S3_BUCKET".into()
        },
        "{err}"
    );
    assert!(err.to_string().contains("never-created-bucket"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_made_with_a_wrong_key_names_the_variables_and_hides_the_secret() {
    // moto checks no signature; the testkit's gateway checks them as S3
    // does, so a wrong secret is refused with `SignatureDoesNotMatch`.
    let moto = common::moto().await;
    let gateway = moto.strict().await.unwrap_or_else(|e| panic!("{e}"));
    let bucket = common::fresh_bucket().await;
    let endpoint = gateway.url();
    let wrong = S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some(bucket.clone()),
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some(storage_testkit::moto::ACCESS_KEY_ID.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.into()),
        "AWS_SESSION_TOKEN" => Some(TOKEN.into()),
        _ => None,
    })
    .expect("config");
    let store = S3Store::new(wrong).expect("store");
    let outcomes = [
        ("put", store.put_bytes("a.txt", "x").await.map(drop)),
        ("get", store.get_bytes("a.txt").await.map(drop)),
        ("list", store.list(ListOptions::new()).await.map(drop)),
    ];
    for (op, outcome) in outcomes {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{op}: {err}");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(
                !text.contains(SECRET) && !text.contains(TOKEN),
                "{op}: {text}"
            );
            assert!(text.contains("AWS_SECRET_ACCESS_KEY"), "{op}: {text}");
            assert!(text.contains("SignatureDoesNotMatch"), "{op}: {text}");
        }
    }
    // A presigned URL made with the wrong secret is refused too, and its
    // Debug hides the signature and the session token.
    let signed = storage_core::BlobStore::signed_url(
        &store,
        &store.key("a.txt").expect("key"),
        storage_core::SignOptions::new(storage_core::SignMethod::Get),
    )
    .await
    .expect("signing needs no request");
    let debug = format!("{signed:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("X-Amz-Signature=[redacted]"), "{debug}");
    let answer = reqwest::get(&signed.url).await.expect("answer");
    assert_eq!(answer.status(), 403);
}

#[tokio::test]
async fn without_conditional_writes_create_and_if_match_are_unsupported_before_any_request() {
    // Port 9 (discard) on loopback: nothing listens, so any request fails
    // with a transport error, never with `Unsupported`.
    let config = config(&[
        ("S3_BUCKET", "b-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("S3_CONDITIONAL_WRITES", "false"),
    ])
    .expect("valid");
    assert!(!config.conditional_writes());
    let store = S3Store::new(config).expect("store");
    let caps = store.capabilities();
    assert!(!caps.put_create && !caps.put_if_match);
    for mode in [
        storage_core::PutMode::Create,
        storage_core::PutMode::IfMatch("\"e\"".into()),
    ] {
        let err = store
            .put_bytes_with("k", "x", storage_core::PutOptions::new().mode(mode.clone()))
            .await
            .expect_err("unsupported");
        assert!(
            matches!(err.kind(), ErrorKind::Unsupported { .. }),
            "{mode:?}: {err}"
        );
    }
}
