//! `DELETE` on a signed URL.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use storage_core::{BlobStore, SignMethod};

use super::refusal::from_error;
use super::Shared;

pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let key = match shared.authorize(SignMethod::Delete, key, query.as_deref()) {
        Ok((_, key)) => key,
        Err(denied) => return denied.into_response(),
    };
    match shared.store.delete(&key).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_error(&e),
    }
}
