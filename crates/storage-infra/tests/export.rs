//! Terraform and Bicep exports match the golden files; the Terraform is
//! parsed with an HCL parser and its structure checked.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use storage_infra::export::{bicep, terraform};
use storage_infra::Manifest;

fn manifest() -> Manifest {
    Manifest::parse(include_str!("golden/storage.toml"), "storage.toml").unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)"
    );
}

#[test]
fn terraform_matches_golden_and_parses_as_hcl() {
    let tf = terraform::render(&manifest());
    golden("storage.tf", &tf);
    let body: hcl::Body = hcl::from_str(&tf).expect("valid HCL");
    let resources: Vec<&hcl::Block> = body
        .blocks()
        .filter(|b| b.identifier() == "resource")
        .collect();
    let kinds: Vec<String> = resources
        .iter()
        .map(|b| format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            "azurerm_storage_account.this",
            "azurerm_storage_container.recordings",
            "azurerm_storage_container.public_assets",
            "azurerm_storage_management_policy.this",
        ]
    );
    let attr = |block: &hcl::Block, key: &str| -> hcl::Expression {
        block
            .body()
            .attributes()
            .find(|a| a.key() == key)
            .map(|a| a.expr().clone())
            .unwrap_or_else(|| panic!("no {key}"))
    };
    assert_eq!(
        attr(resources[0], "account_replication_type"),
        hcl::Expression::from("GRS")
    );
    assert_eq!(
        attr(resources[1], "container_access_type"),
        hcl::Expression::from("private")
    );
    assert_eq!(
        attr(resources[2], "container_access_type"),
        hcl::Expression::from("blob")
    );
    let blob_properties = resources[0]
        .body()
        .blocks()
        .find(|b| b.identifier() == "blob_properties")
        .unwrap();
    let cors = blob_properties
        .body()
        .blocks()
        .find(|b| b.identifier() == "cors_rule")
        .unwrap();
    assert_eq!(
        attr(cors, "max_age_in_seconds"),
        hcl::Expression::from(3600u64)
    );
    assert_eq!(
        attr(cors, "allowed_origins"),
        hcl::Expression::Array(vec![
            "http://localhost:3000".into(),
            "https://app.example.com".into()
        ])
    );
    let rule = resources[3]
        .body()
        .blocks()
        .find(|b| b.identifier() == "rule")
        .unwrap();
    let base = rule
        .body()
        .blocks()
        .find(|b| b.identifier() == "actions")
        .unwrap()
        .body()
        .blocks()
        .next()
        .unwrap();
    assert_eq!(
        attr(
            base,
            "tier_to_cool_after_days_since_modification_greater_than"
        ),
        hcl::Expression::from(30u64)
    );
    assert_eq!(
        attr(base, "delete_after_days_since_modification_greater_than"),
        hcl::Expression::from(365u64)
    );
}

#[test]
fn bicep_matches_golden() {
    let out = bicep::render(&manifest());
    golden("storage.bicep", &out);
    for needle in [
        "Microsoft.Storage/storageAccounts@",
        "publicAccess: 'None'",
        "publicAccess: 'Blob'",
        "corsRules",
        "daysAfterModificationGreaterThan: 365",
    ] {
        assert!(out.contains(needle), "{needle}");
    }
}

#[test]
fn without_account_settings_the_name_is_an_input() {
    let m = Manifest::parse("[[container]]\nname = \"logs\"\n", "m").unwrap();
    let tf = terraform::render(&m);
    hcl::from_str::<hcl::Body>(&tf).expect("valid HCL");
    assert!(
        tf.contains("name                            = var.storage_account_name"),
        "{tf}"
    );
    assert!(!tf.contains("azurerm_storage_management_policy"));
    assert!(bicep::render(&m).contains("param storageAccountName string"));
}

