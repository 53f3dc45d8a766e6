//! `GET` and `HEAD` on a signed URL.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use storage_core::{BlobKey, BlobMeta, BlobStore, ErrorKind, GetOptions, SignMethod};

use super::refusal::{from_error, json};
use super::{range, Shared};

pub(super) async fn download(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (grant, key) = match shared.authorize(SignMethod::Get, key, query.as_deref()) {
        Ok(authorized) => authorized,
        Err(denied) => return denied.into_response(),
    };
    let requested = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(range::parse);
    let mut opts = GetOptions::new();
    opts.range = requested;
    let blob = match shared.store.get(&key, opts).await {
        Ok(blob) => blob,
        Err(e) if requested.is_some() && e.kind() == &ErrorKind::InvalidInput => {
            return unsatisfiable(&shared, &key).await;
        }
        Err(e) => return from_error(&e),
    };
    let meta = blob.meta.clone();
    let mut out = HeaderMap::new();
    set(&mut out, header::ETAG, &meta.etag);
    set(
        &mut out,
        header::LAST_MODIFIED,
        &httpdate::fmt_http_date(meta.last_modified),
    );
    if if_none_match(&headers, &meta) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    let content_type = grant.content_type.as_deref().unwrap_or(&meta.content_type);
    set(&mut out, header::CONTENT_TYPE, content_type);
    if let Some(cc) = &meta.cache_control {
        set(&mut out, header::CACHE_CONTROL, cc);
    }
    let disposition = grant
        .content_disposition
        .as_deref()
        .or(meta.content_disposition.as_deref());
    if let Some(cd) = disposition {
        set(&mut out, header::CONTENT_DISPOSITION, cd);
    }
    set(&mut out, header::ACCEPT_RANGES, "bytes");
    let span = blob.range.clone();
    set(
        &mut out,
        header::CONTENT_LENGTH,
        &(span.end - span.start).to_string(),
    );
    let status = if requested.is_some() {
        let last = span.end.saturating_sub(1);
        let value = format!("bytes {}-{last}/{}", span.start, meta.size);
        set(&mut out, header::CONTENT_RANGE, &value);
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(blob.into_stream())
    };
    (status, out, body).into_response()
}

async fn unsatisfiable(shared: &Shared, key: &BlobKey) -> Response {
    let size = match shared.store.head(key).await {
        Ok(meta) => meta.size,
        Err(e) => return from_error(&e),
    };
    let mut response = json(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
    set(
        response.headers_mut(),
        header::CONTENT_RANGE,
        &format!("bytes */{size}"),
    );
    response
}

/// Whether `If-None-Match` names the blob's current etag (or `*`).
fn if_none_match(headers: &HeaderMap, meta: &BlobMeta) -> bool {
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || strip(tag) == strip(&meta.etag))
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    // Every value here passed PutOptions/SignOptions validation (printable
    // ASCII) or is generated, so conversion cannot fail in practice.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}
