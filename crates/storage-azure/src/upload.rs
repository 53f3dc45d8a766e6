//! Streamed uploads with bounded memory, as the adapter's own requests
//! (see [`crate::rest`]), so every condition reaches the service and the
//! answer alone describes the new blob (no `HEAD` after a write).
//!
//! A body already in memory, up to `part_size * max_concurrency` bytes, is
//! sent as a single Put Blob. Otherwise the body is read until one part is
//! full; a body that fits in one part is sent as a single Put Blob, and a
//! longer body becomes a block upload: parts
//! are staged with Put Block, at most `max_concurrency` at a time (so at
//! most that many parts, plus the one being read, are in memory), and the
//! blob appears only when Put Block List commits them at the end. The write
//! condition (`If-None-Match: *` for `Create`, `If-Match` for `IfMatch`)
//! and the content headers go on the request that makes the blob visible:
//! the Put Blob or the Put Block List. If the body stream fails, or a block
//! cannot be staged, the block list is never sent: readers keep seeing the
//! old blob, or none. Azure drops uncommitted blocks by itself after 7 days.
//!
//! Block ids are the base64 of a fixed-width text: a random id of this
//! upload and a counter. The random part keeps two concurrent uploads of
//! the same key from overwriting each other's uncommitted blocks (which
//! would let one commit the other's bytes).

use std::time::SystemTime;

use bytes::Bytes;
use object_store::path::Path;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use reqwest::Method;
use storage_core::retry::Idempotency;
use storage_core::{BlobKey, BlobMeta, Body, Error, ErrorKind, Provider, PutMode};
use storage_core::{PutOptions, Result};
use storage_object_store::PartReader;
use tokio::task::JoinSet;

use crate::error::{tag, Op};
use crate::meta::normalize_etag;
use crate::rest::{self, header_value, Request, Rest};

/// Tuning of one upload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub part_size: usize,
    pub max_concurrency: usize,
}

/// The write operation `mode` stands for, for error mapping.
fn op_for(mode: &PutMode) -> Op {
    match mode {
        PutMode::Overwrite => Op::Write,
        PutMode::Create => Op::WriteCreate,
        PutMode::IfMatch(_) => Op::WriteIfMatch,
    }
}

/// The URL of `key` in the container at `container`, its segments encoded
/// exactly as object_store encodes them, so blobs written by earlier
/// versions (and by object_store) are found under the same names.
pub(crate) fn blob_url(container: &url::Url, key: &BlobKey) -> Result<url::Url> {
    let path = Path::parse(key.as_str()).map_err(|e| {
        Error::new(ErrorKind::InvalidKey, Provider::Azure)
            .with_key(key.as_str())
            .with_message(e.to_string())
    })?;
    let mut url = container.clone();
    url.path_segments_mut()
        .map_err(|()| no_path())?
        .extend(path.parts());
    Ok(url)
}

/// The URL of `container` under `endpoint`.
pub(crate) fn container_url(endpoint: &str, container: &str) -> Result<url::Url> {
    let mut url = endpoint_url(endpoint)?;
    url.path_segments_mut()
        .map_err(|()| no_path())?
        .pop_if_empty()
        .push(container);
    Ok(url)
}

fn endpoint_url(endpoint: &str) -> Result<url::Url> {
    url::Url::parse(endpoint).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, Provider::Azure)
            .with_message(format!("the endpoint is not a URL: {e}"))
    })
}

fn no_path() -> Error {
    Error::new(ErrorKind::InvalidInput, Provider::Azure)
        .with_message("the endpoint cannot carry a path")
}

/// What a put sends besides its body, and what it reports back.
struct Sent {
    content_type: String,
    headers: HeaderMap,
}

/// The content headers (`x-ms-blob-*`, `x-ms-meta-*`) and the condition.
fn sent_headers(key: &BlobKey, opts: &PutOptions) -> Result<Sent> {
    let mut headers = HeaderMap::new();
    let content_type = opts.content_type_for(key).to_string();
    headers.insert("x-ms-blob-content-type", header_value(&content_type)?);
    if let Some(cc) = &opts.cache_control {
        headers.insert("x-ms-blob-cache-control", header_value(cc)?);
    }
    if let Some(cd) = &opts.content_disposition {
        headers.insert("x-ms-blob-content-disposition", header_value(cd)?);
    }
    for (name, value) in &opts.metadata {
        let name =
            HeaderName::from_bytes(format!("x-ms-meta-{name}").as_bytes()).map_err(|_| {
                Error::new(ErrorKind::InvalidInput, Provider::Azure)
                    .with_message(format!("metadata name `{name}` cannot be sent as a header"))
            })?;
        headers.insert(name, header_value(value)?);
    }
    match &opts.mode {
        PutMode::Overwrite => {}
        PutMode::Create => {
            headers.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        }
        PutMode::IfMatch(etag) => {
            headers.insert(IF_MATCH, header_value(etag)?);
        }
    }
    Ok(Sent {
        content_type,
        headers,
    })
}

/// The new blob's properties: the answer's etag and time, and what was sent
/// (which is what Azure stores and a `HEAD` returns).
fn meta_from(
    key: &BlobKey,
    opts: &PutOptions,
    sent: Sent,
    size: u64,
    answer: &HeaderMap,
) -> BlobMeta {
    let mut meta = BlobMeta::new(
        key.clone(),
        size,
        normalize_etag(&rest::etag(answer).unwrap_or_default()),
        rest::last_modified(answer).unwrap_or_else(SystemTime::now),
        sent.content_type,
    );
    meta.cache_control = opts.cache_control.clone();
    meta.content_disposition = opts.content_disposition.clone();
    meta.metadata = opts.metadata.clone();
    meta
}

