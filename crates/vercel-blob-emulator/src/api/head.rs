//! `GET /?url=`: a blob's metadata.

use axum::response::Response;
use http::HeaderMap;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::write::{cache_control, put_result};

pub(super) async fn head(
    state: &AppState,
    query: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let credential = auth::authenticate(state, headers, query, None)?;
    auth::require_read_write(&credential)?;
    let url = query.get("url").unwrap_or_default();
    let pathname = crate::pathname::resolve(url)?;
    let (meta, _) = state
        .storage
        .get(&pathname)
        .await
        .ok_or_else(ApiError::not_found)?;
    let mut result = put_result(state, &meta);
    if let Some(obj) = result.as_object_mut() {
        obj.insert("size".into(), meta.size.into());
        obj.insert(
            "uploadedAt".into(),
            humantime::format_rfc3339_millis(meta.uploaded_at())
                .to_string()
                .into(),
        );
        obj.insert("cacheControl".into(), cache_control(&meta).into());
    }
    Ok(super::json(&result))
}
