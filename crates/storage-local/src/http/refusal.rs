//! Error responses: a status and `{"error": "<short reason>"}`, never an
//! internal detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use storage_core::{Error, ErrorKind};

use crate::sign::Refusal;

pub(crate) fn json(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}

pub(crate) fn refused(refusal: Refusal) -> Response {
    json(StatusCode::FORBIDDEN, refusal.reason())
}

/// Maps a store error to a response; unexpected ones are logged (errors
/// carry no secrets) and answered without detail.
pub(crate) fn from_error(err: &Error) -> Response {
    match err.kind() {
        ErrorKind::NotFound => json(StatusCode::NOT_FOUND, "blob not found"),
        ErrorKind::TooLarge => json(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload is larger than allowed",
        ),
        ErrorKind::InvalidKey => json(StatusCode::BAD_REQUEST, "invalid key"),
        ErrorKind::InvalidInput | ErrorKind::Transport => json(
            StatusCode::BAD_REQUEST,
            "request body was incomplete or malformed",
        ),
        ErrorKind::Unsupported { .. } | ErrorKind::AlreadyExists => json(
            StatusCode::CONFLICT,
            "the key conflicts with an existing blob or folder",
        ),
        _ => {
            tracing::error!(error = %err, "local blob router failed");
            json(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
