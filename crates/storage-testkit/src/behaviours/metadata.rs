//! Blob properties: content type (given, inferred or the default),
//! cache-control, content-disposition and user metadata, and their
//! validation before any I/O.

use std::collections::BTreeMap;

use storage_core::{Body, ErrorKind, PutOptions};

use crate::failure::{ensure, expect_eq, unsupported, Check, Outcome};
use crate::support::{expect_absent, get, head, key, put, put_plain, Store};

/// An explicit content type comes back exactly, from `put`, `head` and `get`.
pub async fn metadata_content_type_roundtrip(store: Store) -> Outcome {
    let k = key("typed.bin")?;
    let written = put(
        &store,
        &k,
        "x",
        PutOptions::new().content_type("audio/webm"),
    )
    .await?;
    expect_eq("content_type from put", "audio/webm", &written.content_type)?;
    expect_eq(
        "content_type from head",
        "audio/webm",
        &head(&store, &k).await?.content_type,
    )?;
    expect_eq(
        "content_type from get",
        "audio/webm",
        &get(&store, &k).await?.0.content_type,
    )
}

/// Parameters such as `charset` are part of the content type and are kept.
pub async fn metadata_content_type_with_parameters(store: Store) -> Outcome {
    let k = key("charset.txt")?;
    let ct = "text/plain; charset=utf-8";
    put(&store, &k, "é", PutOptions::new().content_type(ct)).await?;
    expect_eq(
        "content_type with parameters from head",
        ct,
        &head(&store, &k).await?.content_type,
    )
}

/// With no content type given, the key's extension decides it.
pub async fn metadata_content_type_inferred_from_extension(store: Store) -> Outcome {
    for (name, expected) in [
        ("img/cat.png", "image/png"),
        ("data/report.json", "application/json"),
        ("notes/readme.txt", "text/plain"),
    ] {
        let k = key(name)?;
        let written = put_plain(&store, &k, "x").await?;
        expect_eq(
            format!("inferred content_type of {name:?} from put"),
            expected,
            &written.content_type,
        )?;
        expect_eq(
            format!("inferred content_type of {name:?} from head"),
            expected,
            &head(&store, &k).await?.content_type,
        )?;
    }
    Ok(())
}

/// With no content type and no extension, the type is
/// `application/octet-stream`.
pub async fn metadata_content_type_defaults_to_octet_stream(store: Store) -> Outcome {
    let k = key("folder.d/no-extension")?;
    put_plain(&store, &k, "x").await?;
    expect_eq(
        "content_type of a key without extension",
        "application/octet-stream",
        &head(&store, &k).await?.content_type,
    )
}

/// `Cache-Control` round-trips, or is refused as `Unsupported`.
pub async fn metadata_cache_control_roundtrip(store: Store) -> Outcome {
    let k = key("cached.txt")?;
    let opts = PutOptions::new().cache_control("public, max-age=31536000, immutable");
    if !store.capabilities().cache_control {
        store.put(&k, Body::from("x"), opts).await.expect_kind(
            "put with cache_control on a store without the cache_control capability",
            unsupported(),
        )?;
        return expect_absent(&store, &k, "a refused cache_control").await;
    }
    let written = put(&store, &k, "x", opts).await?;
    let expected = Some("public, max-age=31536000, immutable".to_string());
    expect_eq("cache_control from put", &expected, &written.cache_control)?;
    expect_eq(
        "cache_control from head",
        &expected,
        &head(&store, &k).await?.cache_control,
    )?;
    expect_eq(
        "cache_control from get",
        &expected,
        &get(&store, &k).await?.0.cache_control,
    )
}

/// `Content-Disposition` round-trips, or is refused as `Unsupported`.
pub async fn metadata_content_disposition_roundtrip(store: Store) -> Outcome {
    let k = key("report.pdf")?;
    let value = "attachment; filename=\"report 2024.pdf\"";
    let opts = PutOptions::new().content_disposition(value);
    if !store.capabilities().content_disposition {
        store.put(&k, Body::from("x"), opts).await.expect_kind(
            "put with content_disposition on a store without the capability",
            unsupported(),
        )?;
        return expect_absent(&store, &k, "a refused content_disposition").await;
    }
    put(&store, &k, "x", opts).await?;
    let expected = Some(value.to_string());
    expect_eq(
        "content_disposition from head",
        &expected,
        &head(&store, &k).await?.content_disposition,
    )?;
    expect_eq(
        "content_disposition from get",
        &expected,
        &get(&store, &k).await?.0.content_disposition,
    )
}

