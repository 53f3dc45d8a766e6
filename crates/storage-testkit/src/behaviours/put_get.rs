//! Writing and reading whole blobs: bytes, streamed bodies, all-or-nothing
//! writes and the meta that `put`, `head` and `get` must agree on.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream;
use storage_core::{Body, Error, ErrorKind, GetOptions, PutOptions};

use crate::failure::{ensure, expect_eq, Check, Outcome};
use crate::support::{
    expect_absent, expect_bytes, expect_same_meta, get, head, key, put_plain, Store,
};

/// Bytes written come back byte for byte, with the size `put` reported.
pub async fn put_get_roundtrip(store: Store) -> Outcome {
    let k = key("roundtrip/hello.txt")?;
    let meta = put_plain(&store, &k, "hello, world").await?;
    expect_eq("size reported by put", 12, meta.size)?;
    expect_eq("key reported by put", &k, &meta.key)?;
    expect_bytes(&store, &k, b"hello, world").await
}

/// Every byte value (NUL, CR, LF, 0xFF …) survives unchanged.
pub async fn put_get_binary_bytes_exact(store: Store) -> Outcome {
    let k = key("binary.bin")?;
    let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    put_plain(&store, &k, data.clone()).await?;
    expect_bytes(&store, &k, &data).await
}

/// A zero-byte blob exists, has size 0 and reads back empty.
pub async fn put_get_empty_blob(store: Store) -> Outcome {
    let k = key("empty")?;
    let meta = store
        .put(&k, Body::empty(), PutOptions::new())
        .await
        .check("put of an empty body")?;
    expect_eq("size of an empty blob from put", 0, meta.size)?;
    expect_eq(
        "size of an empty blob from head",
        0,
        head(&store, &k).await?.size,
    )?;
    expect_bytes(&store, &k, b"").await
}

/// A second `put` with default options replaces the first.
pub async fn put_get_overwrite_by_default(store: Store) -> Outcome {
    let k = key("overwrite.txt")?;
    put_plain(&store, &k, "first version").await?;
    let second = put_plain(&store, &k, "second").await?;
    expect_eq("size after overwrite", 6, second.size)?;
    expect_eq("head size after overwrite", 6, head(&store, &k).await?.size)?;
    expect_bytes(&store, &k, b"second").await
}

/// `put` returns the meta that `head` then reports.
pub async fn put_get_put_meta_equals_head(store: Store) -> Outcome {
    let k = key("meta/put-equals-head.json")?;
    let caps = store.capabilities();
    let mut opts = PutOptions::new().content_type("application/json");
    if caps.cache_control {
        opts = opts.cache_control("no-cache");
    }
    if caps.content_disposition {
        opts = opts.content_disposition("inline");
    }
    if caps.user_metadata {
        opts = opts.metadata("origin", "testkit");
    }
    let put = store
        .put(&k, Body::from("{}"), opts)
        .await
        .check("put with options")?;
    expect_same_meta("head compared with put", &put, &head(&store, &k).await?)
}

/// `get` reports the same meta as `head`.
pub async fn put_get_get_meta_equals_head(store: Store) -> Outcome {
    let k = key("meta/get-equals-head.txt")?;
    put_plain(&store, &k, "some text").await?;
    let (got, _) = get(&store, &k).await?;
    expect_same_meta("get compared with head", &head(&store, &k).await?, &got)
}

/// Reading a key nothing was written to is `NotFound`.
pub async fn put_get_get_missing_is_not_found(store: Store) -> Outcome {
    let k = key("never/written.txt")?;
    let err = store
        .get(&k, GetOptions::new())
        .await
        .expect_kind("get of a missing key", ErrorKind::NotFound)?;
    expect_eq(
        "provider on the NotFound error",
        Some(store.provider()),
        err.provider(),
    )
}

/// `head` of a key nothing was written to is `NotFound`.
pub async fn put_get_head_missing_is_not_found(store: Store) -> Outcome {
    let k = key("never/written.txt")?;
    store
        .head(&k)
        .await
        .expect_kind("head of a missing key", ErrorKind::NotFound)
        .map(drop)
}

fn small_chunks(count: usize) -> (Vec<u8>, Vec<storage_core::Result<Bytes>>) {
    let mut all = Vec::new();
    let chunks = (0..count)
        .map(|i| {
            let chunk: Vec<u8> = (0..(i % 7 + 1)).map(|j| (i * 31 + j) as u8).collect();
            all.extend_from_slice(&chunk);
            Ok(Bytes::from(chunk))
        })
        .collect();
    (all, chunks)
}

