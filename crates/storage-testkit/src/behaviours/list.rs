//! Flat listing: order, prefixes, pagination by cursor, and what entries
//! carry.

use futures::TryStreamExt;
use storage_core::{BlobStoreExt, ListOptions};

use crate::failure::{expect_eq, Check, Failure, Outcome};
use crate::support::{head, key, list_all, list_keys, put_plain, Store};

async fn put_all(store: &Store, keys: &[&str]) -> Outcome {
    for k in keys {
        put_plain(store, &key(k)?, k.to_string()).await?;
    }
    Ok(())
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

/// A fresh store lists nothing, in one page without a cursor.
pub async fn list_empty_store(store: Store) -> Outcome {
    let page = store
        .list(ListOptions::new())
        .await
        .check("list of an empty store")?;
    expect_eq("entries of an empty store", 0, page.entries.len())?;
    expect_eq("folders of an empty store", 0, page.folders.len())?;
    expect_eq("cursor of an empty store", None, page.cursor)
}

/// Keys come back ascending by their UTF-8 bytes (so `B` < `a` < `a-b` <
/// `a/b` < `a0` < `~` < `é`).
pub async fn list_sorted_by_bytes(store: Store) -> Outcome {
    let keys = ["é", "a0", "~x", "a/b", "B", "a-b", "ab", "Z", "日本", "a b"];
    put_all(&store, &keys).await?;
    expect_eq(
        "listing order (ascending by bytes)",
        sorted(&keys),
        list_keys(&store, ListOptions::new()).await?,
    )
}

/// A prefix keeps only the keys that start with it.
pub async fn list_prefix_filter(store: Store) -> Outcome {
    put_all(
        &store,
        &["photos/1.jpg", "photos/2.jpg", "videos/1.mp4", "photo.txt"],
    )
    .await?;
    expect_eq(
        "listing with prefix \"photos/\"",
        sorted(&["photos/1.jpg", "photos/2.jpg"]),
        list_keys(&store, ListOptions::new().prefix("photos/")).await?,
    )
}

/// Prefixes are plain string prefixes, not path segments.
pub async fn list_prefix_not_path_aware(store: Store) -> Outcome {
    put_all(
        &store,
        &["recordings/x", "record.txt", "rec", "re", "music/rec"],
    )
    .await?;
    expect_eq(
        "listing with prefix \"rec\"",
        sorted(&["rec", "record.txt", "recordings/x"]),
        list_keys(&store, ListOptions::new().prefix("rec")).await?,
    )
}

/// A prefix matching nothing lists nothing.
pub async fn list_prefix_without_match_is_empty(store: Store) -> Outcome {
    put_all(&store, &["a/1", "b/2"]).await?;
    expect_eq(
        "listing with prefix \"c\"",
        Vec::<String>::new(),
        list_keys(&store, ListOptions::new().prefix("c")).await?,
    )
}

/// Ten keys in pages of three: every key exactly once, in order, ending
/// with no cursor.
pub async fn list_pagination_visits_each_once(store: Store) -> Outcome {
    let keys: Vec<String> = (0..10).map(|i| format!("page/{i:02}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    put_all(&store, &refs).await?;
    // `list_all` checks each page's size and that the walk ends.
    expect_eq(
        "keys visited in pages of 3",
        keys.clone(),
        list_keys(&store, ListOptions::new().limit(3)).await?,
    )?;
    for limit in [1, 2, 4, 9, 10, 11] {
        expect_eq(
            format!("keys visited in pages of {limit}"),
            keys.clone(),
            list_keys(&store, ListOptions::new().limit(limit)).await?,
        )?;
    }
    Ok(())
}

/// A limit larger than the listing gives one page and no cursor.
pub async fn list_single_page_has_no_cursor(store: Store) -> Outcome {
    put_all(&store, &["one", "two", "three"]).await?;
    let page = store
        .list(ListOptions::new().limit(3))
        .await
        .check("list with a limit equal to the count")?;
    expect_eq("entries on the only page", 3, page.entries.len())?;
    expect_eq("cursor after the last entry", None, page.cursor)
}

/// Entries carry the size and etag `head` reports.
pub async fn list_entries_match_head(store: Store) -> Outcome {
    put_all(&store, &["sized/a", "sized/bb", "sized/ccc"]).await?;
    put_plain(&store, &key("sized/empty")?, "").await?;
    let (entries, _) = list_all(&store, ListOptions::new()).await?;
    expect_eq("number of entries", 4, entries.len())?;
    for entry in entries {
        let meta = head(&store, &entry.key).await?;
        expect_eq(
            format!("listed size of {:?}", entry.key),
            meta.size,
            entry.size,
        )?;
        expect_eq(
            format!("listed etag of {:?}", entry.key),
            meta.etag,
            entry.etag,
        )?;
    }
    Ok(())
}

/// `BlobStoreExt::list_all` follows cursors across pages.
pub async fn list_all_follows_pages(store: Store) -> Outcome {
    let keys: Vec<String> = (0..7).map(|i| format!("all/{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    put_all(&store, &refs).await?;
    put_plain(&store, &key("other")?, "x").await?;
    let listed: Vec<String> = store
        .list_all(ListOptions::new().prefix("all/").limit(2))
        .map_ok(|e| e.key.into_string())
        .try_collect()
        .await
        .map_err(|e| {
            Failure::new(format!(
                "list_all with pages of 2: expected success, saw {e}"
            ))
        })?;
    expect_eq("keys from list_all with pages of 2", keys, listed)
}

/// Deleted keys disappear from listings; the rest stay.
pub async fn list_deleted_keys_disappear(store: Store) -> Outcome {
    put_all(&store, &["gone/1", "gone/2", "gone/3", "gone/4"]).await?;
    for k in ["gone/1", "gone/3"] {
        store
            .delete(&key(k)?)
            .await
            .check(format!("delete {k:?}"))?;
    }
    expect_eq(
        "listing after deletes",
        sorted(&["gone/2", "gone/4"]),
        list_keys(&store, ListOptions::new().limit(1)).await?,
    )
}
