//! `PUT /?pathname=`: upload a blob in one request.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::write::{self, put_result};

pub(super) async fn put(
    state: &Arc<AppState>,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let pathname = super::pathname_param(query)?;
    let credential = auth::authenticate(state, headers, query, Some(("put", &pathname)))?;
    let opts = write::options(state, headers, &credential, &pathname)?;
    let target = opts.final_pathname(&pathname);
    // Refuse before receiving a body that could never be stored.
    opts.check_declared_length(headers)?;
    let existing = state.storage.get(&target).await.map(|(m, _)| m);
    opts.check_existing(existing.as_ref())?;
    let staged = state
        .storage
        .stage(
            body.into_data_stream(),
            opts.size_limit,
            ApiError::too_large(opts.size_limit),
        )
        .await?;
    let meta = state
        .storage
        .commit(opts.meta(&target), staged, |existing| {
            opts.check_existing(existing)
        })
        .await?;
    let result = put_result(state, &meta);
    write::after_write(state, &opts, &result);
    Ok(super::json(&result))
}