/// A stream of many small chunks with no declared length is stored whole.
pub async fn put_get_streamed_unknown_length(store: Store) -> Outcome {
    let k = key("stream/unknown-length.bin")?;
    let (all, chunks) = small_chunks(500);
    let body = Body::from_stream(stream::iter(chunks), None);
    let meta = store
        .put(&k, body, PutOptions::new())
        .await
        .check("put of a stream with unknown length")?;
    expect_eq("size reported by put", all.len() as u64, meta.size)?;
    expect_bytes(&store, &k, &all).await
}

/// A stream with a correct declared length is stored whole.
pub async fn put_get_streamed_known_length(store: Store) -> Outcome {
    let k = key("stream/known-length.bin")?;
    let (all, chunks) = small_chunks(300);
    let body = Body::from_stream(stream::iter(chunks), Some(all.len() as u64));
    store
        .put(&k, body, PutOptions::new())
        .await
        .check("put of a stream with a declared length")?;
    expect_bytes(&store, &k, &all).await
}

fn failing_body() -> Body {
    let good = (0..20).map(|i| Ok(Bytes::from(vec![i as u8; 100])));
    let bad = std::iter::once(Err(Error::without_provider(ErrorKind::Transport)
        .with_message("testkit: the upload body broke half-way")));
    Body::from_stream(stream::iter(good.chain(bad)), None)
}

/// A body that errors half-way fails the `put` and stores nothing.
pub async fn put_get_failing_stream_stores_nothing(store: Store) -> Outcome {
    let k = key("stream/broken.bin")?;
    let result = store.put(&k, failing_body(), PutOptions::new()).await;
    ensure(result.is_err(), || {
        format!("put of a body that fails half-way: expected an error, saw {result:?}")
    })?;
    expect_absent(&store, &k, "a put whose body failed").await
}

/// A body that errors half-way leaves the previous blob intact.
pub async fn put_get_failing_stream_keeps_old_blob(store: Store) -> Outcome {
    let k = key("stream/keep-old.bin")?;
    let before = put_plain(&store, &k, "the old blob").await?;
    let result = store.put(&k, failing_body(), PutOptions::new()).await;
    ensure(result.is_err(), || {
        format!("put of a body that fails half-way: expected an error, saw {result:?}")
    })?;
    let after = head(&store, &k).await?;
    expect_same_meta("meta after a failed overwrite", &before, &after)?;
    expect_bytes(&store, &k, b"the old blob").await
}

/// A body yielding fewer or more bytes than it declared is `InvalidInput`
/// and nothing is stored.
pub async fn put_get_length_mismatch_is_invalid_input(store: Store) -> Outcome {
    let k = key("stream/length-mismatch.bin")?;
    for (declared, parts) in [(10u64, vec!["abc", "def"]), (3, vec!["abc", "def"])] {
        let chunks: Vec<storage_core::Result<Bytes>> =
            parts.into_iter().map(|p| Ok(Bytes::from(p))).collect();
        let body = Body::from_stream(stream::iter(chunks), Some(declared));
        store.put(&k, body, PutOptions::new()).await.expect_kind(
            format!("put of 6 bytes declared as {declared}"),
            ErrorKind::InvalidInput,
        )?;
        expect_absent(&store, &k, "a put whose body lied about its length").await?;
    }
    Ok(())
}

/// `last_modified` is the time of the write, give or take clock skew.
pub async fn put_get_last_modified_is_recent(store: Store) -> Outcome {
    let k = key("clock.txt")?;
    let meta = put_plain(&store, &k, "tick").await?;
    let skew = Duration::from_secs(300);
    let now = SystemTime::now();
    ensure(
        meta.last_modified > now - skew && meta.last_modified < now + skew,
        || {
            format!(
                "last_modified: expected within {skew:?} of {now:?}, saw {:?}",
                meta.last_modified
            )
        },
    )?;
    let listed = crate::support::list_all(&store, storage_core::ListOptions::new()).await?;
    let entry = listed.0.iter().find(|e| e.key == k);
    ensure(
        entry.is_some_and(|e| e.last_modified > now - skew && e.last_modified < now + skew),
        || format!("listed last_modified: expected within {skew:?} of {now:?}, saw {entry:?}"),
    )
}