fn resources(body: &hcl::Body) -> Vec<(String, &hcl::Block)> {
    body.blocks()
        .filter(|b| b.identifier() == "resource")
        .map(|b| {
            (
                format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str()),
                b,
            )
        })
        .collect()
}

fn attr(block: &hcl::Block, key: &str) -> hcl::Expression {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr().clone())
        .unwrap_or_else(|| panic!("no {key}"))
}

fn child<'a>(block: &'a hcl::Block, name: &str) -> Vec<&'a hcl::Block> {
    block
        .body()
        .blocks()
        .filter(|b| b.identifier() == name)
        .collect()
}

#[test]
fn terraform_for_s3_matches_golden_and_parses_as_hcl() {
    let tf = storage_infra::export::terraform_s3::render(&manifest()).unwrap();
    golden("storage.s3.tf", &tf);
    let body: hcl::Body = hcl::from_str(&tf).expect("valid HCL");
    let all = resources(&body);
    let kinds: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "aws_s3_bucket.recordings",
            "aws_s3_bucket_public_access_block.recordings",
            "aws_s3_bucket_cors_configuration.recordings",
            "aws_s3_bucket_versioning.recordings",
            "aws_s3_bucket_lifecycle_configuration.recordings",
            "aws_s3_bucket.public_assets",
            "aws_s3_bucket_public_access_block.public_assets",
            "aws_s3_bucket_policy.public_assets",
            "aws_s3_bucket_cors_configuration.public_assets",
            "aws_s3_bucket_versioning.public_assets",
            "aws_s3_bucket_lifecycle_configuration.public_assets",
        ]
    );
    let get = |name: &str| all.iter().find(|(k, _)| k == name).unwrap().1;
    assert_eq!(
        attr(get("aws_s3_bucket.recordings"), "bucket"),
        "recordings".into()
    );
    let private_block = get("aws_s3_bucket_public_access_block.recordings");
    for key in [
        "block_public_acls",
        "ignore_public_acls",
        "block_public_policy",
        "restrict_public_buckets",
    ] {
        assert_eq!(attr(private_block, key), true.into(), "{key}");
    }
    let public_block = get("aws_s3_bucket_public_access_block.public_assets");
    assert_eq!(attr(public_block, "block_public_policy"), false.into());
    assert_eq!(attr(public_block, "block_public_acls"), true.into());
    let cors = child(
        get("aws_s3_bucket_cors_configuration.recordings"),
        "cors_rule",
    );
    assert_eq!(cors.len(), 1);
    assert_eq!(
        attr(cors[0], "allowed_methods"),
        hcl::Expression::Array(vec!["GET".into(), "HEAD".into(), "PUT".into()]),
        "OPTIONS is implicit on S3"
    );
    assert_eq!(attr(cors[0], "max_age_seconds"), 3600u64.into());
    // The lifecycle rule `recordings/` is for the recordings bucket, whole;
    // soft delete becomes expiry of noncurrent versions (versioning is on).
    let rules = child(
        get("aws_s3_bucket_lifecycle_configuration.recordings"),
        "rule",
    );
    assert_eq!(rules.len(), 2);
    assert_eq!(attr(rules[0], "id"), "agerecordings".into());
    assert_eq!(attr(child(rules[0], "filter")[0], "prefix"), "".into());
    assert_eq!(
        attr(child(rules[0], "transition")[0], "storage_class"),
        "STANDARD_IA".into()
    );
    assert_eq!(
        attr(child(rules[0], "expiration")[0], "days"),
        365u64.into()
    );
    assert_eq!(
        attr(
            child(rules[1], "noncurrent_version_expiration")[0],
            "noncurrent_days"
        ),
        14u64.into()
    );
    let other = child(
        get("aws_s3_bucket_lifecycle_configuration.public_assets"),
        "rule",
    );
    assert_eq!(other.len(), 1, "agerecordings is not for public-assets");
    assert!(tf.contains("Action    = \"s3:GetObject\""), "{tf}");
    assert!(!tf.contains("s3:ListBucket"), "blob access lists nothing");
    assert!(
        tf.contains("owner = \"recordings_service\""),
        "metadata as tags"
    );
}

