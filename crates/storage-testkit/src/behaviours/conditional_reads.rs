//! Conditional reads: `GetOptions::if_match` and `if_none_match`, what a
//! caching handler (304) and a resumed download (never splice a changed
//! blob) rely on.

use storage_core::{ErrorKind, GetOptions};

use crate::failure::{expect_eq, Check, Outcome};
use crate::support::{key, put_plain, Store};

/// `if_match` with the current etag reads the bytes.
pub async fn conditional_get_if_match_current_reads(store: Store) -> Outcome {
    let k = key("conditional-get/current.txt")?;
    let meta = put_plain(&store, &k, "current").await?;
    let blob = store
        .get(&k, GetOptions::new().if_match(meta.etag.clone()))
        .await
        .check("get with if_match on the current etag")?;
    let bytes = blob.bytes().await.check("reading the body")?;
    expect_eq("bytes read with if_match", &b"current"[..], &bytes[..])
}

/// `if_match` with an etag from before an overwrite is `PreconditionFailed`.
pub async fn conditional_get_if_match_stale_fails(store: Store) -> Outcome {
    let k = key("conditional-get/stale.txt")?;
    let old = put_plain(&store, &k, "first").await?;
    put_plain(&store, &k, "second, longer").await?;
    store
        .get(&k, GetOptions::new().if_match(old.etag))
        .await
        .expect_kind(
            "get with if_match on a replaced blob's etag",
            ErrorKind::PreconditionFailed,
        )?;
    Ok(())
}

/// `if_none_match` with the current etag is `NotModified`.
pub async fn conditional_get_if_none_match_current_is_not_modified(store: Store) -> Outcome {
    let k = key("conditional-get/cached.txt")?;
    let meta = put_plain(&store, &k, "cached").await?;
    store
        .get(&k, GetOptions::new().if_none_match(meta.etag))
        .await
        .expect_kind(
            "get with if_none_match on the current etag",
            ErrorKind::NotModified,
        )?;
    Ok(())
}

/// `if_none_match` with a stale etag reads the new bytes.
pub async fn conditional_get_if_none_match_stale_reads(store: Store) -> Outcome {
    let k = key("conditional-get/changed.txt")?;
    let old = put_plain(&store, &k, "old").await?;
    put_plain(&store, &k, "new bytes").await?;
    let blob = store
        .get(&k, GetOptions::new().if_none_match(old.etag))
        .await
        .check("get with if_none_match on a replaced blob's etag")?;
    let bytes = blob.bytes().await.check("reading the body")?;
    expect_eq(
        "bytes read with a stale if_none_match",
        &b"new bytes"[..],
        &bytes[..],
    )
}
