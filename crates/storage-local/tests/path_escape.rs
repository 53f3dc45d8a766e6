//! Hostile keys either fail with `InvalidKey` before any I/O, or are stored
//! strictly inside the store's root, byte for byte.

use std::path::Path;

use storage_core::{BlobStore, BlobStoreExt, CopyOptions, ErrorKind};
use storage_local::{LocalConfig, LocalStore};

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn hostile_keys_never_leave_the_root() {
    let outer = tempfile::tempdir().expect("tempdir");
    let root = outer.path().join("root");
    let store = LocalStore::new(LocalConfig::new(&root)).expect("open");
    let root = store.root().to_path_buf();

    let invalid = [
        "..".to_string(),
        "../x".into(),
        "a/../../x".into(),
        "./x".into(),
        "/etc/passwd".into(),
        "a//b".into(),
        "trailing/".into(),
        "nul\0x".into(),
        "line\nbreak".into(),
        "\\..\\..\\x".into(),
        "a\\..\\..\\b".into(),
        "C:\\windows\\system32".into(),
        "x".repeat(10_000),
        format!("{}/b", "a/".repeat(475)),
    ];
    for key in &invalid {
        let err = store.put_bytes(key, "x").await.expect_err(key);
        assert_eq!(err.kind(), &ErrorKind::InvalidKey, "{key:?}: {err}");
        assert_eq!(err.provider(), Some(storage_core::Provider::Local));
        assert_eq!(
            store.get_bytes(key).await.expect_err(key).kind(),
            &ErrorKind::InvalidKey
        );
        assert_eq!(
            store.exists(key).await.expect_err(key).kind(),
            &ErrorKind::InvalidKey
        );
    }

    let valid = [
        "%2e%2e/%2e%2e/x".to_string(),
        "..%2f..%2fx".into(),
        "~/x".into(),
        "$HOME/x".into(),
        "…/x".into(),
        "...".into(),
        ".hidden".into(),
        "x".repeat(950),
        format!("{}/{}", "é".repeat(200), "ü".repeat(200)),
        format!("{}b", "a/".repeat(400)),
    ];
    for (i, key) in valid.iter().enumerate() {
        store
            .put_bytes(key, key.clone())
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert_eq!(store.get_bytes(key).await.expect(key), key.as_bytes());
        let k = store.key(key).expect("valid");
        assert!(
            store.path_of(&k).starts_with(root.join("objects")),
            "{key:?}"
        );
        let copy = format!("copies/{i}");
        store
            .copy(&k, &store.key(&copy).expect("valid"), CopyOptions::new())
            .await
            .unwrap_or_else(|e| panic!("copy {key:?}: {e}"));
    }

    let mut files = Vec::new();
    files_under(outer.path(), &mut files);
    for file in &files {
        assert!(
            file.starts_with(&root),
            "{} escaped the root",
            file.display()
        );
    }
    let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
        store.list_all(storage_core::ListOptions::new()),
    )
    .await
    .expect("list");
    assert_eq!(listed.len(), valid.len() * 2, "{listed:?}");
    for key in &valid {
        store
            .delete(&store.key(key).expect("valid"))
            .await
            .expect("delete");
        assert!(!store.exists(key).await.expect("exists"));
    }
}
