//! Damaged properties are an error that names the file and the fix, never
//! a silent loss of metadata; a put over the key repairs them, and removing
//! them falls back to default properties. Sidecars are those of stores
//! written before properties moved onto the data file (and of filesystems
//! without extended attributes); attributes are today's format.

mod support;

use futures::TryStreamExt;
use storage_core::{BlobStore, BlobStoreExt, ErrorKind, ListOptions, PutMode, PutOptions};
use storage_local::{LocalConfig, LocalStore};

const ATTRIBUTE: &str = "user.blobstore";

fn opts() -> PutOptions {
    PutOptions::new()
        .content_type("audio/webm")
        .cache_control("max-age=60")
        .metadata("author", "ada")
}

/// [`opts`], as a sidecar entry records them.
fn old_props() -> serde_json::Value {
    serde_json::json!({
        "etag": "\"0123456789abcdef0123456789abcdef\"",
        "content_type": "audio/webm",
        "cache_control": "max-age=60",
        "metadata": { "author": "ada" },
    })
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
    support::write_old_format(&root, "rec/a.webm", b"aaaa", old_props());
    support::write_old_format(&root, "rec/b.webm", b"bbbb", old_props());

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

    // A put over the key replaces the damaged sidecar.
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
    support::write_old_format(store.root(), "k", b"data", old_props());
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

#[track_caller]
fn assert_damaged_attribute<T: std::fmt::Debug>(
    result: storage_core::Result<T>,
    file: &str,
    what: &str,
) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), &ErrorKind::Backend, "{what}: {err}");
    let text = err.to_string();
    assert!(text.contains(&format!("`{file}`")), "{what}: {text}");
    assert!(text.contains("damaged"), "{what}: {text}");
    assert!(text.contains("write the blob again"), "{what}: {text}");
    assert!(text.contains(ATTRIBUTE), "{what}: {text}");
}

#[tokio::test]
async fn a_garbled_attribute_is_an_error_until_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    let root = store.root().to_path_buf();
    store
        .put_bytes_with("rec/a.webm", "aaaa", opts())
        .await
        .expect("put");
    let data = root.join("objects/rec/a.webm");
    if rustix::fs::getxattr(&data, ATTRIBUTE, &mut [0u8; 4096][..]).is_err() {
        // This filesystem keeps properties in sidecars; the tests above cover it.
        return;
    }
    rustix::fs::setxattr(
        &data,
        ATTRIBUTE,
        b"{\"size\": 4, garbled",
        rustix::fs::XattrFlags::REPLACE,
    )
    .expect("garble the attribute");
    let k = store.key("rec/a.webm").expect("key");
    assert_damaged_attribute(store.head(&k).await, "objects/rec/a.webm", "head");
    assert_damaged_attribute(
        store.get_bytes("rec/a.webm").await,
        "objects/rec/a.webm",
        "get",
    );
    assert_damaged_attribute(list(&store).await, "objects/rec/a.webm", "list");
    assert_damaged_attribute(
        store
            .put_bytes_with(
                "rec/a.webm",
                "x",
                opts().mode(PutMode::IfMatch("\"any\"".into())),
            )
            .await,
        "objects/rec/a.webm",
        "an IfMatch put cannot check the etag",
    );

    let repaired = store
        .put_bytes_with("rec/a.webm", "AAAA", opts().metadata("take", "2"))
        .await
        .expect("put repairs");
    let head = store.head(&k).await.expect("head after the repair");
    assert_eq!(head.etag, repaired.etag);
    assert_eq!(head.metadata.get("take").map(String::as_str), Some("2"));

    // Removing the attribute, as the message offers, gives default properties.
    rustix::fs::removexattr(&data, ATTRIBUTE).expect("remove the attribute");
    let bare = store.head(&k).await.expect("head without properties");
    assert!(bare.metadata.is_empty());
    assert_eq!(bare.cache_control, None);
    assert_ne!(bare.etag, repaired.etag);
    assert_eq!(store.get_bytes("rec/a.webm").await.expect("get"), "AAAA");
}
