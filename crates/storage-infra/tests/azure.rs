//! plan → apply → plan → apply against a fresh Azurite, with the result read
//! back over REST.

#![allow(clippy::unwrap_used)]

use storage_azure::AzureConfig;
use storage_infra::azure::AzureBackend;
use storage_infra::manifest::{Access, Manifest};
use storage_infra::{apply, Backend, Change};
use storage_testkit::azurite::Azurite;

fn backend() -> AzureBackend {
    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    let cs = azurite.connection_string();
    let config = AzureConfig::from_lookup(|var| {
        (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone())
    })
    .unwrap();
    AzureBackend::new(&config).unwrap()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{:06x}",
        std::process::id(),
        fastrand_u32() & 0xffffff
    )
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_plan_apply_is_idempotent_and_reads_back() {
    let backend = backend();
    let private = unique("rec");
    let public = unique("pub");
    let text = format!(
        r#"
[[container]]
name = "{private}"
metadata = {{ owner = "recordings", tier = "gold" }}

[[container]]
name = "{public}"
access = "container"

[[cors]]
origins = ["http://127.0.0.1:3000", "https://app.example.com"]
methods = ["PUT", "GET", "OPTIONS"]
allowed_headers = ["Content-Type", "x-ms-blob-type", "x-ms-meta-*"]
exposed_headers = ["content-disposition", "etag"]
max_age_secs = 600
"#
    );
    let manifest = Manifest::parse(&text, "storage.toml").unwrap();

    let plan = backend.plan(&manifest).await.unwrap();
    assert_eq!(plan.changes.len(), 3, "{plan:#?}");
    assert!(
        matches!(&plan.changes[0], Change::CreateContainer { name, access: Access::Private, .. } if *name == private)
    );
    assert!(
        matches!(&plan.changes[1], Change::CreateContainer { name, access: Access::Container, .. } if *name == public)
    );
    assert!(matches!(&plan.changes[2], Change::SetCors { to, .. } if to.len() == 1));

    let report = apply(&backend, &manifest).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.done.len(), 3);

    // Read back over REST.
    let client = backend.client();
    let got = client.get_container(&private).await.unwrap().unwrap();
    assert_eq!(got.access, Access::Private);
    assert_eq!(
        got.metadata.get("owner").map(String::as_str),
        Some("recordings")
    );
    assert_eq!(got.metadata.get("tier").map(String::as_str), Some("gold"));
    let got = client.get_container(&public).await.unwrap().unwrap();
    assert_eq!(got.access, Access::Container);
    let cors = client.get_cors().await.unwrap();
    assert_eq!(cors.len(), 1);
    assert_eq!(
        cors[0].origins,
        ["http://127.0.0.1:3000", "https://app.example.com"]
    );
    assert_eq!(cors[0].methods, ["GET", "OPTIONS", "PUT"]);
    assert_eq!(
        cors[0].allowed_headers,
        ["content-type", "x-ms-blob-type", "x-ms-meta-*"]
    );
    assert_eq!(cors[0].exposed_headers, ["content-disposition", "etag"]);
    assert_eq!(cors[0].max_age_secs, 600);

    let plan = backend.plan(&manifest).await.unwrap();
    assert!(plan.is_empty(), "second plan: {plan:#?}");
    let report = apply(&backend, &manifest).await.unwrap();
    assert!(report.succeeded() && report.done.is_empty(), "{report:#?}");
    assert!(backend.plan(&manifest).await.unwrap().is_empty());

    // Drift is corrected: change the access level and metadata in the manifest.
    let changed = text
        .replace("access = \"container\"", "access = \"blob\"")
        .replace("tier = \"gold\"", "tier = \"silver\"");
    let manifest2 = Manifest::parse(&changed, "storage.toml").unwrap();
    let plan = backend.plan(&manifest2).await.unwrap();
    assert_eq!(plan.changes.len(), 2, "{plan:#?}");
    assert!(plan.changes.iter().any(|c| matches!(
        c,
        Change::SetAccess {
            from: Access::Container,
            to: Access::Blob,
            ..
        }
    )));
    assert!(plan
        .changes
        .iter()
        .any(|c| matches!(c, Change::SetMetadata { .. })));
    let report = apply(&backend, &manifest2).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        client.get_container(&public).await.unwrap().unwrap().access,
        Access::Blob
    );
    assert_eq!(
        client
            .get_container(&private)
            .await
            .unwrap()
            .unwrap()
            .metadata
            .get("tier")
            .map(String::as_str),
        Some("silver")
    );
    assert!(backend.plan(&manifest2).await.unwrap().is_empty());

    // A container missing from the manifest is never deleted.
    let only_one = Manifest::parse(&format!("[[container]]\nname = \"{private}\"\n"), "m").unwrap();
    assert!(backend.plan(&only_one).await.unwrap().is_empty());
    assert!(client.get_container(&public).await.unwrap().is_some());

    // destroy removes exactly the manifest's containers.
    let deleted = backend.destroy(&only_one).await.unwrap();
    assert_eq!(deleted, vec![private.clone()]);
    assert!(client.get_container(&private).await.unwrap().is_none());
    assert!(client.get_container(&public).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_fails_with_exit_code_1_and_no_secret_in_the_message() {
    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    // A SAS that is syntactically fine but signed with nothing: every
    // write is refused, so the first change fails and the rest are listed.
    let cs = format!(
        "BlobEndpoint={};SharedAccessSignature=sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=AAAA",
        azurite.blob_endpoint()
    );
    let config = AzureConfig::from_lookup(|var| {
        (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone())
    })
    .unwrap();
    let backend = AzureBackend::new(&config).unwrap();
    let manifest = Manifest::parse(
        &format!("[[container]]\nname = \"{}\"\n", unique("denied")),
        "m",
    )
    .unwrap();
    let err = apply(&backend, &manifest).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(!text.contains("sig=AAAA"), "secret leaked: {text}");
    assert_eq!(err.exit_code(), 1);
}
