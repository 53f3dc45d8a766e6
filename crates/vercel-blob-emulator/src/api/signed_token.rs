//! `POST /signed-token`: issue a delegation for presigned URLs.

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::presign::{self, SignedTokenRequest};
use crate::query::Query;
use crate::state::AppState;

pub(super) async fn signed_token(
    state: &AppState,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let credential = auth::authenticate(state, headers, query, None)?;
    auth::require_read_write(&credential)?;
    let request: SignedTokenRequest = super::read_json(body).await?;
    let token = presign::issue(&state.token, &state.store_id, request)?;
    let value = serde_json::to_value(token).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(super::json(&value))
}
