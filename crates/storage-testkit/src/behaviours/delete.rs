//! Deleting: idempotent, exact (no sibling or "folder" is touched), and
//! the file/folder name clash a filesystem store has to refuse cleanly.

use storage_core::{Body, PutOptions};

use crate::failure::{ensure, expect_eq, Check, Outcome};
use crate::support::{expect_absent, expect_bytes, key, list_keys, put_plain, Store};

/// A deleted blob is gone from `head`, `get` and `list`.
pub async fn delete_removes(store: Store) -> Outcome {
    let k = key("doomed.txt")?;
    put_plain(&store, &k, "bye").await?;
    store.delete(&k).await.check("delete of an existing blob")?;
    expect_absent(&store, &k, "delete").await
}

/// Deleting a key that holds nothing succeeds, twice.
pub async fn delete_missing_is_ok(store: Store) -> Outcome {
    let k = key("never/there.txt")?;
    store.delete(&k).await.check("delete of a missing key")?;
    store
        .delete(&k)
        .await
        .check("second delete of a missing key")
}

/// A key can be written again after a delete.
pub async fn delete_then_recreate(store: Store) -> Outcome {
    let k = key("phoenix.txt")?;
    put_plain(&store, &k, "first life").await?;
    store.delete(&k).await.check("delete")?;
    put_plain(&store, &k, "second life").await?;
    expect_bytes(&store, &k, b"second life").await
}

/// Deleting `a` leaves keys that merely start with `a` alone.
pub async fn delete_leaves_siblings(store: Store) -> Outcome {
    let target = "sib/a";
    let mut siblings = vec!["sib/ab", "sib/a-b", "sib/a.txt"];
    if store.capabilities().file_and_folder_same_name {
        siblings.push("sib/a/b");
        siblings.push("sib/a/b/c");
    }
    put_plain(&store, &key(target)?, "target").await?;
    for s in &siblings {
        put_plain(&store, &key(s)?, *s).await?;
    }
    store
        .delete(&key(target)?)
        .await
        .check(format!("delete {target:?}"))?;
    for s in &siblings {
        expect_bytes(&store, &key(s)?, s.as_bytes()).await?;
    }
    let mut expected: Vec<String> = siblings.iter().map(|s| s.to_string()).collect();
    expected.sort();
    expect_eq(
        format!("listing after deleting {target:?}"),
        expected,
        list_keys(&store, storage_core::ListOptions::new().prefix("sib/")).await?,
    )
}

/// With `file_and_folder_same_name`, `x` and `x/y` are independent blobs;
/// without it, writing one while the other exists fails with an error and
/// corrupts nothing.
pub async fn delete_file_and_folder_same_name(store: Store) -> Outcome {
    let file = key("clash/x")?;
    let nested = key("clash/x/y")?;
    if store.capabilities().file_and_folder_same_name {
        put_plain(&store, &file, "file").await?;
        put_plain(&store, &nested, "nested").await?;
        store.delete(&file).await.check("delete of the file")?;
        expect_bytes(&store, &nested, b"nested").await?;
        put_plain(&store, &file, "file again").await?;
        store
            .delete(&nested)
            .await
            .check("delete of the nested blob")?;
        return expect_bytes(&store, &file, b"file again").await;
    }
    for (first, second) in [(&file, &nested), (&nested, &file)] {
        put_plain(&store, first, "first").await?;
        let result = store
            .put(second, Body::from("second"), PutOptions::new())
            .await;
        ensure(result.is_err(), || {
            format!(
                "put {second:?} while {first:?} exists on a store without \
                 file_and_folder_same_name: expected an error, saw {result:?}"
            )
        })?;
        expect_bytes(&store, first, b"first").await?;
        expect_absent(&store, second, "a refused file/folder clash").await?;
        store.delete(first).await.check("delete")?;
    }
    Ok(())
}
