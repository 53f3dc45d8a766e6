//! Conditional puts of any size, and puts without a `HEAD`, on Azurite.
//!
//! A 20 MiB body is three blocks at the default 8 MiB part size, so these
//! go through Put Block + a conditional Put Block List: `Create` on a taken
//! key and `IfMatch` with a stale etag must leave the old bytes in place.
//! Requests are counted through the fault proxy (with no faults) to show a
//! put is answered from its own responses.

mod common;

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use storage_azure::{AzureConfig, AzureStore};
use storage_core::retry::RetryPolicy;
use storage_core::{
    BlobStore, BlobStoreExt, Body, CopyOptions, ErrorKind, PutMode, PutOptions, SignMethod,
    SignOptions,
};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, Rule};

const BIG: usize = 20 << 20;

/// `BIG` bytes seeded by `seed`, so two bodies differ everywhere.
fn big_body(seed: u64) -> Bytes {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = vec![0u8; BIG];
    rng.fill(&mut buf);
    Bytes::from(buf)
}

/// The body as a stream of 1 MiB chunks with no length, as an app would
/// stream a file.
fn streamed(bytes: &Bytes) -> Body {
    let chunks: Vec<storage_core::Result<Bytes>> = bytes
        .chunks(1 << 20)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures::stream::iter(chunks), None)
}

