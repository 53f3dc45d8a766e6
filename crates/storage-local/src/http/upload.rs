//! `PUT` on a signed URL: the body streams to the store, bounded as signed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use storage_core::{BlobStore, Error, ErrorKind, PutOptions, SignMethod};

use super::refusal::{from_error, json};
use super::Shared;

pub(super) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (grant, key) = match shared.authorize(SignMethod::Put, key, query.as_deref()) {
        Ok(authorized) => authorized,
        Err(denied) => return denied.into_response(),
    };
    let sent_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(required) = &grant.content_type {
        if sent_type.map(essence) != Some(essence(required)) {
            return json(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content type not allowed by this signed URL",
            );
        }
    }
    let limit = match (grant.max_size, shared.max_upload_bytes) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let (Some(limit), Some(len)) = (limit, declared) {
        if len > limit {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload is larger than allowed",
            );
        }
    }
    let mut seen = 0u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| {
            Error::without_provider(ErrorKind::Transport)
                .with_message("the upload connection broke")
                .with_source(e)
        })?;
        seen += chunk.len() as u64;
        match limit {
            Some(limit) if seen > limit => Err(Error::without_provider(ErrorKind::TooLarge)
                .with_message(format!("the upload passed the {limit}-byte limit"))),
            _ => Ok(chunk),
        }
    });
    let mut opts = PutOptions::new();
    opts.content_type = sent_type.map(str::to_string).or(grant.content_type.clone());
    if opts.validate().is_err() {
        return json(StatusCode::BAD_REQUEST, "invalid content type");
    }
    let body = storage_core::Body::from_stream(stream, declared);
    match shared.store.put(&key, body, opts).await {
        Ok(meta) => (
            StatusCode::CREATED,
            [(header::ETAG, meta.etag.clone())],
            Json(serde_json::json!({
                "key": meta.key.as_str(),
                "size": meta.size,
                "etag": meta.etag,
                "content_type": meta.content_type,
            })),
        )
            .into_response(),
        Err(e) => from_error(&e),
    }
}

/// `type/subtype` without parameters, lowercased.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}
