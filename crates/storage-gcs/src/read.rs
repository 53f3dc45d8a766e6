//! Property reads (`objects.get`, JSON) and downloads (the XML API's
//! object `GET`, whose answer carries the properties as headers:
//! `x-goog-generation`, `Content-Type`, `Cache-Control`,
//! `Content-Disposition`, `x-goog-meta-*`), one request each, so the bytes
//! and the properties returned are always of one version.
//!
//! `if_match` travels as `x-goog-if-generation-match` and the service
//! answers 412 itself. Both conditions are also checked against the
//! answer's `x-goog-generation`, the version whose bytes are being sent,
//! which is exact (and covers `if_none_match`, for which the XML API has
//! no generation header, and servers that ignore conditions). Ranges are
//! sent as `Range`, suffix ranges included; a range that selects nothing
//! of the blob is decided against its size. The body streams straight
//! from the connection; a break is resumed by the portable layer, pinned
//! to the etag.

use std::collections::BTreeMap;
use std::time::SystemTime;

use futures::{StreamExt, TryStreamExt};
use reqwest::header::{
    HeaderMap, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    LAST_MODIFIED, RANGE,
};
use reqwest::{Method, StatusCode};
use storage_core::{
    Blob, BlobKey, BlobMeta, ByteRange, Error, ErrorKind, GetOptions, Provider, Result,
};

use crate::error::{malformed, request_error, Op};
use crate::object::{generation_of, Object, Urls};
use crate::rest::{header_value, Request, Rest};

/// The properties of `key`.
pub(crate) async fn stat(rest: &Rest, urls: &Urls, key: &BlobKey) -> Result<BlobMeta> {
    let url = urls.object(key)?;
    let answer = rest
        .fetch(Request::new(Method::GET, &url, Op::Read, key.as_str()))
        .await?;
    Object::from_json(&answer.body, Op::Read, key.as_str())?.meta(Op::Read)
}

