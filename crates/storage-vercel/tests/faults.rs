//! The Vercel adapter behind the fault-injecting proxy, on the emulator:
//! under a seeded 20% mix of resets and error statuses every operation that
//! is safe to repeat (overwriting copies included) still succeeds with
//! identical bytes, creates and `Create` copies are never replayed once
//! forwarded, a cut download resumes (and refuses to splice a blob that
//! changed), a hung backend times out within the deadline, chunked answers
//! read whole, and 429s are waited out.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use storage_core::retry::RetryPolicy;
use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, GetOptions, ListOptions, PutMode,
    PutOptions,
};
use storage_testkit::data::{seeded_bytes, size_and_sha256, streamed_body, twenty_percent_faults};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};
use storage_vercel::{Access, VercelConfig, VercelStore};
use support::Started;

/// An emulator with one proxy in front of its API and another in front of
/// its blob host (so each can get its own faults), a store through the
/// proxies and one straight to the emulator (for seeding and for changing
/// blobs behind the proxied store's back).
struct Rig {
    _started: Started,
    api: FaultProxy,
    host: FaultProxy,
    store: VercelStore,
    direct: VercelStore,
}

/// Retries fast so a 20% fault rate costs little time; the attempt timeout
/// leaves room for an 8 MiB part on a loaded machine.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .retries(6, Duration::from_millis(20))
        .timeouts(
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_secs(20),
        )
}

async fn rig(api_plan: FaultPlan, host_plan: FaultPlan, policy: RetryPolicy) -> Rig {
    let started = support::emulator().await;
    let upstream = started.emulator.addr();
    let api = FaultProxy::start(upstream, api_plan)
        .await
        .expect("API fault proxy");
    let host = FaultProxy::start(upstream, host_plan)
        .await
        .expect("blob host fault proxy");
    // The blob host lives on the emulator's port under a path prefix; the
    // same prefix on a proxy's port reaches it through that proxy.
    let blob_host =
        started
            .emulator
            .blob_host_url()
            .replacen(&started.emulator.api_url(), &host.url(), 1);
    let config = VercelConfig::new(started.token.clone())
        .expect("token")
        .api_url(&api.url())
        .expect("api url")
        .blob_host_url(&format!("{blob_host}/{}", Access::Private.as_str()))
        .expect("blob host url")
        .retry(policy);
    let store = VercelStore::new(config).expect("proxied store");
    let direct = VercelStore::new(support::config(&started, Access::Private)).expect("store");
    Rig {
        _started: started,
        api,
        host,
        store,
        direct,
    }
}

