//! plan → apply → plan → apply for GCS, with the buckets read back over
//! plain JSON-API requests.
//!
//! On gcp-storage-emulator ([`GcsEmulator::shared_python`]): it keeps what a
//! bucket `PATCH` sets (`cors`, `labels`, `iamConfiguration`), which
//! fake-gcs-server 1.54 answers 200 to and then drops, so on that emulator
//! no plan could ever come out empty. Neither emulator takes those fields
//! on the create itself, which is why the backend creates a bucket with
//! its name alone and sets the rest by `PATCH`.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use storage_gcs::GcsConfig;
use storage_infra::gcs::GcsBackend;
use storage_infra::manifest::Manifest;
use storage_infra::{apply, Backend, Change};
use storage_testkit::fault_proxy::{Fault, FaultPlan, Rule};
use storage_testkit::gcs_emulator::GcsEmulator;

fn emulator() -> &'static GcsEmulator {
    GcsEmulator::shared_python().unwrap_or_else(|e| panic!("{e}"))
}

fn config(url: &str) -> GcsConfig {
    let url = url.to_string();
    GcsConfig::from_lookup(move |var| match var {
        "GCS_BUCKET" => Some("unused".into()),
        "STORAGE_EMULATOR_HOST" => Some(url.clone()),
        _ => None,
    })
    .unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

async fn bucket(name: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}/storage/v1/b/{name}", emulator().url()))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn manifest(private: &str, public: &str, origin: &str, owner: &str) -> Manifest {
    let text = format!(
        r#"
[[container]]
name = "{private}"
metadata = {{ owner = "{owner}" }}

[[container]]
name = "{public}"
access = "container"

[[cors]]
origins = ["{origin}"]
methods = ["PUT", "GET"]
allowed_headers = ["content-type"]
exposed_headers = ["etag"]
max_age_secs = 600
"#
    );
    Manifest::parse(&text, "storage.toml").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_plan_apply_is_idempotent_and_reads_back() {
    let backend = GcsBackend::new(&config(emulator().url()), Some("proj-1".into()), None).unwrap();
    let (private, public) = (unique("rec"), unique("pub"));
    let wanted = manifest(&private, &public, "http://127.0.0.1:3000", "recordings");

    let plan = backend.plan(&wanted).await.unwrap();
    let kinds: Vec<String> = plan
        .changes
        .iter()
        .map(|c| {
            serde_json::to_value(c).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "create_container",
            "set_bucket_cors",
            "set_metadata",
            "set_bucket_protection",
            "create_container",
            "set_bucket_cors",
            "set_bucket_protection"
        ],
        "{plan:#?}"
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("allUsers")),
        "{plan:#?}"
    );
    let report = apply(&backend, &wanted).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");

    let (status, got) = bucket(&private).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["labels"]["owner"], "recordings");
    assert_eq!(got["cors"][0]["origin"][0], "http://127.0.0.1:3000");
    assert_eq!(got["cors"][0]["method"], serde_json::json!(["GET", "PUT"]));
    assert_eq!(
        got["cors"][0]["responseHeader"],
        serde_json::json!(["content-type", "etag"])
    );
    assert_eq!(got["cors"][0]["maxAgeSeconds"], 600);
    assert_eq!(
        got["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"],
        true
    );
    assert_eq!(
        got["iamConfiguration"]["publicAccessPrevention"],
        "enforced"
    );
    let (_, got) = bucket(&public).await;
    assert_eq!(
        got["iamConfiguration"]["publicAccessPrevention"],
        "inherited"
    );

    assert!(backend.plan(&wanted).await.unwrap().is_empty());
    let report = apply(&backend, &wanted).await.unwrap();
    assert!(report.succeeded() && report.done.is_empty(), "{report:#?}");

    // Drift: another origin and another label value.
    let moved = manifest(&private, &public, "https://app.example.com", "archive");
    let plan = backend.plan(&moved).await.unwrap();
    assert_eq!(plan.changes.len(), 3, "{plan:#?}");
    assert!(plan
        .changes
        .iter()
        .any(|c| matches!(c, Change::SetMetadata { .. })));
    assert!(apply(&backend, &moved).await.unwrap().succeeded());
    assert_eq!(bucket(&private).await.1["labels"]["owner"], "archive");
    assert!(backend.plan(&moved).await.unwrap().is_empty());

    // destroy: exactly the manifest's buckets, with their objects.
    let upload = reqwest::Client::new()
        .post(format!(
            "{}/upload/storage/v1/b/{private}/o?uploadType=media&name=a.txt",
            emulator().url()
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success(), "{upload:?}");
    let only_one = Manifest::parse(&format!("[[container]]\nname = \"{private}\"\n"), "m").unwrap();
    assert_eq!(
        backend.destroy(&only_one).await.unwrap(),
        vec![private.clone()]
    );
    assert_eq!(bucket(&private).await.0, 404);
    assert_eq!(bucket(&public).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_is_required_and_labels_are_checked_before_any_request() {
    let config = config("http://127.0.0.1:9");
    let err = GcsBackend::new(&config, None, None).unwrap_err();
    assert!(err.to_string().contains("GOOGLE_CLOUD_PROJECT"), "{err}");
    assert_eq!(err.exit_code(), 2);
    let backend = GcsBackend::new(&config, Some("p".into()), None).unwrap();
    let text = "[[container]]\nname = \"labels\"\nmetadata = { owner = \"Not A Label\" }\n";
    let err = backend
        .plan(&Manifest::parse(text, "m").unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("GCS label"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_create_is_reported_and_not_replayed() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::Status {
            code: 503,
            retry_after: Some(0),
        })
        .method("POST"),
    );
    let (proxy, url) = emulator().behind_proxy(plan).await.unwrap();
    let config = config(&url).with_retry(
        storage_core::retry::RetryPolicy::default().retries(3, std::time::Duration::from_millis(5)),
    );
    let backend = GcsBackend::new(&config, Some("proj-1".into()), None).unwrap();
    let name = unique("nocreate");
    let report = apply(
        &backend,
        &manifest(&name, &unique("other"), "http://a.example", "x"),
    )
    .await
    .unwrap();
    assert!(!report.succeeded());
    let failed = report.failed.as_ref().unwrap();
    assert!(matches!(&failed.change, Change::CreateContainer { name: n, .. } if *n == name));
    assert!(failed.error.contains("503"), "{}", failed.error);
    assert!(
        failed.error.contains("proj-1"),
        "names the project: {}",
        failed.error
    );
    assert!(!report.not_attempted.is_empty(), "{report:#?}");
    let creates = proxy.count(|r| r.head.method == "POST");
    assert_eq!(creates, 1, "a create is sent once: {:#?}", proxy.requests());
    // The plan read both buckets before the create.
    assert!(proxy.count(|r| r.head.method == "GET") >= 2);
}
