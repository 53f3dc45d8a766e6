//! A damaged sidecar is an error that names the file and the fix, never a
//! silent loss of metadata; a put over the key repairs it, and deleting the
//! sidecar falls back to default properties.

use futures::TryStreamExt;
use storage_core::{BlobStore, BlobStoreExt, ErrorKind, ListOptions, PutMode, PutOptions};
use storage_local::{LocalConfig, LocalStore};

fn opts() -> PutOptions {
    PutOptions::new()
        .content_type("audio/webm")
        .cache_control("max-age=60")
        .metadata("author", "ada")
}

#[track_caller]
fn assert_damaged<T: std::fmt::Debug>(result: storage_core::Result<T>, sidecar: &str, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), &ErrorKind::Backend, "{what}: {err}");
    let text = err.to_string();
    assert!(text.contains(&format!("`{sidecar}`")), "{what}: {text}");
    assert!(text.contains("damaged"), "{what}: {text}");
    assert!(text.contains("write the blob again"), "{what}: {text}");
    assert!(text.contains("delete the sidecar"), "{what}: {text}");
}

async fn list(store: &LocalStore) -> storage_core::Result<Vec<storage_core::ListEntry>> {
    store.list_all(ListOptions::new()).try_collect().await
}

#[tokio::test]
async fn truncated_and_garbled_sidecars_are_errors_until_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    let root = store.root().to_path_buf();
    store
        .put_bytes_with("rec/a.webm", "aaaa", opts())
        .await
        .expect("put a");
    store
        .put_bytes_with("rec/b.webm", "bbbb", opts())
        .await
        .expect("put b");

    let a_sidecar = root.join("meta/rec/a.webm");
    let full = std::fs::read(&a_sidecar).expect("read sidecar");
    std::fs::write(&a_sidecar, &full[..full.len() / 2]).expect("truncate");
    std::fs::write(root.join("meta/rec/b.webm"), b"\x00\xffnot json at all").expect("garble");

    for (key, sidecar) in [
        ("rec/a.webm", "meta/rec/a.webm"),
        ("rec/b.webm", "meta/rec/b.webm"),
    ] {
        let k = store.key(key).expect("key");
        assert_damaged(store.head(&k).await, sidecar, "head");
        assert_damaged(store.get_bytes(key).await, sidecar, "get");
        assert_damaged(
            store
                .put_bytes_with(key, "x", opts().mode(PutMode::IfMatch("\"any\"".into())))
                .await,
            sidecar,
            "an IfMatch put cannot check the etag",
        );
    }
    assert_damaged(list(&store).await, "meta/rec/a.webm", "list");

    // A put over the key writes a whole sidecar again.
    let repaired = store
        .put_bytes_with("rec/a.webm", "AAAA", opts().metadata("take", "2"))
        .await
        .expect("put repairs");
    let head = store
        .head(&store.key("rec/a.webm").expect("key"))
        .await
        .expect("head after the repair");
    assert_eq!(head.etag, repaired.etag);
    assert_eq!(head.metadata.get("take").map(String::as_str), Some("2"));
    assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(store.get_bytes("rec/a.webm").await.expect("get"), "AAAA");

    // Deleting the sidecar, as the message offers, gives default properties.
    std::fs::remove_file(root.join("meta/rec/b.webm")).expect("rm sidecar");
    let b = store
        .head(&store.key("rec/b.webm").expect("key"))
        .await
        .expect("head without a sidecar");
    assert!(b.metadata.is_empty());
    assert_eq!(b.cache_control, None);
    assert_eq!(store.get_bytes("rec/b.webm").await.expect("get"), "bbbb");

    let entries = list(&store).await.expect("list after both repairs");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].etag, repaired.etag);
    assert_eq!(entries[1].etag, b.etag);
}

#[tokio::test]
async fn an_empty_sidecar_is_damaged_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    store
        .put_bytes_with("k", "data", opts())
        .await
        .expect("put");
    std::fs::write(store.root().join("meta/k"), b"").expect("empty the sidecar");
    assert_damaged(
        store.head(&store.key("k").expect("key")).await,
        "meta/k",
        "head",
    );
    // Copying reads the source's properties, so it refuses too.
    assert_damaged(
        store
            .copy(
                &store.key("k").expect("key"),
                &store.key("k2").expect("key"),
                storage_core::CopyOptions::new(),
            )
            .await,
        "meta/k",
        "copy",
    );
    assert!(!store.exists("k2").await.expect("exists"));
}
