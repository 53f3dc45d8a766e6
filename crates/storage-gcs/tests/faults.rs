//! The GCS adapter behind the fault-injecting proxy: under the seeded 20%
//! mix of resets and error statuses every operation that is safe to repeat
//! still succeeds with identical bytes, and conditional writes are never
//! replayed once forwarded; a resumable upload recovers chunk by chunk
//! with status queries; a cut download resumes (and refuses to splice a
//! blob that changed); a hung backend times out within the deadline.
//!
//! Everything runs on fake-gcs-server except the resumable upload under
//! faults, which runs on gcp-storage-emulator: fake-gcs-server appends a
//! resent chunk twice and commits a session on a status query, so the
//! recovery Cloud Storage prescribes cannot be exercised on it (see
//! `storage_testkit::gcs_emulator`).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use storage_core::retry::RetryPolicy;
use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, GetOptions, ListOptions, PutMode,
    PutOptions,
};
use storage_gcs::GcsStore;
use storage_testkit::data::{seeded_bytes, streamed_body, twenty_percent_faults};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};
use storage_testkit::gcs_emulator::GcsEmulator;

/// A fresh bucket (made straight on the emulator, so no setup request
/// crosses the proxy), a proxy in front of the emulator, a store through
/// the proxy and one straight to the emulator.
struct Rig {
    proxy: FaultProxy,
    store: GcsStore,
    direct: GcsStore,
    bucket: String,
}

/// Retries fast so a 20% fault rate costs little time.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .retries(6, Duration::from_millis(20))
        .timeouts(
            Duration::from_secs(2),
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
}

async fn rig_on(
    emulator: &'static GcsEmulator,
    plan: FaultPlan,
    policy: RetryPolicy,
    part_size: usize,
) -> Rig {
    let bucket = emulator
        .fresh_bucket()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (proxy, endpoint) = emulator
        .behind_proxy(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config = common::config_for(&endpoint, &bucket)
        .with_retry(policy)
        .with_part_size(part_size)
        .expect("part size");
    Rig {
        proxy,
        store: GcsStore::new(config).expect("proxied store"),
        direct: GcsStore::new(common::config_for(emulator.url(), &bucket)).expect("store"),
        bucket,
    }
}

async fn rig(plan: FaultPlan, policy: RetryPolicy, part_size: usize) -> Rig {
    rig_on(common::emulator().await, plan, policy, part_size).await
}

async fn python_emulator() -> &'static GcsEmulator {
    match tokio::task::spawn_blocking(GcsEmulator::shared_python).await {
        Ok(Ok(emulator)) => emulator,
        Ok(Err(e)) => panic!("{e}"),
        Err(e) => panic!("starting gcp-storage-emulator panicked: {e}"),
    }
}

