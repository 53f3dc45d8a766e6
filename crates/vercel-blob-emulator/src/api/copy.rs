//! `PUT /?pathname=&fromUrl=` (copy) and `POST /rename?pathname=&fromUrl=`.

use std::sync::Arc;

use axum::response::Response;
use http::HeaderMap;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::write::{self, put_result};

pub(super) async fn copy(
    state: &Arc<AppState>,
    query: &Query,
    headers: &HeaderMap,
    rename: bool,
) -> ApiResult<Response> {
    let credential = auth::authenticate(state, headers, query, None)?;
    auth::require_read_write(&credential)?;
    let pathname = super::pathname_param(query)?;
    let from = crate::pathname::resolve(
        query
            .get("fromUrl")
            .ok_or_else(|| ApiError::bad_request("fromUrl is required"))?,
    )?;
    let (source, _) = state
        .storage
        .get(&from)
        .await
        .ok_or_else(ApiError::not_found)?;
    let mut opts = write::options(state, headers, &credential, &pathname)?;
    // What the request does not restate is kept from the source blob.
    if opts.content_type.is_none() {
        opts.content_type = Some(source.content_type.clone());
    }
    if headers.get("x-cache-control-max-age").is_none() {
        opts.cache_control_max_age = source.cache_control_max_age;
    }
    if headers.get("x-vercel-blob-access").is_none() {
        opts.access = source.access;
    }
    let target = opts.final_pathname(&pathname);
    let meta = state
        .storage
        .copy(&from, opts.meta(&target), rename, |existing| {
            if rename && target == from {
                return Ok(());
            }
            opts.check_existing(existing)
        })
        .await?;
    Ok(super::json(&put_result(state, &meta)))
}
