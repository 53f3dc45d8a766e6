//! The S3 adapter behind the fault-injecting proxy, on moto: under a
//! seeded 20% mix of resets and error statuses every operation that is safe
//! to repeat still succeeds with identical bytes and conditional writes are
//! never replayed once forwarded, a cut download resumes, a hung backend
//! times out within the deadline naming the endpoint, and a 503 that
//! outlasts the retries is a backend error.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use storage_core::retry::RetryPolicy;
use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, GetOptions, ListOptions, PutMode,
    PutOptions,
};
use storage_s3::S3Store;
use storage_testkit::data::{seeded_bytes, size_and_sha256, streamed_body, twenty_percent_faults};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};

/// S3's smallest part, so a 20 MiB body is a four-part upload.
const PART: usize = 5 << 20;

/// A fresh bucket (created straight on moto, so no setup request crosses
/// the proxy), a proxy in front of moto, a store through the proxy and one
/// straight to moto (for seeding and checking).
struct Rig {
    proxy: FaultProxy,
    store: S3Store,
    direct: S3Store,
}

/// Retries fast so a 20% fault rate costs little time.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .retries(6, Duration::from_millis(20))
        .timeouts(
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_secs(20),
        )
}

async fn rig(plan: FaultPlan, policy: RetryPolicy) -> Rig {
    let moto = common::moto().await;
    let bucket = common::fresh_bucket().await;
    let proxy = moto
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config = common::config_for(&proxy.url(), &bucket)
        .with_retry(policy)
        .with_part_size(PART)
        .expect("part size");
    Rig {
        store: S3Store::new(config).expect("proxied store"),
        direct: S3Store::new(common::config_for(moto.endpoint(), &bucket)).expect("store"),
        proxy,
    }
}