/// Several user metadata entries round-trip exactly, or are refused as
/// `Unsupported`.
pub async fn metadata_user_metadata_roundtrip(store: Store) -> Outcome {
    let k = key("with-metadata.txt")?;
    let opts = PutOptions::new()
        .metadata("user_id", "42")
        .metadata("_source", "Upload Form v2 (beta)")
        .metadata("empty", "")
        .metadata("sha", "0123abcdef");
    let expected = opts.metadata.clone();
    if !store.capabilities().user_metadata {
        store.put(&k, Body::from("x"), opts).await.expect_kind(
            "put with user metadata on a store without the user_metadata capability",
            unsupported(),
        )?;
        return expect_absent(&store, &k, "refused user metadata").await;
    }
    let written = put(&store, &k, "x", opts).await?;
    expect_eq("user metadata from put", &expected, &written.metadata)?;
    expect_eq(
        "user metadata from head",
        &expected,
        &head(&store, &k).await?.metadata,
    )?;
    expect_eq(
        "user metadata from get",
        &expected,
        &get(&store, &k).await?.0.metadata,
    )
}

/// Overwriting without options clears what the previous write set: a put
/// replaces the blob, it does not merge properties.
pub async fn metadata_overwrite_clears_previous(store: Store) -> Outcome {
    let caps = store.capabilities();
    let k = key("replaced")?;
    let mut opts = PutOptions::new().content_type("text/csv");
    if caps.cache_control {
        opts = opts.cache_control("no-store");
    }
    if caps.content_disposition {
        opts = opts.content_disposition("attachment");
    }
    if caps.user_metadata {
        opts = opts.metadata("stale", "yes");
    }
    put(&store, &k, "a,b", opts).await?;
    put_plain(&store, &k, "plain").await?;
    let meta = head(&store, &k).await?;
    expect_eq(
        "content_type after a plain overwrite",
        "application/octet-stream",
        &meta.content_type,
    )?;
    expect_eq(
        "cache_control after a plain overwrite",
        None,
        meta.cache_control,
    )?;
    expect_eq(
        "content_disposition after a plain overwrite",
        None,
        meta.content_disposition,
    )?;
    expect_eq(
        "user metadata after a plain overwrite",
        BTreeMap::new(),
        meta.metadata,
    )
}

/// A metadata name outside `[a-z_][a-z0-9_]*` is `InvalidInput` (or
/// `Unsupported` on a store without user metadata) and nothing is stored.
pub async fn metadata_invalid_name_is_invalid_input(store: Store) -> Outcome {
    let k = key("bad-metadata.txt")?;
    let kinds: &[ErrorKind] = if store.capabilities().user_metadata {
        &[ErrorKind::InvalidInput]
    } else {
        &[ErrorKind::InvalidInput, unsupported()]
    };
    for name in ["Upper", "with-dash", "1digit", "sp ace", ""] {
        store
            .put(&k, Body::from("x"), PutOptions::new().metadata(name, "v"))
            .await
            .expect_one_of(format!("put with metadata name {name:?}"), kinds)?;
    }
    expect_absent(&store, &k, "puts with invalid metadata names").await
}

/// A header value with a line break is `InvalidInput` (header injection) and
/// nothing is stored, whatever the option carrying it.
pub async fn metadata_crlf_header_value_is_invalid_input(store: Store) -> Outcome {
    let caps = store.capabilities();
    let k = key("injected.txt")?;
    let evil = "text/plain\r\nx-evil: 1";
    let mut attempts = vec![("content_type", PutOptions::new().content_type(evil), true)];
    attempts.push((
        "cache_control",
        PutOptions::new().cache_control("max-age=1\r\nx-evil: 1"),
        caps.cache_control,
    ));
    attempts.push((
        "content_disposition",
        PutOptions::new().content_disposition("inline\nx-evil: 1"),
        caps.content_disposition,
    ));
    attempts.push((
        "a metadata value",
        PutOptions::new().metadata("note", "a\r\nx-evil: 1"),
        caps.user_metadata,
    ));
    for (what, opts, supported) in attempts {
        let kinds: &[ErrorKind] = if supported {
            &[ErrorKind::InvalidInput]
        } else {
            &[ErrorKind::InvalidInput, unsupported()]
        };
        store
            .put(&k, Body::from("x"), opts)
            .await
            .expect_one_of(format!("put with a line break in {what}"), kinds)?;
    }
    expect_absent(&store, &k, "puts with line breaks in header values").await
}

/// Every write gives a new etag, even when the bytes are identical, so
/// `IfMatch` can tell writes apart. Where etags are content hashes
/// (`etag_per_write` is false), every write of different bytes does.
pub async fn metadata_etag_changes_on_overwrite(store: Store) -> Outcome {
    let k = key("etag.txt")?;
    let per_write = store.capabilities().etag_per_write;
    let mut seen = Vec::new();
    for round in 0..3 {
        let bytes = if per_write {
            "same bytes".to_string()
        } else {
            format!("bytes of round {round}")
        };
        let meta = put_plain(&store, &k, bytes).await?;
        ensure(!meta.etag.is_empty(), || {
            "etag: expected a non-empty etag, saw \"\"".into()
        })?;
        ensure(!seen.contains(&meta.etag), || {
            format!(
                "etag after rewriting: expected a new etag, saw {:?} again (earlier: {seen:?})",
                meta.etag
            )
        })?;
        expect_eq(
            "etag from head after the write",
            &meta.etag,
            &head(&store, &k).await?.etag,
        )?;
        seen.push(meta.etag);
    }
    Ok(())
}