/// Uploads `body` as `key` under `url`, all or nothing.
pub(crate) async fn upload(
    rest: &std::sync::Arc<Rest>,
    url: &url::Url,
    key: &BlobKey,
    body: Body,
    opts: &PutOptions,
    tuning: Tuning,
) -> Result<BlobMeta> {
    let op = op_for(&opts.mode);
    let sent = sent_headers(key, opts).map_err(|e| tag(e, key.as_str()))?;
    // A condition makes a replay unsafe: its own first attempt may have
    // created the blob or changed the etag it checks.
    let idempotency = match opts.mode {
        PutMode::Overwrite => Idempotency::Idempotent,
        _ => Idempotency::NotIdempotent,
    };
    // A body already in memory needs no parts to bound memory. Up to as
    // many bytes as a block upload keeps in flight, it goes as one Put
    // Blob: one round trip instead of blocks and a commit, and a blob of
    // one extent, which reads back faster than a block list.
    let whole = body
        .as_bytes()
        .filter(|b| b.len() <= tuning.part_size * tuning.max_concurrency.max(1))
        .cloned();
    if let Some(bytes) = whole {
        return put_blob(rest, url, key, opts, sent, bytes, idempotency).await;
    }
    let mut parts = PartReader::new(body, tuning.part_size);
    let (first, ended) = parts.next().await.map_err(|e| tag(e, key.as_str()))?;
    if ended {
        return put_blob(rest, url, key, opts, sent, first, idempotency).await;
    }

    let upload_id = format!("{:016x}", fastrand::u64(..));
    let mut ids = Vec::new();
    let mut in_flight: JoinSet<Result<()>> = JoinSet::new();
    let mut size = 0u64;
    let mut next = Some(first);
    while let Some(part) = next.take() {
        while in_flight.len() >= tuning.max_concurrency.max(1) {
            joined(in_flight.join_next().await, key)?;
        }
        size += part.len() as u64;
        let id = block_id(&upload_id, ids.len());
        let mut block_url = url.clone();
        block_url
            .query_pairs_mut()
            .append_pair("comp", "block")
            .append_pair("blockid", &id);
        ids.push(id);
        let rest = std::sync::Arc::clone(rest);
        let owned_key = key.as_str().to_string();
        in_flight.spawn(async move {
            rest.send(Request {
                method: Method::PUT,
                url: &block_url,
                headers: HeaderMap::new(),
                body: part,
                // The condition is not on the block, only on the commit.
                op: Op::Write,
                key: &owned_key,
                // Staging a block under its id again only replaces it.
                idempotency: Idempotency::Idempotent,
            })
            .await
            .map(drop)
        });
        if !parts.is_done() {
            // Dropping `in_flight` on an error aborts the staged requests;
            // the block list is never sent.
            let (part, _) = parts.next().await.map_err(|e| tag(e, key.as_str()))?;
            if !part.is_empty() {
                next = Some(part);
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        joined(Some(done), key)?;
    }

    let mut list_url = url.clone();
    list_url.query_pairs_mut().append_pair("comp", "blocklist");
    let answer = rest
        .send(Request {
            method: Method::PUT,
            url: &list_url,
            headers: sent.headers.clone(),
            body: Bytes::from(block_list(&ids)),
            op,
            key: key.as_str(),
            idempotency,
        })
        .await?;
    Ok(meta_from(key, opts, sent, size, &answer))
}

/// The whole body as one Put Blob.
async fn put_blob(
    rest: &Rest,
    url: &url::Url,
    key: &BlobKey,
    opts: &PutOptions,
    sent: Sent,
    body: Bytes,
    idempotency: Idempotency,
) -> Result<BlobMeta> {
    let size = body.len() as u64;
    let mut headers = sent.headers.clone();
    headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
    let answer = rest
        .send(Request {
            method: Method::PUT,
            url,
            headers,
            body,
            op: op_for(&opts.mode),
            key: key.as_str(),
            idempotency,
        })
        .await?;
    Ok(meta_from(key, opts, sent, size, &answer))
}

/// The outcome of one staged block.
fn joined(
    done: Option<std::result::Result<Result<()>, tokio::task::JoinError>>,
    key: &BlobKey,
) -> Result<()> {
    match done {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(Error::new(ErrorKind::Backend, Provider::Azure)
            .with_key(key.as_str())
            .with_message(format!("staging a block stopped: {e}"))),
    }
}

/// Block `n` of upload `upload_id`; every id of a blob has the same length.
fn block_id(upload_id: &str, n: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{upload_id}-{n:08}"))
}

/// The Put Block List body naming `ids` in order.
fn block_list(ids: &[String]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for id in ids {
        // Base64 needs no XML escaping.
        xml.push_str("<Latest>");
        xml.push_str(id);
        xml.push_str("</Latest>");
    }
    xml.push_str("</BlockList>");
    xml
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_have_one_width() {
        let a = block_id("00000000000000ff", 0);
        let b = block_id("00000000000000ff", 12_345);
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b);
        assert!(block_list(std::slice::from_ref(&a)).contains(&format!("<Latest>{a}</Latest>")));
    }
}
