//! The Azure adapter behind the fault-injecting proxy, on Azurite: under a
//! seeded 20% mix of resets and error statuses every operation that is safe
//! to repeat still succeeds with identical bytes and creates are never
//! replayed once forwarded, a cut download resumes (and refuses to splice a
//! blob that changed), a hung backend times out within the deadline, and a
//! plain 503 that outlasts the retries is a backend error, not a rate limit.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use storage_azure::{AzureConfig, AzureStore};
use storage_core::retry::RetryPolicy;
use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, GetOptions, ListOptions, PutMode,
    PutOptions,
};
use storage_testkit::data::{seeded_bytes, size_and_sha256, streamed_body, twenty_percent_faults};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};

/// A fresh container on Azurite (created straight on Azurite, so no setup
/// request crosses the proxy), a proxy in front of Azurite, a store through
/// the proxy and one straight to Azurite (for seeding and for changing
/// blobs behind the proxied store's back).
struct Rig {
    proxy: FaultProxy,
    store: AzureStore,
    direct: AzureStore,
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

async fn rig(plan: FaultPlan, policy: RetryPolicy, part_size: usize) -> Rig {
    let direct_config = common::fresh_config().await;
    let azurite = common::azurite().await;
    // Nothing is exempted: the container already exists, and listing
    // blobs (`?restype=container&comp=list`) must meet the faults too.
    let (proxy, cs) = azurite
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let container = direct_config.container().to_string();
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("proxied config")
    .with_retry(policy)
    .with_part_size(part_size)
    .expect("part size");
    Rig {
        proxy,
        store: AzureStore::new(config).expect("proxied store"),
        direct: AzureStore::new(direct_config).expect("store"),
    }
}

/// A blob GET's range start, from `range` or `x-ms-range`.
fn range_start(r: &RequestRecord) -> Option<u64> {
    let value = r.head.header("range").or(r.head.header("x-ms-range"))?;
    value
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_a_twenty_percent_fault_mix() {
    let rig = rig(twenty_percent_faults(0x5eed_a201), fast_policy(), 1 << 20).await;
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
                PutOptions::new(),
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
        store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new().mode(PutMode::Overwrite),
            )
            .await
            .unwrap_or_else(|e| panic!("copy to {to}: {e}"));
        let got = rig.direct.get_bytes(&to).await.expect("copied blob");
        assert!(got == bytes[..], "{to}: copied bytes differ");
    }

    // Create-only puts: a replay could find its own first attempt, so one
    // that hit a fault may fail, but it reached Azurite at most once.
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
        let forwarded = rig.proxy.count(|r| {
            r.head.method == "PUT"
                && r.head.path().ends_with(&format!("/{key}"))
                && r.head.header("if-none-match") == Some("*")
                && r.forwarded
        });
        assert!(forwarded <= 1, "create {key} forwarded {forwarded} times");
        match outcome {
            Ok(_) => {
                let got = rig.direct.get_bytes(&key).await.expect("created blob");
                assert!(got == bytes[..], "{key}: created bytes differ");
            }
            Err(e) if forwarded == 0 => {
                assert!(
                    !rig.direct.exists(&key).await.expect("exists"),
                    "{key} exists though its create never arrived: {e}"
                );
            }
            Err(_) => {}
        }
    }

    // A 20 MiB stream of unknown length goes up in 1 MiB blocks.
    let (body, digest) = streamed_body(7, 20);
    let meta = store
        .put(
            &store.key("big/stream.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("block upload: {e}"));
    assert_eq!(meta.size, 20 << 20);
    let blocks = rig
        .proxy
        .count(|r| r.head.target.contains("comp=block&") && r.forwarded);
    assert!(blocks >= 20, "20 MiB in 1 MiB blocks, saw {blocks}");
    assert_eq!(
        size_and_sha256(store, "big/stream.bin").await,
        (20 << 20, digest)
    );

    // Deletes are idempotent: a broken connection is retried like an
    // error status, so they run under the same mix.
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
async fn a_cut_download_resumes_from_the_last_byte() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::ResetMidResponse {
            after: Some(1 << 20),
        })
        .method("GET")
        .target_contains("/resume.bin")
        .nth(1),
    );
    let rig = rig(plan, fast_policy(), 8 << 20).await;
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

    let reads: Vec<RequestRecord> = rig
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.head.method == "GET" && r.head.path().ends_with("/resume.bin"))
        .collect();
    assert_eq!(reads.len(), 2, "{reads:#?}");
    assert!(reads[0].fault.is_some());
    let start = range_start(&reads[1]).unwrap_or_else(|| panic!("no range: {:?}", reads[1]));
    assert!(start > 0 && start <= 1 << 20, "resumed at {start}");
    // This resume is object_store's own: it sends no If-Match but compares
    // the answer's etag with the first one before using its body. The
    // portable layer's pinned resume shows in the next test, once
    // object_store has given up on a changed blob.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_blob_changed_before_the_resume_fails() {
    // The cut lies 2 MiB in, far past the first chunk, so the first chunk
    // is read (and the blob replaced) before the stream breaks.
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::ResetMidResponse {
            after: Some(2 << 20),
        })
        .method("GET")
        .target_contains("/changing.bin")
        .nth(1),
    );
    let rig = rig(plan, fast_policy(), 8 << 20).await;
    rig.direct
        .put_bytes("changing.bin", seeded_bytes(1, 6 << 20))
        .await
        .expect("seed");

    let blob = rig
        .store
        .get(
            &rig.store.key("changing.bin").expect("key"),
            GetOptions::new(),
        )
        .await
        .expect("open");
    let mut body = blob.into_stream();
    let first = body
        .next()
        .await
        .expect("a first chunk")
        .expect("first chunk");
    assert!(!first.is_empty());
    rig.direct
        .put_bytes("changing.bin", seeded_bytes(2, 6 << 20))
        .await
        .expect("overwrite");
    let mut outcome = Ok(first.len() as u64);
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => outcome = outcome.map(|n| n + chunk.len() as u64),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    let err = outcome.expect_err("a changed blob must not be spliced");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert!(
        rig.proxy.count(|r| r.head.path().ends_with("/changing.bin")
            && range_start(r).is_some_and(|s| s > 0)
            && r.head.header("if-match").is_some())
            >= 1,
        "the failure comes from a resumed, pinned read"
    );
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
    let rig = rig(FaultPlan::hang_all(), policy, 8 << 20).await;
    let store = &rig.store;
    let key = store.key("hung.bin").expect("key");
    let started = Instant::now();
    // Run together: each waits out the same deadline.
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
        ("head", head.map(|_| ())),
        ("list", list.map(|_| ())),
        ("get", get.map(|_| ())),
        ("put", put.map(|_| ())),
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
async fn a_plain_503_that_outlasts_the_retries_is_a_backend_error() {
    // No `ServerBusy` body: the service is failing, not throttling.
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::status(503)));
    let policy = fast_policy().retries(2, Duration::from_millis(10));
    let rig = rig(plan, policy, 8 << 20).await;
    let store = &rig.store;
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
        let text = err.to_string();
        assert!(!text.contains("rate limited"), "{op}: {text}");
    }
    // One try and two retries for each of the three operations.
    assert_eq!(rig.proxy.count(|r| r.status == Some(503)), 9);
}
