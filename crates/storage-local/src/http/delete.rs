//! `DELETE` on a signed URL.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use storage_core::{BlobKey, BlobStore, SignMethod};

use super::refusal::{from_error, refused};
use super::Shared;

pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let verified = shared.store.signer().verify(
        SignMethod::Delete,
        &key,
        query.as_deref().unwrap_or(""),
        SystemTime::now(),
    );
    if let Err(refusal) = verified {
        return refused(refusal);
    }
    let result = match BlobKey::new(key) {
        Ok(key) => shared.store.delete(&key).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_error(&e),
    }
}
