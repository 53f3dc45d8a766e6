//! Conditional writes of multipart size: the condition travels on the
//! completion, so a large `Create` or `IfMatch` is as atomic as a small
//! one, and a conditional copy (a multipart copy) keeps the source's
//! metadata. Run through the testkit's gateway, which enforces `If-Match`
//! on completions as S3 does (moto 5 ignores it).

mod common;

use storage_core::{BlobStore, BlobStoreExt, CopyOptions, ErrorKind, PutMode, PutOptions};
use storage_s3::S3Store;
use storage_testkit::data::{seeded_bytes, size_and_sha256, streamed_body};
use storage_testkit::moto::Gateway;

/// S3's smallest part, so 12 MiB is a three-part upload.
const PART: usize = 5 << 20;

async fn store() -> (S3Store, Gateway) {
    let gateway = common::moto()
        .await
        .strict()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = common::fresh_bucket().await;
    let config = common::config_for(&gateway.url(), &bucket)
        .with_part_size(PART)
        .expect("part size");
    (S3Store::new(config).expect("store"), gateway)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_creates_and_if_matches_hold_their_conditions() {
    let (store, _gateway) = store().await;
    let key = store.key("big.bin").expect("key");

    let (body, first) = streamed_body(1, 12);
    let created = store
        .put(&key, body, PutOptions::new().mode(PutMode::Create))
        .await
        .expect("create when absent");
    assert!(
        created.etag.ends_with("-3\""),
        "a three-part object: {}",
        created.etag
    );
    assert_eq!(size_and_sha256(&store, "big.bin").await, (12 << 20, first));

    let (body, _) = streamed_body(2, 12);
    let err = store
        .put(&key, body, PutOptions::new().mode(PutMode::Create))
        .await
        .expect_err("create when present");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists, "{err}");

    let (body, _) = streamed_body(3, 12);
    let err = store
        .put(
            &key,
            body,
            PutOptions::new().mode(PutMode::IfMatch("\"stale\"".into())),
        )
        .await
        .expect_err("stale etag");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(
        size_and_sha256(&store, "big.bin").await,
        (12 << 20, first),
        "refused writes change nothing"
    );

    let (body, second) = streamed_body(4, 12);
    store
        .put(
            &key,
            body,
            PutOptions::new().mode(PutMode::IfMatch(created.etag.clone())),
        )
        .await
        .expect("current etag");
    assert_eq!(size_and_sha256(&store, "big.bin").await, (12 << 20, second));

    let (body, _) = streamed_body(5, 12);
    let err = store
        .put(
            &store.key("missing.bin").expect("key"),
            body,
            PutOptions::new().mode(PutMode::IfMatch(created.etag)),
        )
        .await
        .expect_err("no object to match");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert!(!store.exists("missing.bin").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_copy_keeps_the_sources_metadata_and_bytes() {
    let (store, _gateway) = store().await;
    let bytes = seeded_bytes(9, 6 << 20);
    store
        .put_bytes_with(
            "src.bin",
            bytes.clone(),
            PutOptions::new()
                .content_type("audio/webm")
                .cache_control("private, max-age=60")
                .content_disposition("attachment")
                .metadata("owner", "u42"),
        )
        .await
        .expect("source");
    let (src, dst) = (
        store.key("src.bin").expect("key"),
        store.key("dst.bin").expect("key"),
    );
    let copied = store
        .copy(&src, &dst, CopyOptions::new().mode(PutMode::Create))
        .await
        .expect("create-only copy");
    assert_eq!(copied.size, bytes.len() as u64);
    assert_eq!(copied.content_type, "audio/webm");
    assert_eq!(copied.cache_control.as_deref(), Some("private, max-age=60"));
    assert_eq!(copied.content_disposition.as_deref(), Some("attachment"));
    assert_eq!(
        copied.metadata.get("owner").map(String::as_str),
        Some("u42")
    );
    assert!(store.get_bytes("dst.bin").await.expect("copy") == bytes[..]);
    let err = store
        .copy(&src, &dst, CopyOptions::new().mode(PutMode::Create))
        .await
        .expect_err("destination exists");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists, "{err}");
    let missing = store.key("nothing.bin").expect("key");
    let err = store
        .copy(
            &missing,
            &dst,
            CopyOptions::new().mode(PutMode::IfMatch(copied.etag)),
        )
        .await
        .expect_err("missing source");
    assert_eq!(err.kind(), &ErrorKind::NotFound, "{err}");
}
