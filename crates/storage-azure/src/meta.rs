//! A blob's properties from the headers of a `GET` or `HEAD` answer (uploads
//! build theirs from what they sent, in [`crate::upload`]).
//!
//! Azure returns etags quoted in headers but unquoted in listings; every etag
//! leaving this crate is quoted, so `head`, `list` and `put` agree.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::rest;

/// The prefix of a user metadata header.
const META_PREFIX: &str = "x-ms-meta-";

/// Quotes an etag if Azure returned it bare.
pub(crate) fn normalize_etag(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/\"") {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}

/// The [`BlobMeta`] of `key` as an answer's headers describe it; `size` is
/// the whole blob's (a ranged answer's `Content-Length` is the range's).
pub(crate) fn from_headers(key: BlobKey, headers: &HeaderMap, size: u64) -> Result<BlobMeta> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(etag), Some(modified)) = (rest::etag(headers), rest::last_modified(headers)) else {
        return Err(Error::new(ErrorKind::Backend, Provider::Azure)
            .with_key(key.as_str())
            .with_message("the service's answer lacks the blob's ETag or Last-Modified"));
    };
    let mut meta = BlobMeta::new(
        key,
        size,
        normalize_etag(&etag),
        modified,
        text(CONTENT_TYPE).unwrap_or("application/octet-stream"),
    );
    meta.cache_control = text(CACHE_CONTROL).map(str::to_string);
    meta.content_disposition = text(CONTENT_DISPOSITION).map(str::to_string);
    let mut metadata = BTreeMap::new();
    for (name, value) in headers {
        if let Some(name) = name.as_str().strip_prefix(META_PREFIX) {
            if let Ok(value) = value.to_str() {
                // Header names arrive lowercase, as metadata names are kept here.
                metadata.insert(name.to_string(), value.to_string());
            }
        }
    }
    meta.metadata = metadata;
    Ok(meta)
}

/// The `Content-Length` of an answer.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// `(first, last, total)` of a `Content-Range: bytes first-last/total`.
pub(crate) fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn content_ranges_parse() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 2-9/100"),
        );
        assert_eq!(content_range(&headers), Some((2, 9, 100)));
        headers.insert(
            reqwest::header::CONTENT_RANGE,
            HeaderValue::from_static("bytes */100"),
        );
        assert_eq!(content_range(&headers), None);
    }
}
