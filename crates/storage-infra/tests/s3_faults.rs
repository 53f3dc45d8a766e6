//! Provisioning through the fault proxy in front of moto: the one retry
//! policy carries reads and idempotent writes over 503s, 429s and resets,
//! and never sends a CreateBucket twice.

use std::time::Duration;

use storage_core::retry::RetryPolicy;
use storage_infra::manifest::Manifest;
use storage_infra::s3::S3Backend;
use storage_infra::{apply, Backend};
use storage_s3::S3Config;
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};
use storage_testkit::moto::{self, Moto};

async fn proxied(plan: FaultPlan) -> (FaultProxy, S3Backend) {
    let moto = Moto::shared().unwrap_or_else(|e| panic!("{e}"));
    let proxy = moto
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = proxy.url();
    let config = S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some("unused".into()),
        "AWS_ENDPOINT_URL_S3" => Some(url.clone()),
        "AWS_REGION" => Some(moto::REGION.into()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY_ID.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_ACCESS_KEY.into()),
        _ => None,
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
    (proxy, S3Backend::new(&config).expect("backend"))
}

fn manifest(bucket: &str) -> Manifest {
    let text = format!(
        r#"
[[container]]
name = "{bucket}"

[[cors]]
origins = ["http://127.0.0.1:3000"]
methods = ["PUT", "GET"]
allowed_headers = ["content-type"]
max_age_secs = 60
"#
    );
    Manifest::parse(&text, "storage.toml").expect("manifest")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// `PUT /<bucket>/` with no sub-resource: a CreateBucket.
fn is_create(r: &RequestRecord) -> bool {
    r.head.method == "PUT" && !r.head.target.contains('?')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_retries_reads_and_idempotent_writes_through_faults() {
    let plan = FaultPlan::none()
        .with_rule(
            Rule::new(Fault::Status {
                code: 503,
                retry_after: Some(0),
            })
            .method("HEAD")
            .first(2),
        )
        .with_rule(
            Rule::new(Fault::status(429))
                .method("PUT")
                .target_contains("?cors")
                .first(1),
        )
        .with_rule(
            Rule::new(Fault::ResetBeforeResponse)
                .method("PUT")
                .target_contains("?publicAccessBlock")
                .first(1),
        );
    let (proxy, backend) = proxied(plan).await;
    let wanted = manifest(&unique("faulty"));
    let report = apply(&backend, &wanted).await.expect("apply");
    assert!(report.succeeded(), "{report:#?}");
    assert!(backend.plan(&wanted).await.expect("plan").is_empty());
    assert!(
        proxy.count(|r| r.fault.is_some()) >= 4,
        "the faults were met: {:#?}",
        proxy.requests()
    );
    assert_eq!(
        proxy.count(is_create),
        1,
        "one create: {:#?}",
        proxy.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_is_reported_and_not_replayed() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::Status {
            code: 503,
            retry_after: Some(0),
        })
        .method("PUT"),
    );
    let (proxy, backend) = proxied(plan).await;
    let report = apply(&backend, &manifest(&unique("nocreate")))
        .await
        .expect("apply report");
    assert!(!report.succeeded(), "{report:#?}");
    let failed = report.failed.as_ref().expect("the failure");
    assert!(
        failed.error.contains("503"),
        "says what the service answered: {}",
        failed.error
    );
    assert!(
        report.done.is_empty() && report.not_attempted.len() == 2,
        "{report:#?}"
    );
    assert_eq!(
        proxy.count(is_create),
        1,
        "a create is sent once: {:#?}",
        proxy.requests()
    );
}