#[test]
fn terraform_for_gcs_matches_golden_and_parses_as_hcl() {
    let tf = storage_infra::export::terraform_gcs::render(&manifest());
    golden("storage.gcs.tf", &tf);
    let body: hcl::Body = hcl::from_str(&tf).expect("valid HCL");
    let all = resources(&body);
    let kinds: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "google_storage_bucket.recordings",
            "google_storage_bucket.public_assets",
            "google_storage_bucket_iam_member.public_assets_public_read",
        ]
    );
    let recordings = all[0].1;
    assert_eq!(attr(recordings, "uniform_bucket_level_access"), true.into());
    assert_eq!(
        attr(recordings, "public_access_prevention"),
        "enforced".into()
    );
    assert_eq!(
        attr(all[1].1, "public_access_prevention"),
        "inherited".into()
    );
    assert_eq!(
        attr(child(recordings, "versioning")[0], "enabled"),
        true.into()
    );
    assert_eq!(
        attr(
            child(recordings, "soft_delete_policy")[0],
            "retention_duration_seconds"
        ),
        (14u64 * 86_400).into()
    );
    let cors = child(recordings, "cors");
    assert_eq!(cors.len(), 1);
    assert_eq!(
        attr(cors[0], "response_header"),
        hcl::Expression::Array(
            [
                "content-disposition",
                "content-length",
                "content-type",
                "etag",
                "x-ms-blob-type",
                "x-ms-meta-*"
            ]
            .map(hcl::Expression::from)
            .to_vec()
        ),
        "allowed and exposed headers in one list"
    );
    let rules = child(recordings, "lifecycle_rule");
    assert_eq!(rules.len(), 2, "cool and delete");
    assert_eq!(
        attr(child(rules[0], "action")[0], "storage_class"),
        "NEARLINE".into()
    );
    assert_eq!(attr(child(rules[1], "action")[0], "type"), "Delete".into());
    assert_eq!(attr(child(rules[1], "condition")[0], "age"), 365u64.into());
    assert!(child(all[1].1, "lifecycle_rule").is_empty());
    assert_eq!(attr(all[2].1, "member"), "allUsers".into());
    assert_eq!(
        attr(all[2].1, "role"),
        "roles/storage.legacyObjectReader".into()
    );
}

#[tokio::test]
async fn the_export_command_picks_the_cloud_from_the_provider() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("storage.toml");
    std::fs::write(&path, include_str!("golden/storage.toml")).unwrap();
    let run = |args: &[&str], provider: Option<&str>| {
        let mut argv = vec!["storage-infra", "--manifest", path.to_str().unwrap()];
        argv.extend_from_slice(args);
        let cmd = storage_infra::cli::InfraCommand::parse_from(argv);
        let provider = provider.map(str::to_string);
        async move {
            storage_infra::cli::execute(
                cmd,
                &move |var| {
                    (var == "BLOB_STORAGE_PROVIDER")
                        .then(|| provider.clone())
                        .flatten()
                },
                &mut |_| None,
            )
            .await
        }
    };
    let out = run(
        &["export", "--format", "terraform", "--provider", "s3"],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("resource \"aws_s3_bucket\" \"recordings\""));
    let out = run(&["export", "--format", "terraform"], Some("gcs")).await;
    assert!(
        out.stdout.contains("resource \"google_storage_bucket\""),
        "{}",
        out.stdout
    );
    let out = run(&["export", "--format", "terraform"], None).await;
    assert!(
        out.stdout.contains("azurerm_storage_account"),
        "unset keeps azurerm"
    );
    let out = run(&["export", "--format", "bicep", "--provider", "s3"], None).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--format terraform"), "{}", out.stderr);
}
