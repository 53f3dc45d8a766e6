//! Where the conditions go on the wire, seen by a proxy in front of the
//! emulator. fake-gcs-server enforces `ifGenerationMatch` only on
//! single-request uploads (the conformance suite proves those, races
//! included); it ignores it on rewrites and resumable uploads, where Cloud
//! Storage enforces it. So for those this checks what Cloud Storage is
//! sent: the condition on the request that makes the new version visible
//! (the rewrite, the session's opening), with the generation as the etag.
//! It also checks the first check that catches, on any server, a
//! conditional long write that cannot succeed before its bytes move.

mod common;

use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, GetOptions, PutMode, PutOptions,
};
use storage_gcs::GcsStore;
use storage_testkit::data::{seeded_bytes, streamed_body};
use storage_testkit::fault_proxy::{FaultPlan, FaultProxy, RequestRecord};

struct Rig {
    proxy: FaultProxy,
    store: GcsStore,
}

async fn rig() -> Rig {
    let emulator = common::emulator().await;
    let bucket = common::fresh_bucket().await;
    let (proxy, endpoint) = emulator
        .behind_proxy(FaultPlan::none())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config = common::config_for(&endpoint, &bucket)
        .with_part_size(256 << 10)
        .expect("part size");
    Rig {
        proxy,
        store: GcsStore::new(config).expect("store"),
    }
}

impl Rig {
    fn sent(&self, predicate: impl Fn(&RequestRecord) -> bool) -> Vec<RequestRecord> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|r| predicate(r))
            .collect()
    }
}

fn is_rewrite_to(r: &RequestRecord, to: &str) -> bool {
    r.head.method == "POST"
        && r.head.target.contains("/rewriteTo/")
        && r.head.path().ends_with(&format!("/o/{to}"))
}

fn is_session_open(r: &RequestRecord) -> bool {
    r.head.method == "POST" && r.head.target.contains("uploadType=resumable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_copies_carry_the_generation_to_the_rewrite() {
    let rig = rig().await;
    let store = &rig.store;
    let src = store.put_bytes("src.txt", "source").await.expect("seed");
    let dst = store.key("dst.txt").expect("key");

    store
        .copy(&src.key, &dst, CopyOptions::new().mode(PutMode::Create))
        .await
        .expect("create-only copy onto a free key");
    let rewrites = rig.sent(|r| is_rewrite_to(r, "dst.txt"));
    assert_eq!(rewrites.len(), 1);
    assert!(
        rewrites[0].head.target.contains("ifGenerationMatch=0"),
        "{}",
        rewrites[0].head.target
    );

    let current = store.head(&dst).await.expect("head");
    rig.proxy.clear_records();
    let copied = store
        .copy(
            &src.key,
            &dst,
            CopyOptions::new().mode(PutMode::IfMatch(current.etag.clone())),
        )
        .await
        .expect("copy with the current etag");
    assert_ne!(copied.etag, current.etag, "a new generation");
    let rewrites = rig.sent(|r| is_rewrite_to(r, "dst.txt"));
    assert_eq!(rewrites.len(), 1);
    assert!(
        rewrites[0]
            .head
            .target
            .contains(&format!("ifGenerationMatch={}", current.etag)),
        "{}",
        rewrites[0].head.target
    );

    // The first check refuses a stale etag before any rewrite is sent.
    rig.proxy.clear_records();
    let err = store
        .copy(
            &src.key,
            &dst,
            CopyOptions::new().mode(PutMode::IfMatch(current.etag.clone())),
        )
        .await
        .expect_err("stale etag");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert!(rig.sent(|r| is_rewrite_to(r, "dst.txt")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_resumable_uploads_open_their_session_with_the_condition() {
    let rig = rig().await;
    let store = &rig.store;
    let key = store.key("big.bin").expect("key");

    let (body, _) = streamed_body(3, 1);
    let created = store
        .put(&key, body, PutOptions::new().mode(PutMode::Create))
        .await
        .expect("create-only resumable upload");
    let opened = rig.sent(is_session_open);
    assert_eq!(opened.len(), 1);
    assert!(opened[0].head.target.contains("ifGenerationMatch=0"));

    rig.proxy.clear_records();
    let (body, _) = streamed_body(4, 1);
    store
        .put(
            &key,
            body,
            PutOptions::new().mode(PutMode::IfMatch(created.etag.clone())),
        )
        .await
        .expect("resumable upload with the current etag");
    let opened = rig.sent(is_session_open);
    assert_eq!(opened.len(), 1);
    assert!(opened[0]
        .head
        .target
        .contains(&format!("ifGenerationMatch={}", created.etag)));

    // A create-only upload onto an existing blob fails before it sends a
    // byte; so does one with a stale etag.
    for mode in [PutMode::Create, PutMode::IfMatch(created.etag.clone())] {
        rig.proxy.clear_records();
        let (body, _) = streamed_body(5, 1);
        let err = store
            .put(&key, body, PutOptions::new().mode(mode.clone()))
            .await
            .expect_err("cannot succeed");
        let want = match mode {
            PutMode::Create => ErrorKind::AlreadyExists,
            _ => ErrorKind::PreconditionFailed,
        };
        assert_eq!(err.kind(), &want, "{mode:?}: {err}");
        assert!(rig.sent(is_session_open).is_empty(), "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_conditional_puts_are_refused_by_the_service_itself() {
    let rig = rig().await;
    let store = &rig.store;
    let key = store.key("small.txt").expect("key");
    let first = store
        .put(
            &key,
            Body::from("one"),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect("create");
    rig.proxy.clear_records();
    let err = store
        .put(
            &key,
            Body::from("two"),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect_err("exists");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists, "{err}");
    let uploads = rig.sent(|r| r.head.method == "POST" && r.head.path().starts_with("/upload/"));
    assert_eq!(
        uploads.len(),
        1,
        "no first check: the upload itself is refused"
    );
    assert_eq!(uploads[0].status, Some(412));

    let second = store
        .put(
            &key,
            Body::from(seeded_bytes(1, 10)),
            PutOptions::new().mode(PutMode::IfMatch(first.etag.clone())),
        )
        .await
        .expect("if-match the current etag");
    let err = store
        .put(
            &key,
            Body::from("three"),
            PutOptions::new().mode(PutMode::IfMatch(first.etag.clone())),
        )
        .await
        .expect_err("stale");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(store.head(&key).await.expect("head").etag, second.etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_reads_ask_the_service_for_the_generation() {
    let rig = rig().await;
    let store = &rig.store;
    let meta = store.put_bytes("read.txt", "abc").await.expect("seed");
    rig.proxy.clear_records();
    let blob = store
        .get(&meta.key, GetOptions::new().if_match(meta.etag.clone()))
        .await
        .expect("current etag");
    assert_eq!(blob.meta.etag, meta.etag);
    let reads = rig.sent(|r| r.head.method == "GET" && r.head.path().ends_with("/read.txt"));
    assert_eq!(
        reads[0].head.header("x-goog-if-generation-match"),
        Some(meta.etag.as_str())
    );
}
