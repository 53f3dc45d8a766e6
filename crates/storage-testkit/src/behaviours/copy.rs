//! Server-side copy within a store: bytes and properties carried over, the
//! destination's write mode honoured, the source untouched.

use storage_core::{CopyOptions, ErrorKind, PutMode, PutOptions};

use crate::failure::{ensure, expect_eq, unsupported, Check, Failure, Outcome};
use crate::support::{expect_absent, expect_bytes, get, head, key, put, put_plain, Store};

/// Checks that a store without `copy` refuses it and returns whether copy
/// is supported.
async fn copy_supported(store: &Store) -> Result<bool, Failure> {
    if store.capabilities().copy {
        return Ok(true);
    }
    let (from, to) = (key("copy/src")?, key("copy/dst")?);
    put_plain(store, &from, "x").await?;
    store
        .copy(&from, &to, CopyOptions::new())
        .await
        .expect_kind("copy on a store without the copy capability", unsupported())?;
    expect_absent(store, &to, "a refused copy").await?;
    Ok(false)
}

/// The destination holds the source's bytes.
pub async fn copy_bytes_equal(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/from.bin")?, key("copy/to/inner.bin")?);
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    put_plain(&store, &from, data.clone()).await?;
    let meta = store
        .copy(&from, &to, CopyOptions::new())
        .await
        .check("copy")?;
    expect_eq("size reported by copy", data.len() as u64, meta.size)?;
    expect_eq("key reported by copy", &to, &meta.key)?;
    expect_bytes(&store, &to, &data).await
}

/// Content type, cache-control, disposition and user metadata carry over.
pub async fn copy_preserves_metadata(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let caps = store.capabilities();
    let (from, to) = (key("copy/meta-src")?, key("copy/meta-dst.txt")?);
    let mut opts = PutOptions::new().content_type("audio/ogg");
    if caps.cache_control {
        opts = opts.cache_control("private, max-age=60");
    }
    if caps.content_disposition {
        opts = opts.content_disposition("attachment; filename=\"a.ogg\"");
    }
    if caps.user_metadata {
        opts = opts.metadata("owner", "alice").metadata("take", "3");
    }
    let source = put(&store, &from, "ogg", opts).await?;
    let returned = store
        .copy(&from, &to, CopyOptions::new())
        .await
        .check("copy")?;
    for (what, meta) in [
        ("copy's result", returned),
        ("head of the copy", head(&store, &to).await?),
    ] {
        expect_eq(
            format!("content_type from {what}"),
            &source.content_type,
            &meta.content_type,
        )?;
        expect_eq(
            format!("cache_control from {what}"),
            &source.cache_control,
            &meta.cache_control,
        )?;
        expect_eq(
            format!("content_disposition from {what}"),
            &source.content_disposition,
            &meta.content_disposition,
        )?;
        expect_eq(
            format!("user metadata from {what}"),
            &source.metadata,
            &meta.metadata,
        )?;
    }
    Ok(())
}

/// Copying a missing source is `NotFound` and creates nothing.
pub async fn copy_missing_source_is_not_found(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/ghost")?, key("copy/ghost-copy")?);
    store
        .copy(&from, &to, CopyOptions::new())
        .await
        .expect_kind("copy of a missing source", ErrorKind::NotFound)?;
    expect_absent(&store, &to, "a copy of a missing source").await
}

/// `Create` refuses an existing destination with `AlreadyExists`.
pub async fn copy_create_refuses_existing_destination(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/new")?, key("copy/existing")?);
    put_plain(&store, &from, "new").await?;
    let before = put_plain(&store, &to, "existing").await?;
    let result = store
        .copy(&from, &to, CopyOptions::new().mode(PutMode::Create))
        .await;
    if !store.capabilities().put_create {
        result.expect_kind("copy Create on a store without put_create", unsupported())?;
    } else {
        result.expect_kind(
            "copy Create onto an existing blob",
            ErrorKind::AlreadyExists,
        )?;
    }
    expect_eq(
        "destination etag after a refused copy",
        &before.etag,
        &head(&store, &to).await?.etag,
    )?;
    expect_bytes(&store, &to, b"existing").await
}

/// `Create` to a free destination copies.
pub async fn copy_create_to_free_destination(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/c-src")?, key("copy/c-dst")?);
    put_plain(&store, &from, "payload").await?;
    if !store.capabilities().put_create {
        store
            .copy(&from, &to, CopyOptions::new().mode(PutMode::Create))
            .await
            .expect_kind("copy Create on a store without put_create", unsupported())?;
        return expect_absent(&store, &to, "a refused copy Create").await;
    }
    store
        .copy(&from, &to, CopyOptions::new().mode(PutMode::Create))
        .await
        .check("copy Create to a free destination")?;
    expect_bytes(&store, &to, b"payload").await
}

/// `IfMatch` compares the destination's etag.
pub async fn copy_if_match_destination(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/im-src")?, key("copy/im-dst")?);
    put_plain(&store, &from, "new").await?;
    let stale = put_plain(&store, &to, "v1").await?;
    let current = put_plain(&store, &to, "v2").await?;
    let stale_mode = CopyOptions::new().mode(PutMode::IfMatch(stale.etag));
    if !store.capabilities().put_if_match {
        store.copy(&from, &to, stale_mode).await.expect_kind(
            "copy IfMatch on a store without put_if_match",
            unsupported(),
        )?;
        return expect_bytes(&store, &to, b"v2").await;
    }
    store.copy(&from, &to, stale_mode).await.expect_kind(
        "copy IfMatch with a stale destination etag",
        ErrorKind::PreconditionFailed,
    )?;
    expect_bytes(&store, &to, b"v2").await?;
    store
        .copy(
            &from,
            &to,
            CopyOptions::new().mode(PutMode::IfMatch(current.etag)),
        )
        .await
        .check("copy IfMatch with the destination's current etag")?;
    expect_bytes(&store, &to, b"new").await
}

/// The source keeps its bytes and etag.
pub async fn copy_leaves_source_unchanged(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/keep")?, key("copy/kept")?);
    let before = put_plain(&store, &from, "keep me").await?;
    store
        .copy(&from, &to, CopyOptions::new())
        .await
        .check("copy")?;
    let (after, bytes) = get(&store, &from).await?;
    expect_eq("source etag after copy", &before.etag, &after.etag)?;
    expect_eq("source bytes after copy", &b"keep me"[..], &bytes[..])
}

/// The copy overwrites a destination by default and gets a new etag there,
/// even when the bytes are the same.
pub async fn copy_gives_new_etag(store: Store) -> Outcome {
    if !copy_supported(&store).await? {
        return Ok(());
    }
    let (from, to) = (key("copy/etag-src")?, key("copy/etag-dst")?);
    // Content-hash etags change only with the content.
    let old_bytes = if store.capabilities().etag_per_write {
        "same"
    } else {
        "older"
    };
    put_plain(&store, &from, "same").await?;
    let old = put_plain(&store, &to, old_bytes).await?;
    let copied = store
        .copy(&from, &to, CopyOptions::new())
        .await
        .check("copy over a blob")?;
    ensure(copied.etag != old.etag, || {
        format!(
            "etag after copying over a blob: expected a new etag, saw the old one {:?}",
            old.etag
        )
    })?;
    expect_eq(
        "etag from head after copy",
        &copied.etag,
        &head(&store, &to).await?.etag,
    )
}
