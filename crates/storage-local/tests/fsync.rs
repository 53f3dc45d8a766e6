//! Both durability settings (`LOCAL_STORAGE_FSYNC=always|never`) give the
//! same store: the same answers to every call, the same files on disk, and a
//! store written with one is read back whole with the other.

use futures::TryStreamExt;
use storage_core::{
    BlobStore, BlobStoreExt, CopyOptions, ErrorKind, GetOptions, ListOptions, PutMode, PutOptions,
};
use storage_local::{Fsync, LocalConfig, LocalStore};

async fn exercise(store: &LocalStore) {
    let k = |key: &str| store.key(key).expect("key");
    let put = store
        .put_bytes_with("docs/a.txt", "first", PutOptions::new().metadata("n", "1"))
        .await
        .expect("put");
    let err = store
        .put_bytes_with("docs/a.txt", "x", PutOptions::new().mode(PutMode::Create))
        .await
        .expect_err("create over an existing blob");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists);
    let second = store
        .put_bytes_with(
            "docs/a.txt",
            "second",
            PutOptions::new().mode(PutMode::IfMatch(put.etag.clone())),
        )
        .await
        .expect("if-match put");
    assert_ne!(second.etag, put.etag);
    store
        .copy(&k("docs/a.txt"), &k("docs/b.txt"), CopyOptions::new())
        .await
        .expect("copy");
    let range = store
        .get(&k("docs/b.txt"), GetOptions::new().range(1..4))
        .await
        .expect("ranged get")
        .bytes()
        .await
        .expect("range bytes");
    assert_eq!(range, "eco");
    let listed: Vec<_> = store
        .list_all(ListOptions::new().prefix("docs/"))
        .map_ok(|e| (e.key.to_string(), e.size))
        .try_collect()
        .await
        .expect("list");
    assert_eq!(
        listed,
        [("docs/a.txt".to_string(), 6), ("docs/b.txt".to_string(), 6)]
    );
    store.delete(&k("docs/a.txt")).await.expect("delete");
    assert!(!store.exists("docs/a.txt").await.expect("exists"));
}

#[tokio::test]
async fn both_settings_answer_every_call_the_same_way() {
    for fsync in [Fsync::Always, Fsync::Never] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::new(LocalConfig::new(dir.path()).fsync(fsync)).expect("open");
        exercise(&store).await;
        // Nothing is left behind in tmp/ by either setting.
        assert_eq!(
            std::fs::read_dir(store.root().join("tmp"))
                .expect("tmp")
                .count(),
            0,
            "{fsync}"
        );
    }
}

#[tokio::test]
async fn a_store_written_without_fsync_reads_back_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scratch = LocalStore::new(LocalConfig::new(dir.path()).fsync(Fsync::Never)).expect("open");
    let meta = scratch
        .put_bytes_with("k", "bytes", PutOptions::new().content_type("text/x-test"))
        .await
        .expect("put");
    drop(scratch);
    let durable = LocalStore::new(LocalConfig::new(dir.path())).expect("reopen");
    let head = durable
        .head(&durable.key("k").expect("key"))
        .await
        .expect("head");
    assert_eq!(head.etag, meta.etag);
    assert_eq!(head.content_type, "text/x-test");
    assert_eq!(durable.get_bytes("k").await.expect("get"), "bytes");
}
