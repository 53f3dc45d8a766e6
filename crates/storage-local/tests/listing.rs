//! Listings page through keys in exactly the byte order of the full key,
//! the order the in-memory reference store gives, however the folders on
//! disk interleave; and a page reads only what it needs, which the links
//! planted past it or before its cursor show: the page never trips on them.

use std::os::unix::fs::symlink;

use storage_core::{memory::MemoryStore, BlobStore, BlobStoreExt, ErrorKind, ListOptions};
use storage_local::{LocalConfig, LocalStore};

/// Keys whose folder order differs from their key order: `a/…` sorts after
/// `a-c` and `a.txt`; long segments become continuation folders whose keys
/// interleave with their siblings'.
fn tricky_keys() -> Vec<String> {
    let l254 = "L".repeat(254);
    let l300 = "L".repeat(300);
    vec![
        "a-c".into(),
        "a.txt".into(),
        "a/b".into(),
        "a/c/d".into(),
        "a/c-d".into(),
        "a0".into(),
        "b/x/y/z".into(),
        "é/1".into(),
        "é-1".into(),
        format!("{l300}/x"),
        format!("{l300}y"),
        format!("{l254}A"),
        format!("{l254}M"),
        format!("{l254}L/after"),
        format!("{}/{}", "m".repeat(600), "n".repeat(260)),
        format!("{}-{}", "m".repeat(600), "o"),
    ]
}

/// Every name `store` lists for `opts`, page by page, with the cursors.
async fn pages(store: &dyn BlobStore, opts: ListOptions) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut opts = opts;
    loop {
        let page = store.list(opts.clone()).await.expect("list");
        let keys = page.entries.iter().map(|e| e.key.to_string()).collect();
        out.push((keys, page.folders.clone()));
        match page.cursor {
            Some(cursor) => opts = opts.cursor(cursor),
            None => return out,
        }
    }
}

#[tokio::test]
async fn pages_match_the_reference_order_for_every_size_prefix_and_delimiter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    let memory = MemoryStore::new();
    for key in tricky_keys() {
        local.put_bytes(&key, key.clone()).await.expect("local put");
        memory
            .put_bytes(&key, key.clone())
            .await
            .expect("memory put");
    }
    let l254 = "L".repeat(254);
    let prefixes = [
        String::new(),
        "a".into(),
        "a/".into(),
        "a/c".into(),
        "é".into(),
        "L".into(),
        l254.clone(),
        format!("{l254}L"),
        format!("{}/", "L".repeat(300)),
        "m".repeat(600),
        "zzz".into(),
    ];
    for prefix in &prefixes {
        for delimiter in [false, true] {
            for limit in [1, 2, 3, 5, 1000] {
                let opts = ListOptions::new()
                    .prefix(prefix.clone())
                    .delimiter(delimiter)
                    .limit(limit);
                assert_eq!(
                    pages(&local, opts.clone()).await,
                    pages(&memory, opts).await,
                    "prefix {prefix:?}, delimiter {delimiter}, limit {limit}"
                );
            }
        }
    }
}

#[tokio::test]
async fn sizes_and_etags_on_a_page_are_those_head_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    for key in tricky_keys() {
        store.put_bytes(&key, key.clone()).await.expect("put");
    }
    let page = store.list(ListOptions::new().limit(7)).await.expect("list");
    assert_eq!(page.entries.len(), 7);
    for entry in page.entries {
        let head = store.head(&entry.key).await.expect("head");
        assert_eq!((entry.size, &entry.etag), (head.size, &head.etag));
        assert_eq!(entry.last_modified, head.last_modified);
    }
}