/// Whether a record is the API write of `pathname` (put or copy), in any
/// encoding of the query.
fn writes(r: &RequestRecord, name: &str) -> bool {
    r.head.method == "PUT" && r.head.target.starts_with("/?") && r.head.target.contains(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_a_twenty_percent_fault_mix() {
    // Both the API and the blob host get the full mix, cuts in the middle
    // of an answer included: the adapter reads an API answer's JSON inside
    // the retried attempt, and downloads resume.
    let rig = rig(
        twenty_percent_faults(0x5eed_0011),
        twenty_percent_faults(0x5eed_0012),
        fast_policy(),
    )
    .await;
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

    // Overwriting copies are repeated like overwriting puts, so they all
    // succeed with the source's bytes; `Create` copies reach the emulator
    // at most once, and one that failed for good was never forwarded or
    // left nothing but the source's bytes.
    for (i, (from, bytes)) in expected.iter().take(4).enumerate() {
        let to = format!("copied-{i:02}.bin");
        store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new().mode(PutMode::Overwrite),
            )
            .await
            .unwrap_or_else(|e| panic!("overwriting copy to {to}: {e}"));
        let got = rig.direct.get_bytes(&to).await.expect("copied blob");
        assert!(got == bytes[..], "{to}: copied bytes differ");
    }
    for (i, (from, bytes)) in expected.iter().take(6).enumerate() {
        let to = format!("created-copy-{i:02}.bin");
        let outcome = store
            .copy(
                &store.key(from).expect("key"),
                &store.key(&to).expect("key"),
                CopyOptions::new().mode(PutMode::Create),
            )
            .await;
        let forwarded = rig
            .api
            .count(|r| writes(r, &to) && r.head.target.contains("fromUrl") && r.forwarded);
        assert!(
            forwarded <= 1,
            "create copy to {to} forwarded {forwarded} times"
        );
        match outcome {
            Ok(_) => {
                let got = rig.direct.get_bytes(&to).await.expect("copied blob");
                assert!(got == bytes[..], "{to}: copied bytes differ");
            }
            Err(e) => assert!(e.is_retryable(), "create copy to {to} failed for good: {e}"),
        }
    }

    // Create-only puts: a replay could find its own first attempt, so one
    // that hit a fault may fail, but it reached the emulator at most once.
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
        let forwarded = rig.api.count(|r| {
            writes(r, &key) && r.head.header("x-allow-overwrite") == Some("0") && r.forwarded
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

    // A 20 MiB stream of unknown length goes up in 8 MiB parts.
    let (body, digest) = streamed_body(7, 20);
    let meta = store
        .put(
            &store.key("big/stream.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("multipart put: {e}"));
    assert_eq!(meta.size, 20 << 20);
    assert!(
        rig.api
            .count(|r| r.head.header("x-mpu-action") == Some("upload") && r.forwarded)
            >= 3,
        "a 20 MiB body takes at least three part uploads"
    );
    assert_eq!(
        size_and_sha256(store, "big/stream.bin").await,
        (20 << 20, digest)
    );

    // Deletes are idempotent.
    for (key, _) in expected.iter().step_by(2) {
        store
            .delete(&store.key(key).expect("key"))
            .await
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
        assert!(!rig.direct.exists(key).await.expect("exists"), "{key}");
    }

    let faulted = rig.api.count(|r| r.fault.is_some());
    assert!(faulted >= 5, "the API plan faulted only {faulted} requests");
    let cut = rig
        .host
        .count(|r| matches!(r.fault, Some(Fault::ResetMidResponse { .. })));
    assert!(cut >= 1, "no download was cut: {:#?}", rig.host.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_download_resumes_from_the_last_byte() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::ResetMidResponse {
            after: Some(1 << 20),
        })
        .method("GET")
        .target_contains("/_blob/")
        .nth(1),
    );
    let rig = rig(FaultPlan::none(), plan, fast_policy()).await;
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
        .host
        .requests()
        .into_iter()
        .filter(|r| r.head.method == "GET" && r.head.target.contains("/_blob/"))
        .collect();
    assert_eq!(reads.len(), 2, "{reads:#?}");
    assert!(reads[0].fault.is_some() && reads[0].head.header("range").is_none());
    let range = reads[1].head.header("range").expect("resume sends a range");
    let start: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected range {range}"));
    assert!(start > 0 && start <= 1 << 20, "resumed at {start}");
    assert!(
        reads[1].head.header("if-match").is_some(),
        "resume is pinned"
    );
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
        .target_contains("/_blob/")
        .nth(1),
    );
    let rig = rig(FaultPlan::none(), plan, fast_policy()).await;
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
        rig.host.count(|r| r.head.target.contains("/_blob/")
            && r.head
                .header("range")
                .is_some_and(|v| !v.starts_with("bytes=0-")))
            >= 1,
        "the failure comes from a resumed read"
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
    let rig = rig(FaultPlan::hang_all(), FaultPlan::hang_all(), policy).await;
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
    let (api, host) = (rig.api.addr().to_string(), rig.host.addr().to_string());
    let errors = [
        ("head", head.map(|_| ())),
        ("list", list.map(|_| ())),
        ("get", get.map(|_| ())),
        ("put", put.map(|_| ())),
    ];
    for (op, outcome) in errors {
        let err = outcome.expect_err(op);
        assert_eq!(err.kind(), &ErrorKind::Timeout, "{op}: {err}");
        let text = err.to_string();
        // The API operations name the API. A read waits on the blob host,
        // but when the operation's deadline (rather than the retry loop's)
        // ends it, the message names the driver's endpoint, the API: so
        // either proxy may be named for it.
        let named = if op == "get" {
            text.contains(&host) || text.contains(&api)
        } else {
            text.contains(&api)
        };
        assert!(named, "{op}: {text} (api {api}, host {host})");
        assert!(text.contains("BLOB_STORAGE_"), "{op}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_blob_host_answers_read_whole() {
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::Chunked)
            .method("GET")
            .target_contains("/_blob/"),
    );
    let rig = rig(FaultPlan::none(), plan, fast_policy()).await;
    for (i, len) in [1usize, 70_000, 3 << 20].into_iter().enumerate() {
        let key = format!("chunked-{i}.bin");
        let bytes = seeded_bytes(i as u64, len);
        rig.direct
            .put_bytes(&key, bytes.clone())
            .await
            .expect("seed");
        let blob = rig
            .store
            .get(&rig.store.key(&key).expect("key"), GetOptions::new())
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e}"));
        // Without a length on the answer, the size comes from the API.
        assert_eq!(blob.meta.size, len as u64, "{key}");
        let got = blob.bytes().await.expect("body");
        assert!(got == bytes[..], "{key}: bytes differ");
    }
    let chunked = rig
        .host
        .count(|r| r.fault == Some(Fault::Chunked) && r.status == Some(200));
    assert_eq!(chunked, 3);
    let heads = rig
        .api
        .count(|r| r.head.method == "GET" && r.head.target.starts_with("/?url="));
    assert_eq!(heads, 3, "one API head per chunked read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_on_heads_gets_and_parts_are_waited_out() {
    let limited = || {
        Rule::new(Fault::Status {
            code: 429,
            retry_after: Some(1),
        })
        .nth(1)
    };
    let api_plan = FaultPlan::none()
        .with_rule(limited().method("GET").target_contains("/?url="))
        // The first /mpu request creates the upload; the second is a part.
        .with_rule(limited().method("POST").target_contains("/mpu").nth(2));
    let host_plan = FaultPlan::none().with_rule(limited().method("GET"));
    let rig = rig(api_plan, host_plan, fast_policy()).await;
    let store = &rig.store;
    let bytes = seeded_bytes(9, 100_000);
    rig.direct
        .put_bytes("limited.bin", bytes.clone())
        .await
        .expect("seed");

    let started = Instant::now();
    let meta = store
        .head(&store.key("limited.bin").expect("key"))
        .await
        .expect("head after a 429");
    assert_eq!(meta.size, bytes.len() as u64);
    let got = store
        .get_bytes("limited.bin")
        .await
        .expect("get after a 429");
    assert!(got == bytes[..]);
    let (body, digest) = streamed_body(11, 9);
    store
        .put(
            &store.key("limited-big.bin").expect("key"),
            body,
            PutOptions::new(),
        )
        .await
        .expect("multipart put after a 429 on a part");
    // Each 429 asked for a second's wait.
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(
        size_and_sha256(&rig.direct, "limited-big.bin").await,
        (9 << 20, digest)
    );

    let mut refused_parts = 0;
    for (proxy, expected) in [(&rig.api, 2), (&rig.host, 1)] {
        let records = proxy.requests();
        let limited: Vec<&RequestRecord> =
            records.iter().filter(|r| r.status == Some(429)).collect();
        assert_eq!(limited.len(), expected, "{limited:#?}");
        for refused in limited {
            // The same request (same id, same part) was sent again and passed.
            let retried = records.iter().any(|r| {
                r.seq > refused.seq
                    && r.forwarded
                    && r.status.is_some_and(|s| (200..300).contains(&s))
                    && r.head.method == refused.head.method
                    && r.head.target == refused.head.target
                    && r.head.header("x-api-blob-request-id")
                        == refused.head.header("x-api-blob-request-id")
                    && r.head.header("x-mpu-part-number")
                        == refused.head.header("x-mpu-part-number")
            });
            assert!(retried, "not retried: {:?}", refused.head);
            if refused.head.header("x-mpu-action") == Some("upload") {
                refused_parts += 1;
            }
        }
    }
    assert_eq!(refused_parts, 1, "the API's second 429 hit a part upload");
}
