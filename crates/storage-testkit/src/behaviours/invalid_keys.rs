//! Keys that break the rules: every convenience call refuses them with
//! `InvalidKey`, tagged with the store's provider, before any I/O.

use std::path::Path;

use storage_core::{BlobStoreExt, Error, ErrorKind, ListOptions, PutOptions, MAX_KEY_BYTES};

use crate::failure::{expect_eq, Check, Outcome};
use crate::support::{expect_empty, Store};

fn invalid_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "/lead",
        "a//b",
        "trail/",
        ".",
        "..",
        "a/../b",
        "a/./b",
        "nul\0",
        "ctl\x01",
        "line\nbreak",
        "del\u{7f}",
        "back\\slash",
        "\\",
        // Unicode noncharacters: Azure stores them, then cannot list the container.
        "nonchar\u{FFFF}",
        "\u{FDD0}/a",
        "plane\u{10FFFE}",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.push("k".repeat(MAX_KEY_BYTES + 1));
    keys
}

/// Checks the error is `InvalidKey` from this store, naming the key.
fn expect_invalid(
    store: &Store,
    call: &str,
    k: &str,
    result: storage_core::Result<impl std::fmt::Debug>,
) -> Outcome {
    let err: Error = result.expect_kind(format!("{call}({k:?})"), ErrorKind::InvalidKey)?;
    expect_eq(
        format!("provider on the error of {call}({k:?})"),
        Some(store.provider()),
        err.provider(),
    )?;
    expect_eq(
        format!("key on the error of {call}({k:?})"),
        Some(k),
        err.key(),
    )
}

/// `put_bytes`, `put_bytes_with` and `put_file` refuse invalid keys and
/// store nothing.
pub async fn invalid_keys_refused_on_write(store: Store) -> Outcome {
    let missing_file = Path::new("/nonexistent/testkit/upload.bin");
    for k in invalid_keys() {
        expect_invalid(&store, "put_bytes", &k, store.put_bytes(&k, "x").await)?;
        expect_invalid(
            &store,
            "put_bytes_with",
            &k,
            store
                .put_bytes_with(&k, "x", PutOptions::new().content_type("text/plain"))
                .await,
        )?;
        // The key is checked before the file is opened, so a missing file
        // must not mask the key error.
        expect_invalid(
            &store,
            "put_file",
            &k,
            store.put_file(&k, missing_file, PutOptions::new()).await,
        )?;
    }
    expect_empty(&store, "writes with invalid keys").await
}

/// `get_bytes`, `exists` and `key` refuse invalid keys.
pub async fn invalid_keys_refused_on_read(store: Store) -> Outcome {
    for k in invalid_keys() {
        expect_invalid(&store, "get_bytes", &k, store.get_bytes(&k).await)?;
        expect_invalid(&store, "exists", &k, store.exists(&k).await)?;
        expect_invalid(&store, "key", &k, store.key(&k))?;
    }
    Ok(())
}

/// A listing prefix that no key could start with is `InvalidKey`.
pub async fn invalid_keys_list_prefix(store: Store) -> Outcome {
    for prefix in [
        "/x",
        "a\0",
        "tab\there",
        "a\\b",
        "nonchar\u{FFFF}",
        &"p".repeat(MAX_KEY_BYTES + 1),
    ] {
        store
            .list(ListOptions::new().prefix(prefix))
            .await
            .expect_kind(
                format!("list with prefix {prefix:?}"),
                ErrorKind::InvalidKey,
            )?;
    }
    Ok(())
}
