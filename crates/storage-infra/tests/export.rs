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