/// A download's range start, from `Range: bytes=<start>-`.
fn range_start(r: &RequestRecord) -> Option<u64> {
    r.head
        .header("range")?
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Whether `r` is a single-request upload of `key` (the name is in the query).
fn upload_of(r: &RequestRecord, key: &str) -> bool {
    r.head.method == "POST"
        && r.head.path().starts_with("/upload/")
        && (r.head.target.contains(&format!("name={key}&"))
            || r.head.target.ends_with(&format!("name={key}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_a_twenty_percent_fault_mix() {
    let rig = rig(twenty_percent_faults(0x05ee_d6c5), fast_policy(), 256 << 10).await;
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
                PutOptions::new().metadata("n", i.to_string()),
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

    // An overwriting server-side copy is safe to repeat, and keeps the
    // source's metadata.
    for (i, (from, bytes)) in expected.iter().take(4).enumerate() {
        let to = format!("copied-{i:02}.bin");
        let meta = store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new().mode(PutMode::Overwrite),
            )
            .await
            .unwrap_or_else(|e| panic!("copy to {to}: {e}"));
        assert_eq!(meta.metadata.get("n"), Some(&i.to_string()), "{to}");
        let got = rig.direct.get_bytes(&to).await.expect("copied blob");
        assert!(got == bytes[..], "{to}: copied bytes differ");
    }

    // Create-only puts: a replay could find its own first attempt, so one
    // that hit a fault may fail, but it reached the emulator at most once.
    let mut created = 0;
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
        let sent = rig.proxy.count(|r| upload_of(r, &key));
        let forwarded = rig.proxy.count(|r| {
            upload_of(r, &key) && r.head.target.contains("ifGenerationMatch=0") && r.forwarded
        });
        assert!(sent >= 1, "create {key} never reached the proxy");
        assert!(forwarded <= 1, "create {key} forwarded {forwarded} times");
        assert_eq!(sent, 1, "create {key} was sent {sent} times");
        match outcome {
            Ok(_) => {
                created += 1;
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
    assert!(created >= 5, "only {created} of 10 creates went through");

    // A create-only copy is a conditional write too: never replayed.
    for (i, (from, _)) in expected.iter().take(4).enumerate() {
        let to = format!("copy-create-{i:02}.bin");
        let outcome = store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new().mode(PutMode::Create),
            )
            .await;
        let rewrites = rig.proxy.count(|r| {
            r.head.method == "POST"
                && r.head.target.contains("/rewriteTo/")
                && r.head.path().ends_with(&format!("/o/{to}"))
        });
        assert!(rewrites <= 1, "copy to {to} sent {rewrites} times");
        if let Err(e) = outcome {
            assert_ne!(e.kind(), &ErrorKind::AlreadyExists, "{to}: {e}");
        }
    }

    // Deletes are idempotent, so they run under the same mix.
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

/// The bytes of `key` in `bucket`, read straight from the emulator's JSON
/// API (gcp-storage-emulator's downloads carry no `x-goog-generation`,
/// which the adapter's reads need).
async fn raw_download(emulator: &GcsEmulator, bucket: &str, key: &str) -> Vec<u8> {
    let url = format!(
        "{}/download/storage/v1/b/{bucket}/o/{}?alt=media",
        emulator.url(),
        key.replace('/', "%2F")
    );
    let answer = reqwest::get(&url).await.expect("download");
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.bytes().await.expect("body").to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumable_upload_recovers_chunk_by_chunk() {
    let emulator = python_emulator().await;
    let rig = rig_on(
        emulator,
        twenty_percent_faults(0x05ee_d2e5),
        fast_policy(),
        256 << 10,
    )
    .await;
    let (body, digest) = streamed_body(11, 6);
    let meta = rig
        .store
        .put(
            &rig.store.key("big/stream.bin").expect("key"),
            body,
            PutOptions::new()
                .content_type("application/x-test")
                .metadata("kind", "resumable"),
        )
        .await
        .unwrap_or_else(|e| panic!("resumable upload: {e}"));
    assert_eq!(meta.size, 6 << 20);
    assert_eq!(
        meta.metadata.get("kind").map(String::as_str),
        Some("resumable")
    );
    let got = raw_download(emulator, &rig.bucket, "big/stream.bin").await;
    assert_eq!(got.len(), 6 << 20);
    let got_digest: [u8; 32] = Sha256::digest(&got).into();
    assert!(got_digest == digest, "uploaded bytes differ");

    let chunks = rig
        .proxy
        .count(|r| r.head.method == "PUT" && r.head.target.contains("upload_id="));
    assert!(chunks >= 24, "6 MiB in 256 KiB chunks, saw {chunks} PUTs");
    let faulted = rig.proxy.count(|r| {
        r.head.method == "PUT" && r.head.target.contains("upload_id=") && r.fault.is_some()
    });
    assert!(faulted >= 2, "the plan faulted only {faulted} chunks");
    let status_queries = rig.proxy.count(|r| {
        r.head
            .header("content-range")
            .is_some_and(|v| v.starts_with("bytes */"))
    });
    assert!(
        status_queries >= 1,
        "a retried chunk first asks the session what it holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_resumable_body_leaves_nothing_and_cancels_the_session() {
    let emulator = python_emulator().await;
    let rig = rig_on(emulator, FaultPlan::none(), fast_policy(), 256 << 10).await;
    let pieces = (0..4u64)
        .map(|i| Ok(Bytes::from(seeded_bytes(i, 256 << 10))))
        .chain(std::iter::once(Err(std::io::Error::other(
            "the source broke",
        ))));
    let body = Body::from_io_stream(futures::stream::iter(pieces), None);
    let err = rig
        .store
        .put(
            &rig.store.key("broken.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .expect_err("a failing body");
    assert!(err.to_string().contains("upload body"), "{err}");
    let cancels = rig
        .proxy
        .count(|r| r.head.method == "DELETE" && r.head.target.contains("upload_id="));
    assert_eq!(cancels, 1, "the session is cancelled");
    let listing = reqwest::get(format!("{}/storage/v1/b/{}/o", emulator.url(), rig.bucket))
        .await
        .expect("list")
        .text()
        .await
        .expect("body");
    assert!(!listing.contains("broken.bin"), "{listing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_download_resumes_pinned_to_its_generation() {
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
    let seeded = rig
        .direct
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
    assert_eq!(
        reads[1].head.header("x-goog-if-generation-match"),
        Some(seeded.etag.as_str()),
        "the resume is pinned to the generation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_blob_changed_before_the_resume_fails() {
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
    let (head, list, get, put) = tokio::join!(
        store.head(&key),
        store.list(ListOptions::new()),
        store.get(&key, GetOptions::new()),
        store.put(&key, Body::from("x"), PutOptions::new()),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let endpoint = rig.proxy.addr().to_string();
    for (op, outcome) in [
        ("head", head.map(|_| ())),
        ("list", list.map(|_| ())),
        ("get", get.map(|_| ())),
        ("put", put.map(|_| ())),
    ] {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Timeout, "{op}: {err}");
        let text = err.to_string();
        assert!(text.contains(&endpoint), "{op}: {text}");
        assert!(text.contains("BLOB_STORAGE_"), "{op}: {text}");
    }
}
