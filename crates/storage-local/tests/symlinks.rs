//! Symbolic links planted under the root are refused by every operation that
//! reaches them, with an error naming the link, and nothing outside the root
//! is read, created, changed or deleted through them.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use storage_core::{BlobStore, BlobStoreExt, CopyOptions, ErrorKind, ListOptions};
use storage_local::{LocalConfig, LocalStore};

mod support;

const SECRET: &str = "host secret, must never be served";

/// Every path below `dir` with its content (`None` for folders), links
/// recorded as their target: a fingerprint that any change would alter.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<String>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let value = if meta.is_symlink() {
                Some(format!(
                    "-> {}",
                    std::fs::read_link(&path).expect("readlink").display()
                ))
            } else if meta.is_dir() {
                todo.push(path.clone());
                None
            } else {
                Some(std::fs::read_to_string(&path).expect("read"))
            };
            out.insert(path, value);
        }
    }
    out
}

struct Fixture {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    store: LocalStore,
    root: PathBuf,
    outside: PathBuf,
}

/// A store with one real blob `real/blob`, and outside the root a folder
/// holding `etc/hostname` and `secret`.
async fn fixture() -> Fixture {
    let root_dir = tempfile::tempdir().expect("tempdir");
    let outside_dir = tempfile::tempdir().expect("tempdir");
    let outside = outside_dir.path().canonicalize().expect("canonical");
    std::fs::create_dir(outside.join("etc")).expect("mkdir");
    std::fs::write(outside.join("etc/hostname"), SECRET).expect("write");
    std::fs::write(outside.join("secret"), SECRET).expect("write");
    let store = LocalStore::new(LocalConfig::new(root_dir.path())).expect("open");
    store.put_bytes("real/blob", "inside").await.expect("put");
    let root = store.root().to_path_buf();
    Fixture {
        _dirs: (root_dir, outside_dir),
        store,
        root,
        outside,
    }
}

fn key(store: &LocalStore, k: &str) -> storage_core::BlobKey {
    store.key(k).expect("valid key")
}

/// Asserts `result` is the refusal of the link at `link` (relative to the root).
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: storage_core::Result<T>, link: &str, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), &ErrorKind::Forbidden, "{what}: {err}");
    let text = err.to_string();
    assert!(text.contains(&format!("`{link}`")), "{what}: {text}");
    assert!(text.contains("symbolic link"), "{what}: {text}");
    assert!(
        text.contains("replace it with a real file or directory"),
        "{what}: {text}"
    );
    assert!(!text.contains(SECRET), "{what}: {text}");
}

async fn list_all(store: &LocalStore, prefix: &str) -> storage_core::Result<Vec<String>> {
    let mut opts = ListOptions::new();
    if !prefix.is_empty() {
        opts = opts.prefix(prefix);
    }
    let entries: Vec<_> = store.list_all(opts).try_collect().await?;
    Ok(entries.into_iter().map(|e| e.key.to_string()).collect())
}

/// Runs every operation through a link to a folder at `objects/<name>`.
async fn folder_link_is_refused(f: &Fixture, name: &str) {
    let s = &f.store;
    let link = format!("objects/{name}");
    let inner = format!("{name}/hostname");
    assert_refused(
        s.get_bytes(&inner).await,
        &link,
        "get through a folder link",
    );
    assert_refused(s.head(&key(s, &inner)).await, &link, "head");
    assert_refused(
        s.put_bytes(&format!("{name}/x"), "planted").await,
        &link,
        "put into a linked folder",
    );
    assert_refused(
        s.put_bytes(&format!("{name}/sub/x"), "planted").await,
        &link,
        "put below a linked folder",
    );
    assert_refused(s.delete(&key(s, &inner)).await, &link, "delete");
    assert_refused(
        s.copy(&key(s, &inner), &key(s, "copied"), CopyOptions::new())
            .await,
        &link,
        "copy from",
    );
    assert_refused(
        s.copy(
            &key(s, "real/blob"),
            &key(s, &format!("{name}/y")),
            CopyOptions::new(),
        )
        .await,
        &link,
        "copy to",
    );
    assert_refused(list_all(s, "").await, &link, "list everything");
    assert_refused(
        list_all(s, &format!("{name}/")).await,
        &link,
        "list the folder",
    );
    // A listing that never reaches the link is not disturbed by it.
    let listed = list_all(s, "real/").await.expect("list");
    assert!(listed.contains(&"real/blob".to_string()), "{listed:?}");
    assert!(!s.exists("copied").await.expect("exists"));
}

/// Runs every operation on a key whose data file is a link `objects/<name>`.
async fn file_link_is_refused(f: &Fixture, name: &str) {
    let s = &f.store;
    let link = format!("objects/{name}");
    assert_refused(s.get_bytes(name).await, &link, "get a file link");
    assert_refused(s.head(&key(s, name)).await, &link, "head");
    assert_refused(s.put_bytes(name, "overwrite").await, &link, "put over");
    assert_refused(s.delete(&key(s, name)).await, &link, "delete");
    assert_refused(
        s.copy(&key(s, name), &key(s, "copied"), CopyOptions::new())
            .await,
        &link,
        "copy from",
    );
    assert_refused(
        s.copy(&key(s, "real/blob"), &key(s, name), CopyOptions::new())
            .await,
        &link,
        "copy to",
    );
    assert_refused(list_all(s, "").await, &link, "list");
    assert!(!s.exists("copied").await.expect("exists"));
}

