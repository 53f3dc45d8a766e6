//! `POST /mpu` with `x-mpu-action: create | upload | complete`.
//!
//! Parts are staged like single-request bodies and concatenated in part
//! number order on completion; only then does the blob become visible.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;
use serde::Deserialize;

use crate::api::{json, pathname_param, read_json};
use crate::auth::{self, Credential};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::storage::Staged;
use crate::write::{self, etags_match, put_result, WriteOptions};

/// Every part but the last must be at least this large.
pub const MINIMUM_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Highest part number accepted.
pub const MAXIMUM_PART_NUMBER: u32 = 10_000;

/// One multipart upload in progress.
#[derive(Debug)]
pub struct Upload {
    key: String,
    requested: String,
    opts: WriteOptions,
    parts: BTreeMap<u32, Arc<Staged>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletedPart {
    part_number: u32,
    etag: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Dispatches on `x-mpu-action`.
pub async fn handle(
    state: &Arc<AppState>,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let pathname = pathname_param(query)?;
    let credential = auth::authenticate(state, headers, query, Some(("put", &pathname)))?;
    let opts = write::options(state, headers, &credential, &pathname)?;
    match header(headers, "x-mpu-action") {
        Some("create") => create(state, pathname, opts).await,
        Some("upload") => upload(state, headers, &pathname, opts, body).await,
        Some("complete") => complete(state, headers, &pathname, &credential, body).await,
        _ => Err(ApiError::bad_request(
            "x-mpu-action must be create, upload or complete",
        )),
    }
}

fn lock(state: &AppState) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Upload>> {
    // A poisoned lock only means another request panicked mid-update; the
    // map itself is still usable.
    state
        .uploads
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn create(state: &AppState, requested: String, opts: WriteOptions) -> ApiResult<Response> {
    let key = opts.final_pathname(&requested);
    let existing = state.storage.get(&key).await.map(|(m, _)| m);
    opts.check_existing(existing.as_ref())?;
    let upload_id = format!("{:016x}{:08x}", fastrand::u64(..), fastrand::u32(..));
    lock(state).insert(
        upload_id.clone(),
        Upload {
            key: key.clone(),
            requested,
            opts,
            parts: BTreeMap::new(),
        },
    );
    Ok(json(
        &serde_json::json!({ "key": key, "uploadId": upload_id }),
    ))
}

fn upload_ref(headers: &HeaderMap) -> ApiResult<(String, String)> {
    let upload_id = header(headers, "x-mpu-upload-id")
        .ok_or_else(|| ApiError::bad_request("x-mpu-upload-id is required"))?
        .to_owned();
    let key = crate::pathname::decode(
        header(headers, "x-mpu-key")
            .ok_or_else(|| ApiError::bad_request("x-mpu-key is required"))?,
    )?;
    Ok((upload_id, key))
}

fn check_upload(state: &AppState, upload_id: &str, key: &str, requested: &str) -> ApiResult<()> {
    let uploads = lock(state);
    match uploads.get(upload_id) {
        Some(u) if u.key == key && u.requested == requested => Ok(()),
        _ => Err(ApiError::not_found()),
    }
}

async fn upload(
    state: &AppState,
    headers: &HeaderMap,
    requested: &str,
    opts: WriteOptions,
    body: Body,
) -> ApiResult<Response> {
    let (upload_id, key) = upload_ref(headers)?;
    let part_number: u32 = header(headers, "x-mpu-part-number")
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=MAXIMUM_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "x-mpu-part-number must be between 1 and {MAXIMUM_PART_NUMBER}"
            ))
        })?;
    check_upload(state, &upload_id, &key, requested)?;
    opts.check_declared_length(headers)?;
    let staged = state
        .storage
        .stage(
            body.into_data_stream(),
            opts.size_limit,
            ApiError::too_large(opts.size_limit),
        )
        .await?;
    let etag = staged.etag.clone();
    let mut uploads = lock(state);
    let upload = uploads
        .get_mut(&upload_id)
        .ok_or_else(ApiError::not_found)?;
    upload.parts.insert(part_number, Arc::new(staged));
    Ok(json(&serde_json::json!({ "etag": etag })))
}

async fn complete(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    requested: &str,
    credential: &Credential,
    body: Body,
) -> ApiResult<Response> {
    let (upload_id, key) = upload_ref(headers)?;
    check_upload(state, &upload_id, &key, requested)?;
    let mut listed: Vec<CompletedPart> = read_json(body).await?;
    if listed.is_empty() {
        return Err(ApiError::bad_request("at least one part is required"));
    }
    listed.sort_by_key(|p| p.part_number);
    let (parts, opts) = {
        let uploads = lock(state);
        let upload = uploads.get(&upload_id).ok_or_else(ApiError::not_found)?;
        let mut parts = Vec::with_capacity(listed.len());
        for (i, wanted) in listed.iter().enumerate() {
            if i > 0 && listed[i - 1].part_number == wanted.part_number {
                return Err(ApiError::bad_request(format!(
                    "part {} is listed twice",
                    wanted.part_number
                )));
            }
            let part = upload
                .parts
                .get(&wanted.part_number)
                .filter(|p| etags_match(&p.etag, &wanted.etag))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "part {} was not uploaded or its etag does not match",
                        wanted.part_number
                    ))
                })?;
            if i + 1 < listed.len() && part.size < MINIMUM_PART_SIZE {
                return Err(ApiError::bad_request(format!(
                    "part {} is smaller than the minimum part size of {MINIMUM_PART_SIZE} bytes; only the last part may be smaller",
                    wanted.part_number
                )));
            }
            parts.push(Arc::clone(part));
        }
        (parts, upload.opts.clone())
    };
    let total: u64 = parts.iter().map(|p| p.size).sum();
    if !matches!(credential, Credential::ReadWrite) && total > opts.size_limit {
        return Err(ApiError::too_large(opts.size_limit));
    }
    let staged = state.storage.concat(&parts).await?;
    let meta = state
        .storage
        .commit(opts.meta(&key), staged, |existing| {
            opts.check_existing(existing)
        })
        .await?;
    lock(state).remove(&upload_id);
    let result = put_result(state, &meta);
    write::after_write(state, &opts, &result);
    Ok(json(&result))
}
