//! Mapping Cloud Storage's answers to [`storage_core::Error`].
//!
//! The kind follows from the HTTP status and the operation (a 412 on a
//! create-only write means the blob exists; on an `IfMatch` write, that the
//! generation moved on). The service's own message, from the JSON error
//! body, is kept (cut short, URLs redacted) so the error says what the
//! service objected to; the status is kept, typed, as the error's source.

use storage_core::redact::redact_url;
use storage_core::{Error, ErrorKind, Provider};

/// Which operation failed, so the same status maps to what the caller
/// asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
    WriteIfMatch,
    WriteCreate,
    Delete,
    List,
    Copy,
    CopyIfMatch,
    CopyCreate,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write | Op::WriteIfMatch | Op::WriteCreate => "write",
            Op::Delete => "delete",
            Op::List => "list",
            Op::Copy | Op::CopyIfMatch | Op::CopyCreate => "copy",
        }
    }
}

/// What the service answered, kept as the source of a mapped error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceAnswer {
    pub status: Option<u16>,
}

impl std::fmt::Display for ServiceAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}"),
            None => f.write_str("no answer from the service"),
        }
    }
}

impl std::error::Error for ServiceAnswer {}

/// Maps a non-2xx answer. `body` is the answer's (small) body, from which
/// the service's message is taken.
pub(crate) fn answer_error(
    status: u16,
    body: &[u8],
    retry_after: Option<std::time::Duration>,
    op: Op,
    key: &str,
) -> Error {
    let kind = match status {
        304 => ErrorKind::NotModified,
        400 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 | 412 if matches!(op, Op::WriteCreate | Op::CopyCreate) => ErrorKind::AlreadyExists,
        412 => ErrorKind::PreconditionFailed,
        413 => ErrorKind::TooLarge,
        416 => ErrorKind::InvalidInput,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited { retry_after },
        _ => ErrorKind::Backend,
    };
    let mut detail = service_message(body)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    if status == 404 {
        // A listing or an upload names no object that could be missing.
        match op {
            Op::List => detail.push_str("; the bucket GCS_BUCKET names does not exist"),
            Op::Write | Op::WriteCreate | Op::WriteIfMatch => detail.push_str(
                "; the bucket GCS_BUCKET names does not exist (or a resumable session expired)",
            ),
            _ => {}
        }
    }
    let mut err = Error::new(kind, Provider::Gcs)
        .with_message(format!(
            "{} failed: the service answered HTTP {status}{detail}",
            op.name()
        ))
        .with_key(key)
        .with_retryable(storage_core::retry::is_retryable_status(status))
        .with_source(ServiceAnswer {
            status: Some(status),
        });
    if let Some(wait) = retry_after {
        err = err.with_retry_after(wait);
    }
    err
}

/// The `error.message` of a JSON error body, cleaned for a log line.
fn service_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.get("error")?.get("message")?.as_str()?;
    let cleaned = redact_text(message.trim());
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Maps a request that got no answer: a timeout, a refused or broken
/// connection. The text never holds the URL (a resumable session URI is a
/// bearer credential for its upload).
pub(crate) fn request_error(err: &reqwest::Error, op: Op, key: &str) -> Error {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    let mut text = storage_object_store::error_chain(err);
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "(url)");
    }
    Error::new(kind, Provider::Gcs)
        .with_message(format!("{} failed: {}", op.name(), redact_text(&text)))
        .with_key(key)
        .with_source(ServiceAnswer { status: None })
}

/// An answer that is not what the protocol promises.
pub(crate) fn malformed(op: Op, key: &str, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Backend, Provider::Gcs)
        .with_key(key)
        .with_message(format!("{} failed: {what}", op.name()))
}

/// Hides signatures and session ids in every URL-like word of `text`, and
/// cuts very long service answers.
pub(crate) fn redact_text(text: &str) -> String {
    let redacted: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") || word.contains('?') {
                hide_upload_id(&redact_url(word))
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = redacted.join(" ");
    if joined.chars().count() > 500 {
        let cut: String = joined.chars().take(500).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// A resumable session URI is a credential for its upload: its
/// `upload_id` goes the way of signatures.
fn hide_upload_id(url: &str) -> String {
    let Some(at) = url.find("upload_id=") else {
        return url.to_string();
    };
    let value_start = at + "upload_id=".len();
    let value_end = url[value_start..]
        .find('&')
        .map_or(url.len(), |i| value_start + i);
    format!("{}[redacted]{}", &url[..value_start], &url[value_end..])
}

/// `err` tagged with this provider and `key`.
pub(crate) fn tag(err: Error, key: &str) -> Error {
    err.with_provider(Provider::Gcs).with_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_and_operation_give_the_kind() {
        let body = br#"{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold."}}"#;
        let err = answer_error(412, body, None, Op::WriteCreate, "k");
        assert_eq!(err.kind(), &ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("pre-conditions"), "{err}");
        let err = answer_error(412, body, None, Op::WriteIfMatch, "k");
        assert_eq!(err.kind(), &ErrorKind::PreconditionFailed);
        let err = answer_error(503, b"", None, Op::Read, "k");
        assert!(err.is_retryable());
        let err = answer_error(404, b"not json", None, Op::Read, "k");
        assert!(err.is_not_found());
    }

    #[test]
    fn session_uris_in_messages_lose_their_ids() {
        let text = "see http://h/upload/storage/v1/b/x/o?uploadType=resumable&upload_id=SECRET";
        let out = redact_text(text);
        assert!(!out.contains("SECRET"), "{out}");
    }
}
