//! The Blob API (what `VERCEL_BLOB_API_URL` points at).

mod copy;
mod delete;
mod head;
mod list;
mod put;
mod signed_token;

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderMap, Method};

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;

/// Largest JSON body (delete lists, part lists, signed-token requests).
const MAX_JSON_BODY: usize = 4 * 1024 * 1024;

/// Routes one API request; `path` is already stripped of any `/api/blob` prefix.
pub async fn handle(
    state: Arc<AppState>,
    method: Method,
    path: &str,
    query: Query,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    // Every SDK call states its version; a malformed one is refused on any
    // route, not only where the version changes a default.
    crate::api_version::ApiVersion::of(&headers)?;
    let path = path.trim_end_matches('/');
    match (path, &method) {
        ("", &Method::GET) if query.get("url").is_some() => {
            head::head(&state, &query, &headers).await
        }
        ("", &Method::GET) => list::list(&state, &query, &headers).await,
        ("", &Method::PUT) if query.get("fromUrl").is_some() => {
            copy::copy(&state, &query, &headers, false).await
        }
        ("", &Method::PUT) => put::put(&state, &query, &headers, body).await,
        ("", &Method::DELETE) => delete::presigned_delete(&state, &query, &headers).await,
        ("/delete", &Method::POST) => delete::delete(&state, &query, &headers, body).await,
        ("/rename", &Method::POST) => copy::copy(&state, &query, &headers, true).await,
        ("/mpu", &Method::POST) => crate::multipart::handle(&state, &query, &headers, body).await,
        ("/signed-token", &Method::POST) => {
            signed_token::signed_token(&state, &query, &headers, body).await
        }
        ("/put-optimized", &Method::POST) => Err(ApiError::bad_request(
            "Image optimization is not supported by the emulator",
        )),
        ("" | "/delete" | "/rename" | "/mpu" | "/signed-token" | "/put-optimized", _) => {
            Err(ApiError::method_not_allowed())
        }
        _ => Err(ApiError {
            status: http::StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("Unknown API route {path}"),
        }),
    }
}

/// A 200 JSON response.
pub fn json(value: &serde_json::Value) -> Response {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Reads a small JSON body.
pub async fn read_json<T: serde::de::DeserializeOwned>(body: Body) -> ApiResult<T> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("failed to read body: {e}")))?;
        if buf.len() + chunk.len() > MAX_JSON_BODY {
            return Err(ApiError::bad_request("JSON body too large"));
        }
        buf.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&buf)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// The required `pathname` query parameter, validated.
pub fn pathname_param(query: &Query) -> ApiResult<String> {
    let pathname = query
        .get("pathname")
        .ok_or_else(|| ApiError::bad_request("pathname is required"))?;
    crate::pathname::validate(pathname)?;
    Ok(pathname.to_owned())
}
