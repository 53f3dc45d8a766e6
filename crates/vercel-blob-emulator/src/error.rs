//! The one error type every handler returns, rendered the way the SDK parses it.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An API failure, always answered as `{"error":{"code","message"}}`.
///
/// The SDK decides what to throw from `code` (and sometimes from the text of
/// `message`), never from the status, so both must be exact; a body it cannot
/// parse makes it retry ten times with backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status sent with the error.
    pub status: StatusCode,
    /// Machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// Human-readable message; some SDK error classes are chosen by its text.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 403 `forbidden`; the SDK replaces the message with its own.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Access denied, please provide a valid token for this resource.",
        )
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The requested blob does not exist",
        )
    }

    /// 412 `precondition_failed`.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "ETag mismatch",
        )
    }

    /// 403 `client_token_not_allowed` for operations a browser token may not do.
    pub fn client_token_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "client_token_not_allowed",
            "This operation is not available when using a client token. Use a read-write token on the server.",
        )
    }

    /// 400 with the wording the SDK maps to `BlobFileTooLargeError`.
    pub fn too_large(limit: u64) -> Self {
        Self::bad_request(format!(
            "File is too large, the file length cannot be greater than {limit} bytes"
        ))
    }

    /// 400 with the exact message the SDK maps to `BlobClientTokenExpiredError`.
    pub fn token_expired() -> Self {
        Self::bad_request("Token expired")
    }

    /// 400 with the wording the SDK maps to `BlobContentTypeNotAllowedError`.
    pub fn content_type_not_allowed(content_type: &str) -> Self {
        Self::bad_request(format!("contentType \"{content_type}\" is not allowed"))
    }

    /// 400 with the wording the SDK maps to `BlobPathnameMismatchError`.
    pub fn pathname_mismatch(got: &str) -> Self {
        Self::bad_request(format!(
            "Invalid \"pathname\": \"{got}\" does not match the token payload"
        ))
    }

    /// 405, still as JSON so no client ever sees an unparseable answer.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "bad_request",
            "Method not allowed",
        )
    }

    /// 500 `internal_server_error` (the SDK retries these).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            message,
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        ApiError::internal(format!("storage failure: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Result alias used by every handler.
pub type ApiResult<T> = Result<T, ApiError>;