#[tokio::test]
async fn a_link_to_a_folder_outside_the_root_is_refused() {
    let f = fixture().await;
    symlink(f.outside.join("etc"), f.root.join("objects/etc")).expect("plant");
    let before = snapshot(&f.outside);
    folder_link_is_refused(&f, "etc").await;
    assert_eq!(snapshot(&f.outside), before, "something changed outside");
}

#[tokio::test]
async fn a_link_to_a_file_outside_the_root_is_refused() {
    let f = fixture().await;
    symlink(f.outside.join("secret"), f.root.join("objects/passwd")).expect("plant");
    let before = snapshot(&f.outside);
    file_link_is_refused(&f, "passwd").await;
    assert_eq!(snapshot(&f.outside), before, "something changed outside");
}

#[tokio::test]
async fn links_that_stay_inside_the_root_are_refused_too() {
    let f = fixture().await;
    std::fs::write(f.root.join("objects/real/hostname"), "inside").expect("write");
    symlink(f.root.join("objects/real"), f.root.join("objects/alias")).expect("plant");
    let inside_before = snapshot(&f.root.join("objects/real"));
    folder_link_is_refused(&f, "alias").await;
    // One link at a time, so the listing's refusal names the one under test.
    std::fs::remove_file(f.root.join("objects/alias")).expect("unplant");
    symlink(
        f.root.join("objects/real/blob"),
        f.root.join("objects/shortcut"),
    )
    .expect("plant");
    file_link_is_refused(&f, "shortcut").await;
    assert_eq!(snapshot(&f.root.join("objects/real")), inside_before);
}

#[tokio::test]
async fn dangling_links_create_nothing_where_they_point() {
    let f = fixture().await;
    symlink(f.outside.join("new-file"), f.root.join("objects/file")).expect("plant");
    symlink(f.outside.join("new-dir"), f.root.join("objects/dir")).expect("plant");
    let before = snapshot(&f.outside);
    assert_refused(f.store.put_bytes("file", "x").await, "objects/file", "put");
    assert_refused(f.store.put_bytes("dir/x", "x").await, "objects/dir", "put");
    assert_eq!(snapshot(&f.outside), before, "something created outside");
}

/// Sidecars are read for blobs of stores written before properties moved
/// onto the data file, like this one.
#[tokio::test]
async fn a_linked_sidecar_is_refused() {
    let f = fixture().await;
    let props = serde_json::json!({ "etag": "\"old\"", "content_type": "text/plain" });
    support::write_old_format(&f.root, "k", b"data", props);
    std::fs::remove_file(f.root.join("meta/k")).expect("rm sidecar");
    symlink(f.outside.join("secret"), f.root.join("meta/k")).expect("plant");
    let before = snapshot(&f.outside);
    assert_refused(f.store.head(&key(&f.store, "k")).await, "meta/k", "head");
    assert_refused(f.store.get_bytes("k").await, "meta/k", "get");
    assert_refused(list_all(&f.store, "").await, "meta/k", "list");
    assert_refused(
        f.store.delete(&key(&f.store, "k")).await,
        "meta/k",
        "delete",
    );
    // The refused delete left the blob whole.
    assert!(f.root.join("objects/k").is_file());
    assert_eq!(snapshot(&f.outside), before, "something changed outside");
}

/// A blob that carries its own properties never reads `meta/`, so a link
/// there is not followed by reads; a delete, which looks at both files,
/// still refuses it.
#[tokio::test]
async fn a_link_beside_a_blob_with_its_own_properties_is_never_followed() {
    let f = fixture().await;
    let put = f
        .store
        .put_bytes_with(
            "k",
            "data",
            storage_core::PutOptions::new().metadata("m", "1"),
        )
        .await
        .expect("put");
    if f.root.join("meta/k").exists() {
        // This filesystem keeps properties in sidecars; the test above covers it.
        return;
    }
    symlink(f.outside.join("secret"), f.root.join("meta/k")).expect("plant");
    let before = snapshot(&f.outside);
    let head = f.store.head(&key(&f.store, "k")).await.expect("head");
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.metadata.get("m").map(String::as_str), Some("1"));
    assert_eq!(f.store.get_bytes("k").await.expect("get"), "data");
    assert_refused(
        f.store.delete(&key(&f.store, "k")).await,
        "meta/k",
        "delete",
    );
    assert_eq!(snapshot(&f.outside), before, "something changed outside");
}

#[tokio::test]
async fn a_fixed_folder_replaced_by_a_link_is_refused() {
    let f = fixture().await;
    let objects = f.root.join("objects");
    std::fs::rename(&objects, f.outside.join("objects")).expect("move away");
    symlink(f.outside.join("objects"), &objects).expect("plant");
    let before = snapshot(&f.outside);
    assert_refused(f.store.get_bytes("real/blob").await, "objects", "get");
    assert_refused(f.store.put_bytes("new", "x").await, "objects", "put");
    assert_eq!(snapshot(&f.outside), before, "something changed outside");
    let reopened = LocalStore::new(LocalConfig::new(&f.root)).expect_err("open refuses");
    assert!(reopened.to_string().contains("`objects`"), "{reopened}");
}
