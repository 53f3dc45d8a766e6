//! Stores written before properties moved onto the data file keep working:
//! their sidecars are read, conditions check against their etags, and the
//! first write over a key moves it to the new format and drops its sidecar.
//! Properties too large for the filesystem's attributes go to a sidecar.

mod support;

use futures::TryStreamExt;
use serde_json::json;
use storage_core::{
    BlobStore, BlobStoreExt, CopyOptions, ErrorKind, ListOptions, PutMode, PutOptions,
};
use storage_local::{LocalConfig, LocalStore};

const OLD_ETAG: &str = "\"00000000000000000000000000000abc\"";

fn open() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    (dir, store)
}

fn old_props() -> serde_json::Value {
    json!({
        "etag": OLD_ETAG,
        "content_type": "audio/webm",
        "content_disposition": "attachment",
        "metadata": { "author": "ada" },
    })
}

#[tokio::test]
async fn old_sidecars_are_read_by_head_get_list_and_copy() {
    let (_dir, store) = open();
    support::write_old_format(store.root(), "rec/a.webm", b"old bytes", old_props());
    let k = store.key("rec/a.webm").expect("key");
    let head = store.head(&k).await.expect("head");
    assert_eq!(head.etag, OLD_ETAG);
    assert_eq!(head.content_type, "audio/webm");
    assert_eq!(head.content_disposition.as_deref(), Some("attachment"));
    assert_eq!(head.metadata.get("author").map(String::as_str), Some("ada"));
    assert_eq!(head.size, 9);
    assert_eq!(
        store.get_bytes("rec/a.webm").await.expect("get"),
        "old bytes"
    );
    let listed: Vec<_> = store
        .list_all(ListOptions::new())
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].etag, OLD_ETAG);

    let copy = store
        .copy(
            &k,
            &store.key("rec/b.webm").expect("key"),
            CopyOptions::new(),
        )
        .await
        .expect("copy");
    assert_ne!(copy.etag, OLD_ETAG);
    let copied = store
        .head(&store.key("rec/b.webm").expect("key"))
        .await
        .expect("head the copy");
    assert_eq!(copied.metadata, head.metadata);
    assert_eq!(copied.content_disposition, head.content_disposition);
}

#[tokio::test]
async fn a_write_over_an_old_blob_checks_its_etag_and_drops_its_sidecar() {
    let (_dir, store) = open();
    let root = store.root().to_path_buf();
    support::write_old_format(&root, "k", b"old", old_props());
    let err = store
        .put_bytes_with(
            "k",
            "x",
            PutOptions::new().mode(PutMode::IfMatch("\"other\"".into())),
        )
        .await
        .expect_err("a wrong etag");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed);
    let err = store
        .put_bytes_with("k", "x", PutOptions::new().mode(PutMode::Create))
        .await
        .expect_err("the old blob exists");
    assert_eq!(err.kind(), &ErrorKind::AlreadyExists);
    let new = store
        .put_bytes_with(
            "k",
            "new",
            PutOptions::new()
                .mode(PutMode::IfMatch(OLD_ETAG.into()))
                .metadata("v", "2"),
        )
        .await
        .expect("the old etag matches");
    let head = store
        .head(&store.key("k").expect("key"))
        .await
        .expect("head");
    assert_eq!(head.etag, new.etag);
    assert_eq!(head.metadata.get("v").map(String::as_str), Some("2"));
    assert_eq!(store.get_bytes("k").await.expect("get"), "new");
    let sidecar_left = root.join("meta/k").exists();
    let attributes = rustix::fs::getxattr(
        root.join("objects/k"),
        "user.blobstore",
        &mut [0u8; 4096][..],
    )
    .is_ok();
    assert!(
        attributes != sidecar_left,
        "the new version keeps its properties in exactly one place"
    );
}

#[tokio::test]
async fn a_sidecar_that_names_another_file_is_not_believed() {
    let (_dir, store) = open();
    let root = store.root().to_path_buf();
    support::write_old_format(&root, "k", b"first", old_props());
    // Replaced by hand: same name, other bytes, so the entry names a file
    // that is gone.
    std::fs::remove_file(root.join("objects/k")).expect("rm");
    std::fs::write(root.join("objects/k"), "by hand, longer").expect("write");
    let head = store
        .head(&store.key("k").expect("key"))
        .await
        .expect("head");
    assert_ne!(head.etag, OLD_ETAG);
    assert!(head.metadata.is_empty());
    let err = store
        .put_bytes_with(
            "k",
            "x",
            PutOptions::new().mode(PutMode::IfMatch(OLD_ETAG.into())),
        )
        .await
        .expect_err("the old etag no longer describes these bytes");
    assert_eq!(err.kind(), &ErrorKind::PreconditionFailed);
}

#[tokio::test]
async fn deleting_an_old_blob_removes_its_sidecar() {
    let (_dir, store) = open();
    let root = store.root().to_path_buf();
    support::write_old_format(&root, "a/k", b"old", old_props());
    store
        .delete(&store.key("a/k").expect("key"))
        .await
        .expect("delete");
    assert!(!root.join("objects/a").exists());
    assert!(!root.join("meta/a").exists());
}

#[tokio::test]
async fn properties_too_large_for_an_attribute_round_trip() {
    let (_dir, store) = open();
    // ext4 holds about 4 KiB of attributes per file; these go to a sidecar
    // there, and stay on the file where the filesystem takes them.
    let mut opts = PutOptions::new().content_type("text/x-big");
    for i in 0..6 {
        opts = opts.metadata(format!("field_{i}"), "v".repeat(1000));
    }
    let put = store
        .put_bytes_with("big", "bytes", opts.clone())
        .await
        .expect("put");
    let k = store.key("big").expect("key");
    let head = store.head(&k).await.expect("head");
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.metadata.len(), 6);
    assert_eq!(head.content_type, "text/x-big");
    // A small version over it, then a large one again: each reads back whole.
    let small = store
        .put_bytes_with("big", "small", PutOptions::new().metadata("n", "1"))
        .await
        .expect("put small");
    let head = store.head(&k).await.expect("head small");
    assert_eq!(head.etag, small.etag);
    assert_eq!(head.metadata.len(), 1);
    let again = store
        .put_bytes_with("big", "again", opts.mode(PutMode::IfMatch(small.etag)))
        .await
        .expect("put large again");
    let head = store.head(&k).await.expect("head large");
    assert_eq!(head.etag, again.etag);
    assert_eq!(head.metadata.len(), 6);
    assert_eq!(store.get_bytes("big").await.expect("get"), "again");
}
