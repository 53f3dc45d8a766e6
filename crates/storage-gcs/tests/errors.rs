//! How the service's refusals reach the caller: a missing bucket, a
//! throttling answer, a failing service, and bad input refused before
//! any request.

mod common;

use std::time::Duration;

use storage_core::{BlobStore, BlobStoreExt, Body, ErrorKind, ListOptions, PutOptions};
use storage_gcs::GcsStore;
use storage_testkit::fault_proxy::{Fault, FaultPlan, Rule};

fn quick() -> storage_core::retry::RetryPolicy {
    storage_core::retry::RetryPolicy::default().retries(2, Duration::from_millis(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_not_found_on_every_call() {
    let emulator = common::emulator().await;
    let store =
        GcsStore::new(common::config_for(emulator.url(), "no-such-bucket-here")).expect("store");
    let key = store.key("k").expect("key");
    let outcomes = [
        ("head", store.head(&key).await.map(|_| ())),
        ("get", store.get_bytes("k").await.map(|_| ())),
        ("list", store.list(ListOptions::new()).await.map(|_| ())),
        (
            "put",
            store
                .put(&key, Body::from("x"), PutOptions::new())
                .await
                .map(|_| ()),
        ),
    ];
    for (op, outcome) in outcomes {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::NotFound, "{op}: {err}");
        assert!(err.to_string().contains("404"), "{op}: {err}");
        if matches!(op, "list" | "put") {
            assert!(err.to_string().contains("GCS_BUCKET"), "{op}: {err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_a_rate_limit_with_the_servers_wait() {
    let emulator = common::emulator().await;
    let bucket = common::fresh_bucket().await;
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::Status {
        code: 429,
        retry_after: Some(1),
    }));
    let (proxy, endpoint) = emulator
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store =
        GcsStore::new(common::config_for(&endpoint, &bucket).with_retry(quick().without_retries()))
            .expect("store");
    let err = store
        .head(&store.key("k").expect("key"))
        .await
        .expect_err("throttled");
    assert_eq!(
        err.kind(),
        &ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        },
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(proxy.count(|r| r.status == Some(429)), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_that_outlasts_the_retries_is_a_backend_error() {
    let emulator = common::emulator().await;
    let bucket = common::fresh_bucket().await;
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::status(503)));
    let (proxy, endpoint) = emulator
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store =
        GcsStore::new(common::config_for(&endpoint, &bucket).with_retry(quick())).expect("store");
    let key = store.key("unavailable.bin").expect("key");
    let outcomes = [
        ("head", store.head(&key).await.map(|_| ())),
        ("list", store.list(ListOptions::new()).await.map(|_| ())),
        (
            "put",
            store
                .put(&key, Body::from("x"), PutOptions::new())
                .await
                .map(|_| ()),
        ),
    ];
    for (op, outcome) in outcomes {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Backend, "{op}: {err}");
    }
    // One try and two retries for each of the three operations.
    assert_eq!(proxy.count(|r| r.status == Some(503)), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etag_that_is_no_generation_matches_nothing() {
    let store = common::fresh_store().await;
    store.put_bytes("a.txt", "abc").await.expect("seed");
    let err = store
        .put_bytes_with(
            "a.txt",
            "new",
            PutOptions::new().mode(storage_core::PutMode::IfMatch(
                "\"not-a-generation\"".into(),
            )),
        )
        .await
        .expect_err("no such version");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(store.get_bytes("a.txt").await.expect("kept"), "abc");
}