fn is_conditional_write(r: &RequestRecord) -> bool {
    matches!(r.head.method.as_str(), "PUT" | "POST")
        && (r.head.header("if-none-match").is_some() || r.head.header("if-match").is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_a_twenty_percent_fault_mix() {
    let rig = rig(twenty_percent_faults(0x5eed_5301), fast_policy()).await;
    let store = &rig.store;

    // Overwriting puts carry their body in memory and are safe to replay.
    let mut expected = Vec::new();
    for i in 0..12u64 {
        let key = format!("mix/obj-{i:02}.bin");
        let bytes = seeded_bytes(i, 1000 + 3000 * i as usize);
        store
            .put(
                &store.key(&key).expect("key"),
                Body::from(bytes.clone()),
                PutOptions::new().metadata("seq", i.to_string()),
            )
            .await
            .unwrap_or_else(|e| panic!("overwriting put {key}: {e}"));
        expected.push((key, bytes));
    }
    for (key, bytes) in &expected {
        let got = store
            .get_bytes(key)
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e}"));
        assert!(got == bytes[..], "{key}: downloaded bytes differ");
        let meta = store
            .head(&store.key(key).expect("key"))
            .await
            .unwrap_or_else(|e| panic!("head {key}: {e}"));
        assert_eq!(meta.size, bytes.len() as u64, "{key}");
    }

    // Paged listing: every page is a separate, retryable request.
    let mut listed = BTreeSet::new();
    let mut opts = ListOptions::new().prefix("mix/").limit(5);
    loop {
        let page = store
            .list(opts.clone())
            .await
            .unwrap_or_else(|e| panic!("list page: {e}"));
        listed.extend(page.entries.iter().map(|e| e.key.as_str().to_string()));
        match page.cursor {
            Some(cursor) => opts = opts.cursor(cursor),
            None => break,
        }
    }
    let want: BTreeSet<String> = expected.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(listed, want);

    // An overwriting server-side copy is safe to repeat.
    for (i, (from, bytes)) in expected.iter().take(4).enumerate() {
        let to = format!("copied-{i:02}.bin");
        let meta = store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("copy to {to}: {e}"));
        assert_eq!(meta.metadata.get("seq"), Some(&i.to_string()), "{to}");
        let got = rig.direct.get_bytes(&to).await.expect("copied blob");
        assert!(got == bytes[..], "{to}: copied bytes differ");
    }

    // Create-only puts: a replay could find its own first attempt, so one
    // that hit a fault may fail, but it reached moto at most once.
    for i in 0..10u64 {
        let key = format!("create-{i:02}.bin");
        let bytes = seeded_bytes(100 + i, 2048);
        let outcome = store
            .put(
                &store.key(&key).expect("key"),
                Body::from(bytes.clone()),
                PutOptions::new().mode(PutMode::Create),
            )
            .await;
        let sent = rig
            .proxy
            .count(|r| r.head.path().ends_with(&format!("/{key}")) && is_conditional_write(r));
        assert_eq!(sent, 1, "create {key} sent {sent} times");
        match outcome {
            Ok(_) => {
                let got = rig.direct.get_bytes(&key).await.expect("created blob");
                assert!(got == bytes[..], "{key}: created bytes differ");
            }
            Err(e) => {
                let forwarded = rig.proxy.count(|r| {
                    r.head.path().ends_with(&format!("/{key}"))
                        && is_conditional_write(r)
                        && r.forwarded
                });
                if forwarded == 0 {
                    assert!(
                        !rig.direct.exists(&key).await.expect("exists"),
                        "{key} exists though its create never arrived: {e}"
                    );
                }
            }
        }
    }

    // A 20 MiB stream of unknown length goes up in 5 MiB parts.
    let (body, digest) = streamed_body(7, 20);
    let meta = store
        .put(
            &store.key("big/stream.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("multipart upload: {e}"));
    assert_eq!(meta.size, 20 << 20);
    let parts = rig.proxy.count(|r| {
        r.head.target.contains("partNumber=")
            && r.head.path().ends_with("/big/stream.bin")
            && r.forwarded
    });
    assert!(parts >= 4, "20 MiB in 5 MiB parts, saw {parts}");
    assert_eq!(
        size_and_sha256(store, "big/stream.bin").await,
        (20 << 20, digest)
    );

    // A create-only multipart upload: its completion carries the
    // condition and is sent once, however the mix treats it.
    let (body, digest) = streamed_body(8, 12);
    let outcome = store
        .put(
            &store.key("big/create.bin").expect("key"),
            body,
            PutOptions::new().mode(PutMode::Create),
        )
        .await;
    let completions = rig.proxy.count(|r| {
        r.head.method == "POST"
            && r.head.path().ends_with("/big/create.bin")
            && r.head.target.contains("uploadId=")
            && is_conditional_write(r)
    });
    if outcome.is_ok() {
        assert_eq!(
            completions, 1,
            "the conditional completion was sent {completions} times"
        );
        assert_eq!(
            size_and_sha256(&rig.direct, "big/create.bin").await,
            (12 << 20, digest)
        );
    } else {
        assert!(
            completions <= 1,
            "the conditional completion was sent {completions} times"
        );
    }

    // Deletes are idempotent.
    for (key, _) in expected.iter().step_by(2) {
        store
            .delete(&store.key(key).expect("key"))
            .await
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
        assert!(!rig.direct.exists(key).await.expect("exists"), "{key}");
    }

    let faulted = rig.proxy.count(|r| r.fault.is_some());
    assert!(faulted >= 10, "the plan faulted only {faulted} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_body_aborts_the_multipart_upload() {
    let rig = rig(FaultPlan::none(), fast_policy()).await;
    let store = &rig.store;
    let good =
        futures::stream::iter((0..3).map(|i| Ok(bytes::Bytes::from(seeded_bytes(i, 4 << 20)))));
    let broken = futures::stream::iter([Err(storage_core::Error::without_provider(
        ErrorKind::Transport,
    )
    .with_message("the client went away"))]);
    let body = Body::from_stream(futures::StreamExt::chain(good, broken), None);
    let err = store
        .put(
            &store.key("torn.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .expect_err("the body failed");
    assert_eq!(err.kind(), &ErrorKind::Transport, "{err}");
    assert!(!rig.direct.exists("torn.bin").await.expect("exists"));
    let aborts = rig
        .proxy
        .count(|r| r.head.method == "DELETE" && r.head.target.contains("uploadId=") && r.forwarded);
    assert_eq!(aborts, 1, "the upload was aborted");
    let completions = rig
        .proxy
        .count(|r| r.head.method == "POST" && r.head.target.contains("uploadId="));
    assert_eq!(completions, 0, "nothing was completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_download_resumes_from_the_last_byte() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::ResetMidResponse {
            after: Some(1 << 20),
        })
        .method("GET")
        .target_contains("/resume.bin")
        .nth(1),
    );
    let rig = rig(plan, fast_policy()).await;
    let bytes = seeded_bytes(42, 5 << 20);
    rig.direct
        .put_bytes("resume.bin", bytes.clone())
        .await
        .expect("seed");
    let got = rig
        .store
        .get_bytes("resume.bin")
        .await
        .expect("resumed get");
    assert!(got == bytes[..], "resumed download differs");
    let reads = rig
        .proxy
        .count(|r| r.head.method == "GET" && r.head.path().ends_with("/resume.bin"));
    assert_eq!(reads, 2, "one cut read and one resumed read");
    let resumed = rig.proxy.count(|r| {
        r.head.path().ends_with("/resume.bin")
            && r.head
                .header("range")
                .is_some_and(|v| !v.starts_with("bytes=0-"))
    });
    assert_eq!(resumed, 1, "the resume asks for the rest only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_backend_times_out_within_the_deadline() {
    let policy = RetryPolicy::default()
        .retries(6, Duration::from_millis(20))
        .timeouts(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(3),
        );
    let rig = rig(FaultPlan::hang_all(), policy).await;
    let store = &rig.store;
    let key = store.key("hung.bin").expect("key");
    let started = Instant::now();
    let (head, list, get, put) = tokio::join!(
        store.head(&key),
        store.list(ListOptions::new()),
        store.get(&key, GetOptions::new()),
        store.put(&key, Body::from("x"), PutOptions::new()),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let endpoint = rig.proxy.addr().to_string();
    let outcomes = [
        ("head", head.map(drop)),
        ("list", list.map(drop)),
        ("get", get.map(drop)),
        ("put", put.map(drop)),
    ];
    for (op, outcome) in outcomes {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Timeout, "{op}: {err}");
        let text = err.to_string();
        assert!(text.contains(&endpoint), "{op}: {text}");
        assert!(text.contains("BLOB_STORAGE_"), "{op}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_that_outlasts_the_retries_is_a_backend_error() {
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::status(503)));
    let policy = fast_policy().retries(2, Duration::from_millis(10));
    let rig = rig(plan, policy).await;
    let store = &rig.store;
    let key = store.key("unavailable.bin").expect("key");
    let outcomes = [
        ("head", store.head(&key).await.map(drop)),
        ("list", store.list(ListOptions::new()).await.map(drop)),
        (
            "put",
            store
                .put(&key, Body::from("x"), PutOptions::new())
                .await
                .map(drop),
        ),
    ];
    for (op, outcome) in outcomes {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Backend, "{op}: {err}");
        assert!(err.to_string().contains("503"), "{op}: {err}");
    }
    // One try and two retries for each of the three operations.
    assert_eq!(rig.proxy.count(|r| r.status == Some(503)), 9);
}