/// `key`'s bytes as `opts` selects them, streamed.
pub(crate) async fn get(
    rest: &Rest,
    urls: &Urls,
    key: &BlobKey,
    opts: &GetOptions,
) -> Result<Blob> {
    let if_match = match opts.if_match.as_deref() {
        None => None,
        Some(etag) => Some(generation_of(etag).ok_or_else(|| {
            Error::new(ErrorKind::PreconditionFailed, Provider::Gcs)
                .with_key(key.as_str())
                .with_message(format!(
                    "`{etag}` is not an etag of this store (a generation number), so no version matches it"
                ))
        })?),
    };
    let url = urls.xml_object(key)?;
    let mut headers = HeaderMap::new();
    if let Some(range) = &opts.range {
        let value = match range {
            ByteRange::Bounded { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
            ByteRange::From(start) => format!("bytes={start}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        };
        headers.insert(RANGE, header_value(&value)?);
    }
    if let Some(generation) = if_match {
        headers.insert("x-goog-if-generation-match", header_value(generation)?);
    }
    let mut request = Request::new(Method::GET, &url, Op::Read, key.as_str());
    request.headers = headers;
    let response = match rest.open(request).await {
        Ok(response) => response,
        Err(e) if e.kind() == &ErrorKind::InvalidInput && opts.range.is_some() => {
            return unsatisfiable(rest, urls, key, opts, e).await
        }
        Err(e) => return Err(e),
    };
    let headers = response.headers();
    let (range, size) = if response.status() == StatusCode::PARTIAL_CONTENT {
        let Some((first, last, total)) = content_range(headers) else {
            // Some servers answer a range of an empty blob with a bare 206;
            // the blob's size decides what the range means.
            let err = incomplete(key, "Content-Range");
            return unsatisfiable(rest, urls, key, opts, err).await;
        };
        (first..last + 1, total)
    } else {
        let size = number(headers, CONTENT_LENGTH.as_str())
            .ok_or_else(|| incomplete(key, "Content-Length"))?;
        (0..size, size)
    };
    let meta = meta_from_headers(key, headers, size)?;
    check_conditions(opts, &meta)?;
    if let Some(asked) = &opts.range {
        // A server that ignored the range must not hand out other bytes as
        // the ones asked for.
        let want = asked
            .resolve(size)
            .map_err(|e| e.with_provider(Provider::Gcs).with_key(key.as_str()))?;
        if want.start != range.start {
            return Err(malformed(
                Op::Read,
                key.as_str(),
                format!(
                    "asked for bytes from {} but the service sent bytes {}..{}",
                    want.start, range.start, range.end
                ),
            ));
        }
    }
    let owned_key = key.as_str().to_string();
    let stream = response
        .bytes_stream()
        .map_err(move |e| request_error(&e, Op::Read, &owned_key))
        .boxed();
    Ok(Blob::new(meta, range, stream))
}

/// A 416: the range selects nothing of the blob as it is now. That is an
/// empty read where the contract allows one (any range of an empty blob
/// that starts at 0), and `InvalidInput` from the range itself otherwise.
async fn unsatisfiable(
    rest: &Rest,
    urls: &Urls,
    key: &BlobKey,
    opts: &GetOptions,
    err: Error,
) -> Result<Blob> {
    let Some(asked) = &opts.range else {
        return Err(err);
    };
    let meta = stat(rest, urls, key).await?;
    check_conditions(opts, &meta)?;
    let range = asked
        .resolve(meta.size)
        .map_err(|e| e.with_provider(Provider::Gcs).with_key(key.as_str()))?;
    if !range.is_empty() {
        // The blob changed between the two requests; report the first answer.
        return Err(err);
    }
    Ok(Blob::new(meta, range, futures::stream::empty().boxed()))
}

/// The read conditions against the version being sent.
fn check_conditions(opts: &GetOptions, meta: &BlobMeta) -> Result<()> {
    let wanted = opts.if_match.as_deref().and_then(generation_of);
    if opts.if_match.is_some() && wanted != Some(meta.etag.as_str()) {
        return Err(Error::new(ErrorKind::PreconditionFailed, Provider::Gcs)
            .with_key(meta.key.as_str())
            .with_message(format!(
                "the blob's etag is {}, not the one given in if_match",
                meta.etag
            )));
    }
    if let Some(have) = opts.if_none_match.as_deref() {
        if have.trim() == "*" || generation_of(have) == Some(meta.etag.as_str()) {
            return Err(Error::new(ErrorKind::NotModified, Provider::Gcs)
                .with_key(meta.key.as_str())
                .with_message(format!("the blob still has etag {}", meta.etag)));
        }
    }
    Ok(())
}

/// The properties a download's answer carries.
fn meta_from_headers(key: &BlobKey, headers: &HeaderMap, size: u64) -> Result<BlobMeta> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let generation = text("x-goog-generation")
        .filter(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| incomplete(key, "x-goog-generation"))?;
    let last_modified = text(LAST_MODIFIED.as_str())
        .and_then(|v| httpdate::parse_http_date(&v).ok())
        .unwrap_or_else(SystemTime::now);
    let content_type = text(CONTENT_TYPE.as_str())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let mut meta = BlobMeta::new(key.clone(), size, generation, last_modified, content_type);
    meta.cache_control = text(CACHE_CONTROL.as_str()).filter(|v| !v.is_empty());
    meta.content_disposition = text(CONTENT_DISPOSITION.as_str()).filter(|v| !v.is_empty());
    let mut metadata = BTreeMap::new();
    for (name, value) in headers {
        if let Some(field) = name.as_str().strip_prefix("x-goog-meta-") {
            let value = value.to_str().map_err(|_| {
                malformed(
                    Op::Read,
                    key.as_str(),
                    format!("metadata `{field}` is not ASCII"),
                )
            })?;
            metadata.insert(field.to_string(), value.to_string());
        }
    }
    meta.metadata = metadata;
    Ok(meta)
}

/// `Content-Range: bytes first-last/total`.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn incomplete(key: &BlobKey, header: &str) -> Error {
    malformed(
        Op::Read,
        key.as_str(),
        format!("the service's answer lacks a usable {header} header"),
    )
}
