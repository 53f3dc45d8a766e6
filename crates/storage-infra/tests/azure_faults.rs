//! Provisioning through the fault proxy in front of Azurite: the one retry
//! policy carries reads and idempotent writes over 503s, 429s and resets,
//! and never sends a container create twice.

use std::time::Duration;

use storage_azure::AzureConfig;
use storage_core::retry::RetryPolicy;
use storage_infra::azure::AzureBackend;
use storage_infra::manifest::Manifest;
use storage_infra::{apply, Backend};
use storage_testkit::azurite::Azurite;
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, Rule};

async fn proxied(plan: FaultPlan) -> (FaultProxy, AzureBackend) {
    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    let (proxy, cs) = azurite
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config = AzureConfig::from_lookup(|var| {
        (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone())
    })
    .expect("config")
    .with_retry(
        RetryPolicy::default()
            .retries(4, Duration::from_millis(5))
            .timeouts(
                Duration::from_secs(2),
                Duration::from_secs(5),
                Duration::from_secs(20),
            ),
    );
    (proxy, AzureBackend::new(&config).expect("backend"))
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

fn manifest(container: &str) -> Manifest {
    let text = format!(
        r#"
[[container]]
name = "{container}"
metadata = {{ owner = "faults" }}

[[cors]]
origins = ["http://127.0.0.1:3000"]
methods = ["PUT", "GET"]
allowed_headers = ["content-type"]
exposed_headers = ["etag"]
max_age_secs = 60
"#
    );
    Manifest::parse(&text, "storage.toml").expect("manifest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_retries_reads_and_idempotent_writes_through_faults() {
    let container = unique("faulty");
    let plan = FaultPlan::none()
        .with_rule(
            Rule::new(Fault::Status {
                code: 503,
                retry_after: Some(0),
            })
            .method("GET")
            .first(2),
        )
        .with_rule(
            Rule::new(Fault::status(429))
                .method("PUT")
                .target_contains("comp=metadata")
                .first(1),
        )
        .with_rule(
            Rule::new(Fault::ResetBeforeResponse)
                .method("PUT")
                .target_contains("comp=properties")
                .first(1),
        );
    let (proxy, backend) = proxied(plan).await;
    let wanted = manifest(&container);

    let report = apply(&backend, &wanted).await.expect("apply");
    assert!(report.succeeded(), "{report:#?}");
    assert!(
        backend.plan(&wanted).await.expect("plan").is_empty(),
        "everything is in place after one apply"
    );
    let faults = proxy.count(|r| r.fault.is_some());
    assert!(faults >= 3, "the faults were met: {:#?}", proxy.requests());
    let creates = proxy.count(|r| {
        r.head.method == "PUT"
            && r.head.target.contains("restype=container")
            && !r.head.target.contains("comp=")
    });
    assert_eq!(creates, 1, "one create: {:#?}", proxy.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_is_reported_and_not_replayed() {
    let container = unique("nocreate");
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::status(503))
            .method("PUT")
            .target_contains("restype=container"),
    );
    let (proxy, backend) = proxied(plan).await;
    let report = apply(&backend, &manifest(&container))
        .await
        .expect("apply report");
    assert!(!report.succeeded(), "{report:#?}");
    let failed = report.failed.as_ref().expect("the failure");
    let text = format!("{failed:?}");
    assert!(
        text.contains("503"),
        "the report says what the service answered: {text}"
    );
    let creates = proxy.count(|r| {
        r.head.method == "PUT"
            && r.head.target.contains("restype=container")
            && !r.head.target.contains("comp=")
    });
    assert_eq!(creates, 1, "a create is sent once: {:#?}", proxy.requests());
}
