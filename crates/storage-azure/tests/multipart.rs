//! Streamed uploads through Azure blocks with a small part size: large
//! bodies arrive whole, and a failing body leaves nothing behind.

mod common;

use bytes::Bytes;
use futures::stream;
use storage_azure::AzureStore;
use storage_core::{BlobStore, BlobStoreExt, Body, Error, ErrorKind, PutMode, PutOptions};

async fn small_parts() -> AzureStore {
    let config = common::fresh_config()
        .await
        .with_part_size(64 << 10)
        .and_then(|c| c.with_max_concurrency(3))
        .expect("tuning");
    AzureStore::new(config).expect("store")
}

fn chunk(i: usize) -> Bytes {
    // Odd sizes so chunks and parts never line up.
    let mut rng = fastrand::Rng::with_seed(i as u64);
    let mut buf = vec![0u8; 50_000 + i * 7];
    rng.fill(&mut buf);
    Bytes::from(buf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_streamed_upload_in_many_blocks() {
    let store = small_parts().await;
    let chunks: Vec<Bytes> = (0..60).map(chunk).collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let body = Body::from_stream(stream::iter(chunks.into_iter().map(Ok)), None);
    let meta = store
        .put(
            &store.key("big/blob.bin").expect("key"),
            body,
            PutOptions::new().metadata("kind", "big"),
        )
        .await
        .expect("put");
    assert_eq!(meta.size, expected.len() as u64);
    assert_eq!(meta.metadata.get("kind").map(String::as_str), Some("big"));
    let got = store.get_bytes("big/blob.bin").await.expect("get");
    assert!(got == expected, "downloaded bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_body_mid_upload_commits_nothing() {
    let store = small_parts().await;
    store
        .put_bytes("big/keep.bin", "old")
        .await
        .expect("put old");
    for key in ["big/keep.bin", "big/new.bin"] {
        let parts = (0..10).map(|i| {
            if i == 7 {
                Err(Error::without_provider(ErrorKind::Transport).with_message("client went away"))
            } else {
                Ok(chunk(i))
            }
        });
        let body = Body::from_stream(stream::iter(parts.collect::<Vec<_>>()), None);
        let err = store
            .put(&store.key(key).expect("key"), body, PutOptions::new())
            .await
            .expect_err("failing body");
        assert_eq!(err.kind(), &ErrorKind::Transport, "{err}");
    }
    assert_eq!(store.get_bytes("big/keep.bin").await.expect("old"), "old");
    assert!(!store.exists("big/new.bin").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_body_of_a_conditional_block_upload_commits_nothing() {
    let store = small_parts().await;
    let parts = (0..10).map(|i| {
        if i == 5 {
            Err(Error::without_provider(ErrorKind::Transport).with_message("client went away"))
        } else {
            Ok(chunk(i))
        }
    });
    let body = Body::from_stream(stream::iter(parts.collect::<Vec<_>>()), None);
    let err = store
        .put(
            &store.key("c.bin").expect("key"),
            body,
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect_err("failing body");
    assert_eq!(err.kind(), &ErrorKind::Transport, "{err}");
    assert!(!store.exists("c.bin").await.expect("exists"));
    // The key is still free: a Create now succeeds.
    let body = Body::from(vec![7u8; 200 << 10]);
    store
        .put(
            &store.key("c.bin").expect("key"),
            body,
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect("create after the failed one");
    assert_eq!(
        store.get_bytes("c.bin").await.expect("get").len(),
        200 << 10
    );
}
