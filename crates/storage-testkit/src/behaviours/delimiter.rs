//! Listing with a `/` delimiter: folders folded into `ListPage::folders`,
//! one level at a time, paginated together with blobs.

use storage_core::ListOptions;

use crate::failure::{expect_eq, unsupported, Check, Failure, Outcome};
use crate::support::{key, list_all, put_plain, Store};

/// Writes `keys` unless the store cannot list with a delimiter, in which
/// case it checks the refusal and returns `false`.
async fn setup(store: &Store, keys: &[&str]) -> Result<bool, Failure> {
    if !store.capabilities().list_delimiter {
        store
            .list(ListOptions::new().delimiter(true))
            .await
            .expect_kind(
                "list with a delimiter on a store without list_delimiter",
                unsupported(),
            )?;
        return Ok(false);
    }
    for k in keys {
        put_plain(store, &key(k)?, k.to_string()).await?;
    }
    Ok(true)
}

async fn names(store: &Store, opts: ListOptions) -> Result<(Vec<String>, Vec<String>), Failure> {
    let (entries, folders) = list_all(store, opts).await?;
    Ok((
        entries.into_iter().map(|e| e.key.into_string()).collect(),
        folders,
    ))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// At the top level, keys under a `/` fold into folders ending in `/`.
pub async fn delimiter_folds_folders(store: Store) -> Outcome {
    if !setup(&store, &["a/1", "a/2", "b/c/d", "top.txt", "zz"]).await? {
        return Ok(());
    }
    expect_eq(
        "(blobs, folders) at the top level",
        (strings(&["top.txt", "zz"]), strings(&["a/", "b/"])),
        names(&store, ListOptions::new().delimiter(true)).await?,
    )
}

/// With prefix `a/`, one level below `a/` is listed.
pub async fn delimiter_with_prefix_lists_one_level(store: Store) -> Outcome {
    if !setup(
        &store,
        &["a/1", "a/2", "a/sub/x", "a/sub/y", "a/tub/z", "ab/3", "b"],
    )
    .await?
    {
        return Ok(());
    }
    expect_eq(
        "(blobs, folders) under prefix \"a/\"",
        (strings(&["a/1", "a/2"]), strings(&["a/sub/", "a/tub/"])),
        names(&store, ListOptions::new().prefix("a/").delimiter(true)).await?,
    )
}

/// Deeply nested keys show up as their first folder only.
pub async fn delimiter_nested_one_level_deep(store: Store) -> Outcome {
    if !setup(&store, &["n/a/b/c/d/e", "n/a/x", "n/f/g/h"]).await? {
        return Ok(());
    }
    expect_eq(
        "(blobs, folders) under prefix \"n/\"",
        (Vec::new(), strings(&["n/a/", "n/f/"])),
        names(&store, ListOptions::new().prefix("n/").delimiter(true)).await?,
    )?;
    expect_eq(
        "(blobs, folders) under prefix \"n/a/\"",
        (strings(&["n/a/x"]), strings(&["n/a/b/"])),
        names(&store, ListOptions::new().prefix("n/a/").delimiter(true)).await?,
    )
}

/// A prefix that ends mid-segment folds at the next `/`.
pub async fn delimiter_prefix_mid_segment(store: Store) -> Outcome {
    if !setup(
        &store,
        &[
            "recordings/x",
            "recordings/y/z",
            "record.txt",
            "rec2/q",
            "other",
        ],
    )
    .await?
    {
        return Ok(());
    }
    expect_eq(
        "(blobs, folders) under prefix \"rec\"",
        (strings(&["record.txt"]), strings(&["rec2/", "recordings/"])),
        names(&store, ListOptions::new().prefix("rec").delimiter(true)).await?,
    )
}

/// Pages mixing folders and blobs, for every page size from 1 to 4, visit
/// each name exactly once.
pub async fn delimiter_pagination_mixed(store: Store) -> Outcome {
    let keys = [
        "a", "a-b", "a.txt", "a0", "b/1", "b/2", "b/3", "c", "d/x/y", "d/z", "e",
    ];
    // `a` and `a/…` cannot coexist everywhere, so `a` has siblings but no folder.
    if !setup(&store, &keys).await? {
        return Ok(());
    }
    let expected = (
        strings(&["a", "a-b", "a.txt", "a0", "c", "e"]),
        strings(&["b/", "d/"]),
    );
    for limit in 1..=4 {
        expect_eq(
            format!("(blobs, folders) in pages of {limit}"),
            expected.clone(),
            names(&store, ListOptions::new().delimiter(true).limit(limit)).await?,
        )?;
    }
    Ok(())
}
