//! Mapping Vercel Blob failures to [`storage_core::Error`].
//!
//! The service answers errors as `{"error":{"code","message"}}` and, like the
//! official SDK, this adapter decides from the code first, then from the
//! message text for the few cases the SDK also sniffs (an existing blob, a
//! body too large, an expired token), and only then from the HTTP status.
//! Server messages are kept in the error (they never contain credentials);
//! transport errors are stripped of their URL.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;
use storage_core::{retry, Error, ErrorKind, Provider};

/// Longest server message kept in an error, so a hostile or broken server
/// cannot flood logs.
const MESSAGE_LIMIT: usize = 300;

#[derive(Deserialize)]
struct Envelope {
    error: Detail,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The error for a non-success answer to `operation`.
pub(crate) fn from_response(
    operation: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let (code, message) = match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => (error.code, error.message),
        Err(_) => (String::new(), String::from_utf8_lossy(body).into_owned()),
    };
    let message: String = message.chars().take(MESSAGE_LIMIT).collect();
    let (kind, hint) = classify(status, &code, &message, headers);
    let mut text = format!("{operation} answered {}", status.as_u16());
    if !code.is_empty() {
        text.push_str(&format!(" {code}"));
    }
    if !message.is_empty() {
        text.push_str(&format!(": {message}"));
    }
    if let Some(hint) = hint {
        text.push_str(&format!(" ({hint})"));
    }
    let mut err = Error::new(kind, Provider::Vercel).with_message(text);
    if retry::is_retryable_status(status.as_u16()) {
        err = err.with_retryable(true);
        if let Some(wait) = retry_after(headers) {
            err = err.with_retry_after(wait);
        }
    }
    err
}

fn classify(
    status: StatusCode,
    code: &str,
    message: &str,
    headers: &HeaderMap,
) -> (ErrorKind, Option<&'static str>) {
    let lower = message.to_ascii_lowercase();
    let token_hint = "check that BLOB_READ_WRITE_TOKEN is the read-write token of this store";
    match code {
        "not_found" => return (ErrorKind::NotFound, None),
        "precondition_failed" => return (ErrorKind::PreconditionFailed, None),
        "rate_limited" => {
            return (
                ErrorKind::RateLimited {
                    retry_after: retry_after(headers),
                },
                Some("lower the number of concurrent requests"),
            )
        }
        "forbidden" if message == "Token expired" => {
            return (ErrorKind::Unauthorized, Some("the token has expired"))
        }
        "forbidden" | "store_not_found" => return (ErrorKind::Unauthorized, Some(token_hint)),
        "store_suspended" => {
            return (
                ErrorKind::Forbidden,
                Some("the store is suspended; see the Vercel dashboard"),
            )
        }
        "client_token_not_allowed" => return (ErrorKind::Forbidden, None),
        "file_too_large" | "content_too_large" => return (ErrorKind::TooLarge, None),
        "bad_request" | "" => {
            if lower.contains("already exists") {
                return (ErrorKind::AlreadyExists, None);
            }
            if lower.contains("the file length cannot be greater than")
                || lower.contains("too large")
            {
                return (ErrorKind::TooLarge, None);
            }
            if message == "Token expired" {
                return (ErrorKind::Unauthorized, Some("the token has expired"));
            }
            if lower.contains("does not match the token payload")
                || lower.contains("is not allowed")
            {
                return (ErrorKind::Forbidden, None);
            }
        }
        _ => {}
    }
    let kind = match status {
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        StatusCode::UNAUTHORIZED => return (ErrorKind::Unauthorized, Some(token_hint)),
        StatusCode::FORBIDDEN => return (ErrorKind::Unauthorized, Some(token_hint)),
        StatusCode::PRECONDITION_FAILED => ErrorKind::PreconditionFailed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
        StatusCode::RANGE_NOT_SATISFIABLE => ErrorKind::InvalidInput,
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited {
            retry_after: retry_after(headers),
        },
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
        s if s.is_client_error() => ErrorKind::InvalidInput,
        _ => ErrorKind::Backend,
    };
    (kind, None)
}

/// The answer's `retry-after`, in either of its forms.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry::parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?)
}

/// A failure to talk to `endpoint` (scheme, host and port) at all, with
/// the variable that points there.
pub(crate) fn from_transport(operation: &str, endpoint: &str, err: reqwest::Error) -> Error {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_builder() {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Transport
    };
    let err = err.without_url();
    let cause = std::error::Error::source(&err)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    Error::new(kind, Provider::Vercel)
        .with_message(format!(
            "{operation} failed talking to {endpoint}: {err}{cause}; check that the service is \
             reachable ({} and {} say where it is)",
            crate::config::API_URL_VAR,
            crate::config::BLOB_HOST_URL_VAR
        ))
        .with_source(err)
}

/// A response the adapter could not understand.
pub(crate) fn malformed(operation: &str, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Backend, Provider::Vercel).with_message(format!(
        "{operation}: unexpected answer from the server: {what}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> Error {
        from_response(
            "test",
            StatusCode::from_u16(status).expect("status"),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    fn json(code: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message}}).to_string()
    }

    #[test]
    fn every_documented_code_has_a_kind() {
        let cases = [
            (404, json("not_found", "x"), ErrorKind::NotFound),
            (
                403,
                json("forbidden", "Access denied"),
                ErrorKind::Unauthorized,
            ),
            (
                403,
                json("forbidden", "Token expired"),
                ErrorKind::Unauthorized,
            ),
            (403, json("store_suspended", "x"), ErrorKind::Forbidden),
            (403, json("store_not_found", "x"), ErrorKind::Unauthorized),
            (
                403,
                json("client_token_not_allowed", "x"),
                ErrorKind::Forbidden,
            ),
            (
                412,
                json("precondition_failed", "ETag mismatch"),
                ErrorKind::PreconditionFailed,
            ),
            (
                400,
                json(
                    "bad_request",
                    "This blob already exists, use `allowOverwrite: true`",
                ),
                ErrorKind::AlreadyExists,
            ),
            (
                400,
                json(
                    "bad_request",
                    "File is too large, the file length cannot be greater than 5 bytes",
                ),
                ErrorKind::TooLarge,
            ),
            (
                400,
                json("bad_request", "contentType \"a/b\" is not allowed"),
                ErrorKind::Forbidden,
            ),
            (
                400,
                json("bad_request", "limit must be between 1 and 1000"),
                ErrorKind::InvalidInput,
            ),
            (500, json("internal_server_error", "x"), ErrorKind::Backend),
            (502, json("service_unavailable", "x"), ErrorKind::Backend),
            (500, json("unknown_error", "x"), ErrorKind::Backend),
            (
                502,
                "<html>bad gateway</html>".to_string(),
                ErrorKind::Backend,
            ),
            (
                416,
                json("bad_request", "Requested range not satisfiable"),
                ErrorKind::InvalidInput,
            ),
        ];
        for (status, body, kind) in cases {
            assert_eq!(map(status, &body).kind(), &kind, "{status} {body}");
        }
        assert!(map(503, &json("service_unavailable", "x")).is_retryable());
        assert!(!map(400, &json("bad_request", "x")).is_retryable());
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().expect("header"));
        let err = from_response(
            "list",
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            json("rate_limited", "Too many requests").as_bytes(),
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }
}