#[tokio::test]
async fn a_page_stops_before_what_it_does_not_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("outside");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    for key in ["a/1", "a/2", "b/1", "c", "d/1"] {
        store.put_bytes(key, "x").await.expect("put");
    }
    // Links past the first page and inside a folder the cursor has passed:
    // any page that reached them would fail.
    symlink(outside.path(), store.root().join("objects/zz")).expect("plant");
    symlink(outside.path(), store.root().join("objects/a/zz")).expect("plant");

    // One entry, and one more to know there is more: `a/zz` is third.
    let first = store
        .list(ListOptions::new().limit(1))
        .await
        .expect("first page");
    assert_eq!(first.entries[0].key.as_str(), "a/1");
    assert_eq!(first.cursor.as_deref(), Some("a/1"));
    let after_a = store
        .list(ListOptions::new().limit(2).cursor("b"))
        .await
        .expect("a page after the cursor skips the folder before it");
    let keys: Vec<&str> = after_a.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["b/1", "c"]);
    let folded = store
        .list(ListOptions::new().delimiter(true).limit(2))
        .await
        .expect("a folded folder is walked only to its first blob");
    assert_eq!(folded.folders, ["a/", "b/"]);

    for (cursor, link) in [("a/2", "objects/a/zz"), ("d/1", "objects/zz")] {
        let err = store
            .list(ListOptions::new().cursor(cursor))
            .await
            .expect_err("the page that reaches a link refuses it");
        assert_eq!(err.kind(), &ErrorKind::Forbidden);
        assert!(err.to_string().contains(&format!("`{link}`")), "{err}");
    }
}

#[tokio::test]
async fn a_folder_left_empty_is_no_folder_in_a_delimited_listing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    store.put_bytes("full/x", "x").await.expect("put");
    std::fs::create_dir_all(store.root().join("objects/empty/deeper")).expect("mkdir");
    let page = store
        .list(ListOptions::new().delimiter(true))
        .await
        .expect("list");
    assert_eq!(page.folders, ["full/"]);
}

#[tokio::test]
async fn empty_folders_ahead_of_the_blobs_do_not_cut_a_page_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = LocalStore::new(LocalConfig::new(dir.path())).expect("open");
    let memory = MemoryStore::new();
    for i in 0..6 {
        std::fs::create_dir_all(local.root().join(format!("objects/a{i}/left/empty")))
            .expect("mkdir");
    }
    for key in ["b1", "b2", "b3/x", "b4"] {
        local.put_bytes(key, "x").await.expect("put");
        memory.put_bytes(key, "x").await.expect("put");
    }
    for delimiter in [false, true] {
        for limit in [1, 2, 3] {
            let opts = ListOptions::new().delimiter(delimiter).limit(limit);
            assert_eq!(
                pages(&local, opts.clone()).await,
                pages(&memory, opts).await,
                "delimiter {delimiter}, limit {limit}"
            );
        }
    }
}

/// A large folder's sorted names are kept between listings once it has
/// settled; a key added or removed afterwards still shows at once, on every
/// page, because the folder's stamp changed.
#[tokio::test]
async fn a_kept_folder_shows_keys_added_and_removed_after_it_was_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path())).expect("store");
    let reference = MemoryStore::new();
    for i in (0..600).step_by(2) {
        let key = format!("big/k{i:04}");
        store.put_bytes(&key, "x").await.expect("put");
        reference.put_bytes(&key, "x").await.expect("put");
    }
    // Only a folder unchanged for a while is kept (see folders.rs).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let opts = ListOptions::new().prefix("big/").limit(70);
    assert_eq!(
        pages(&store, opts.clone()).await,
        pages(&reference, opts.clone()).await
    );
    for (put, gone) in [("big/k0301", "big/k0300"), ("big/k0000a", "big/k0598")] {
        store.put_bytes(put, "y").await.expect("put");
        reference.put_bytes(put, "y").await.expect("put");
        store.delete_key(gone).await.expect("delete");
        reference.delete_key(gone).await.expect("delete");
        assert_eq!(
            pages(&store, opts.clone()).await,
            pages(&reference, opts.clone()).await,
            "after adding {put} and removing {gone}"
        );
    }
}
