//! `POST /delete` (batch) and presigned `DELETE /?pathname=`.

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;
use serde::Deserialize;

use crate::auth::{self, Credential};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::write::etags_match;

#[derive(Deserialize)]
struct DeleteRequest {
    urls: Vec<String>,
}

async fn delete_one(state: &AppState, pathname: &str, if_match: Option<&str>) -> ApiResult<()> {
    state
        .storage
        .delete(pathname, |existing| match (if_match, existing) {
            (None, _) => Ok(()),
            (Some(wanted), Some(meta)) if etags_match(&meta.etag, wanted) => Ok(()),
            (Some(_), _) => Err(ApiError::precondition_failed()),
        })
        .await
}

pub(super) async fn delete(
    state: &AppState,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let credential = auth::authenticate(state, headers, query, None)?;
    auth::require_read_write(&credential)?;
    let request: DeleteRequest = super::read_json(body).await?;
    let if_match = headers.get("x-if-match").and_then(|v| v.to_str().ok());
    if if_match.is_some() && request.urls.len() > 1 {
        return Err(ApiError::bad_request(
            "ifMatch can only be used when deleting a single URL.",
        ));
    }
    let pathnames = request
        .urls
        .iter()
        .map(|u| crate::pathname::resolve(u))
        .collect::<ApiResult<Vec<_>>>()?;
    for pathname in pathnames {
        delete_one(state, &pathname, if_match).await?;
    }
    Ok(super::json(&serde_json::json!({})))
}

pub(super) async fn presigned_delete(
    state: &AppState,
    query: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let pathname = super::pathname_param(query)?;
    let credential = auth::authenticate(state, headers, query, Some(("delete", &pathname)))?;
    let if_match = match &credential {
        Credential::Presigned(grant) => grant.if_match.clone(),
        Credential::ReadWrite => headers
            .get("x-if-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        Credential::Client(_) => return Err(ApiError::client_token_not_allowed()),
    };
    delete_one(state, &pathname, if_match.as_deref()).await?;
    Ok(super::json(&serde_json::json!({})))
}