fn digest(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

async fn stored_digest(store: &AzureStore, key: &str) -> Vec<u8> {
    digest(&store.get_bytes(key).await.expect("get"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_of_many_blocks_succeeds_once_and_then_already_exists() {
    let store = common::fresh_store().await;
    let key = store.key("big/create.bin").expect("key");
    let first = big_body(1);
    let put = store
        .put(
            &key,
            streamed(&first),
            PutOptions::new()
                .mode(PutMode::Create)
                .content_type("video/webm")
                .cache_control("max-age=60")
                .content_disposition("attachment")
                .metadata("take", "one"),
        )
        .await
        .expect("create on a free key");
    assert_eq!(put.size, BIG as u64);
    // What put reports without a HEAD is what HEAD says.
    assert_eq!(put, store.head(&key).await.expect("head"));

    let err = store
        .put(
            &key,
            streamed(&big_body(2)),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect_err("create on a taken key");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        store.head(&key).await.expect("head"),
        put,
        "nothing changed"
    );
    assert_eq!(
        stored_digest(&store, "big/create.bin").await,
        digest(&first)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_of_many_blocks_replaces_only_the_named_version() {
    let store = common::fresh_store().await;
    let key = store.key("big/if-match.bin").expect("key");
    let old = store
        .put_bytes("big/if-match.bin", "old")
        .await
        .expect("old");
    let second = big_body(3);
    let replaced = store
        .put(
            &key,
            streamed(&second),
            PutOptions::new().mode(PutMode::IfMatch(old.etag.clone())),
        )
        .await
        .expect("if-match with the current etag");
    assert_ne!(replaced.etag, old.etag);
    assert_eq!(replaced, store.head(&key).await.expect("head"));

    let err = store
        .put(
            &key,
            streamed(&big_body(4)),
            PutOptions::new().mode(PutMode::IfMatch(old.etag.clone())),
        )
        .await
        .expect_err("if-match with a stale etag");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(
        stored_digest(&store, "big/if-match.bin").await,
        digest(&second)
    );

    let missing = store.key("big/never.bin").expect("key");
    let err = store
        .put(
            &missing,
            streamed(&big_body(5)),
            PutOptions::new().mode(PutMode::IfMatch(old.etag)),
        )
        .await
        .expect_err("if-match on a missing key");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
    assert!(!store.exists("big/never.bin").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_copy_of_many_blocks_streams_the_source() {
    let store = common::fresh_store().await;
    let source = big_body(6);
    store
        .put(
            &store.key("big/src.bin").expect("key"),
            streamed(&source),
            PutOptions::new()
                .content_type("audio/ogg")
                .metadata("from", "src"),
        )
        .await
        .expect("source");
    let dest = store.put_bytes("big/dst.bin", "dst").await.expect("dest");
    let (from, to) = (store.key("big/src.bin").expect("key"), dest.key.clone());
    let copied = store
        .copy(
            &from,
            &to,
            CopyOptions::new().mode(PutMode::IfMatch(dest.etag.clone())),
        )
        .await
        .expect("copy with the destination's etag");
    assert_eq!(copied.content_type, "audio/ogg");
    assert_eq!(copied.metadata.get("from").map(String::as_str), Some("src"));
    assert_eq!(copied, store.head(&to).await.expect("head"));
    assert_eq!(stored_digest(&store, "big/dst.bin").await, digest(&source));
    let err = store
        .copy(
            &from,
            &to,
            CopyOptions::new().mode(PutMode::IfMatch(dest.etag)),
        )
        .await
        .expect_err("stale destination etag");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed, "{err}");
}

/// A store whose requests pass through a proxy that only counts them.
async fn counted_store() -> (FaultProxy, AzureStore) {
    let direct = common::fresh_config().await;
    let azurite = common::azurite().await;
    let (proxy, cs) = azurite
        .behind_proxy(FaultPlan::none())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let container = direct.container().to_string();
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("config")
    .with_retry(RetryPolicy::default().retries(3, Duration::from_millis(10)))
    .with_part_size(64 << 10)
    .expect("part size");
    (proxy, AzureStore::new(config).expect("store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_is_answered_without_a_head() {
    let (proxy, store) = counted_store().await;
    let key = store.key("counted/small.txt").expect("key");
    for mode in [PutMode::Overwrite, PutMode::Create] {
        proxy.clear_records();
        store
            .put(
                &key,
                Body::from("small"),
                PutOptions::new().mode(mode).metadata("n", "1"),
            )
            .await
            .ok();
        let methods: Vec<String> = proxy
            .requests()
            .iter()
            .map(|r| r.head.method.clone())
            .collect();
        assert_eq!(methods, ["PUT"], "one Put Blob and nothing else");
    }

    // 200 KiB in memory, up to four 64 KiB parts' worth: one Put Blob.
    proxy.clear_records();
    let put = store
        .put(&key, Body::from(vec![8u8; 200 << 10]), PutOptions::new())
        .await
        .expect("one Put Blob");
    let targets: Vec<String> = proxy
        .requests()
        .iter()
        .map(|r| r.head.target.clone())
        .collect();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(!targets[0].contains("comp="), "{targets:?}");
    assert_eq!(put, store.head(&key).await.expect("head"));

    // 200 KiB streamed in 64 KiB parts: four blocks and one commit, no HEAD.
    proxy.clear_records();
    let put = store
        .put(
            &key,
            streamed(&Bytes::from(vec![9u8; 200 << 10])),
            PutOptions::new(),
        )
        .await
        .expect("block upload");
    let records = proxy.requests();
    let targets: Vec<&str> = records.iter().map(|r| r.head.target.as_str()).collect();
    assert!(
        records.iter().all(|r| r.head.method == "PUT"),
        "{targets:?}"
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.head.target.contains("comp=block&"))
            .count(),
        4,
        "{targets:?}"
    );
    assert_eq!(records.len(), 5, "{targets:?}");
    assert_eq!(put, store.head(&key).await.expect("head"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_requests_safe_to_repeat_are_retried() {
    let (proxy, store) = counted_store().await;
    let body = || streamed(&Bytes::from(vec![3u8; 200 << 10]));
    let once_503 = |needle: &str| {
        FaultPlan::none().with_rule(
            Rule::new(Fault::status(503))
                .method("PUT")
                .target_contains(needle)
                .first(1),
        )
    };
    let count = |needle: &str| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.head.target.contains(needle))
            .count()
    };

    // A block and an overwriting commit are sent again.
    let key = store.key("retry/overwrite.bin").expect("key");
    for needle in ["comp=block&", "comp=blocklist"] {
        proxy.clear_records();
        proxy.set_plan(once_503(needle));
        store
            .put(&key, body(), PutOptions::new())
            .await
            .unwrap_or_else(|e| panic!("503 once on {needle}: {e}"));
        let expected = if needle == "comp=blocklist" { 2 } else { 5 };
        assert_eq!(count(needle), expected, "{needle}");
    }

    // A conditional commit or Put Blob is not: its first attempt may
    // already have made the blob.
    let fresh = store.key("retry/create.bin").expect("key");
    proxy.clear_records();
    proxy.set_plan(once_503("comp=blocklist"));
    let err = store
        .put(&fresh, body(), PutOptions::new().mode(PutMode::Create))
        .await
        .expect_err("a refused conditional commit");
    assert_eq!(err.kind(), &ErrorKind::Backend, "{err}");
    assert_eq!(count("comp=blocklist"), 1);
    proxy.set_plan(FaultPlan::none());
    assert!(!store.exists("retry/create.bin").await.expect("exists"));

    proxy.clear_records();
    proxy.set_plan(once_503("retry/small"));
    let err = store
        .put(
            &store.key("retry/small.txt").expect("key"),
            Body::from("x"),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect_err("a refused conditional put");
    assert_eq!(err.kind(), &ErrorKind::Backend, "{err}");
    assert_eq!(proxy.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_a_sas_uploads_blocks() {
    let keyed = common::fresh_store().await;
    let key = keyed.key("sas/upload.bin").expect("key");
    let signed = keyed
        .signed_url(&key, SignOptions::new(SignMethod::Put))
        .await
        .expect("sign put");
    let sas = signed
        .url
        .split_once('?')
        .expect("a SAS query")
        .1
        .to_string();
    let cs = format!(
        "BlobEndpoint={};SharedAccessSignature={sas}",
        keyed.config().endpoint()
    );
    let container = keyed.config().container().to_string();
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("SAS config")
    .with_part_size(64 << 10)
    .expect("part size");
    let store = AzureStore::new(config).expect("SAS store");
    let bytes = Bytes::from(vec![5u8; 200 << 10]);
    let put = store
        .put(
            &key,
            streamed(&bytes),
            PutOptions::new()
                .mode(PutMode::Create)
                .metadata("via", "sas"),
        )
        .await
        .expect("put through the SAS");
    assert_eq!(put, keyed.head(&key).await.expect("head"));
    assert_eq!(
        stored_digest(&keyed, "sas/upload.bin").await,
        digest(&bytes)
    );
}
