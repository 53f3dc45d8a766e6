//! Store calls the behaviours repeat, each turning a surprise into a
//! [`Failure`] that names the call.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use storage_core::{
    BlobKey, BlobMeta, BlobStore, Body, ErrorKind, GetOptions, ListEntry, ListOptions, PutOptions,
};

use crate::failure::{ensure, expect_eq, Check, Failure, Outcome};

/// The store type every behaviour receives.
pub(crate) type Store = Arc<dyn BlobStore>;

/// A page walk that has not ended after this many pages is a cursor loop.
const MAX_PAGES: usize = 10_000;

/// Parses a key the testkit itself chose; failing here is a testkit bug or a
/// key rule change, and the message says which key.
#[track_caller]
pub(crate) fn key(key: &str) -> Result<BlobKey, Failure> {
    BlobKey::new(key).check(format!("BlobKey::new({key:?})"))
}

/// Stores `bytes` under `key`.
pub(crate) async fn put(
    store: &Store,
    key: &BlobKey,
    bytes: impl Into<Bytes>,
    opts: PutOptions,
) -> Result<BlobMeta, Failure> {
    store
        .put(key, Body::from(bytes.into()), opts)
        .await
        .check(format!("put {key:?}"))
}

/// Stores `bytes` under `key` with default options.
pub(crate) async fn put_plain(
    store: &Store,
    key: &BlobKey,
    bytes: impl Into<Bytes>,
) -> Result<BlobMeta, Failure> {
    put(store, key, bytes, PutOptions::new()).await
}

/// Reads a whole blob: its meta and bytes.
pub(crate) async fn get(store: &Store, key: &BlobKey) -> Result<(BlobMeta, Bytes), Failure> {
    let blob = store
        .get(key, GetOptions::new())
        .await
        .check(format!("get {key:?}"))?;
    let meta = blob.meta.clone();
    let bytes = blob
        .bytes()
        .await
        .check(format!("reading the body of {key:?}"))?;
    Ok((meta, bytes))
}

/// Reads a blob's meta.
pub(crate) async fn head(store: &Store, key: &BlobKey) -> Result<BlobMeta, Failure> {
    store.head(key).await.check(format!("head {key:?}"))
}

/// Checks that `key` holds exactly `bytes`.
pub(crate) async fn expect_bytes(store: &Store, key: &BlobKey, bytes: &[u8]) -> Outcome {
    let (_, seen) = get(store, key).await?;
    expect_eq(format!("bytes of {key:?}"), bytes, &seen[..])
}

/// Checks that nothing is stored under `key`: `head` and `get` say
/// `NotFound` and no listing shows it.
pub(crate) async fn expect_absent(store: &Store, key: &BlobKey, why: &str) -> Outcome {
    store
        .head(key)
        .await
        .expect_kind(format!("head {key:?} ({why})"), ErrorKind::NotFound)?;
    store
        .get(key, GetOptions::new())
        .await
        .expect_kind(format!("get {key:?} ({why})"), ErrorKind::NotFound)?;
    let (entries, _) = list_all(store, ListOptions::new().prefix(key.as_str())).await?;
    ensure(!entries.iter().any(|e| &e.key == key), || {
        format!("list after {why}: expected no entry {key:?}, saw one")
    })
}

/// Checks that the store lists no blob at all.
pub(crate) async fn expect_empty(store: &Store, why: &str) -> Outcome {
    let (entries, folders) = list_all(store, ListOptions::new()).await?;
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    expect_eq(
        format!("listing after {why}"),
        (Vec::<&str>::new(), Vec::<String>::new()),
        (keys, folders),
    )
}

/// Follows cursors until the listing ends, checking every page respects the
/// page size and that the walk terminates.
pub(crate) async fn list_all(
    store: &Store,
    opts: ListOptions,
) -> Result<(Vec<ListEntry>, Vec<String>), Failure> {
    let limit = opts.page_size();
    let mut opts = opts;
    let mut entries = Vec::new();
    let mut folders = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = store
            .list(opts.clone())
            .await
            .check(format!("list {opts:?}"))?;
        ensure(page.entries.len() + page.folders.len() <= limit, || {
            format!(
                "list {opts:?}: expected at most {limit} names on a page, saw {} entries and {} folders",
                page.entries.len(),
                page.folders.len()
            )
        })?;
        entries.extend(page.entries);
        folders.extend(page.folders);
        match page.cursor {
            Some(cursor) => {
                ensure(opts.cursor.as_deref() != Some(cursor.as_str()), || {
                    format!("list {opts:?}: the next cursor equals the one passed in (a loop)")
                })?;
                opts = opts.cursor(cursor);
            }
            None => return Ok((entries, folders)),
        }
    }
    Err(Failure::new(format!(
        "list {opts:?}: still returning cursors after {MAX_PAGES} pages"
    )))
}

/// The keys of a full listing, in the order the store returned them.
pub(crate) async fn list_keys(store: &Store, opts: ListOptions) -> Result<Vec<String>, Failure> {
    let (entries, _) = list_all(store, opts).await?;
    Ok(entries.into_iter().map(|e| e.key.into_string()).collect())
}

/// Streams a download without holding it, returning its length and SHA-256.
pub(crate) async fn digest_download(
    store: &Store,
    key: &BlobKey,
    opts: GetOptions,
) -> Result<(u64, String), Failure> {
    use sha2::{Digest, Sha256};
    let blob = store.get(key, opts).await.check(format!("get {key:?}"))?;
    let mut stream = blob.into_stream();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.check(format!("reading the body of {key:?}"))?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((len, hex::encode(hasher.finalize())))
}

/// Checks the fields every provider must report identically for one blob.
pub(crate) fn expect_same_meta(what: &str, expected: &BlobMeta, seen: &BlobMeta) -> Outcome {
    expect_eq(format!("{what}: key"), &expected.key, &seen.key)?;
    expect_eq(format!("{what}: size"), expected.size, seen.size)?;
    expect_eq(format!("{what}: etag"), &expected.etag, &seen.etag)?;
    expect_eq(
        format!("{what}: content_type"),
        &expected.content_type,
        &seen.content_type,
    )?;
    expect_eq(
        format!("{what}: cache_control"),
        &expected.cache_control,
        &seen.cache_control,
    )?;
    expect_eq(
        format!("{what}: content_disposition"),
        &expected.content_disposition,
        &seen.content_disposition,
    )?;
    expect_eq(
        format!("{what}: user metadata"),
        &expected.metadata,
        &seen.metadata,
    )
}
