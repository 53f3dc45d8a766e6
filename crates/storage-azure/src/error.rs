//! Mapping object_store's errors to [`storage_core::Error`], with the
//! provider and key attached and every URL in the text redacted.
//!
//! object_store keeps the HTTP status of a failed request in a private type,
//! so the status is read back from the error text ("status code: 429"); the
//! kinds object_store does expose (not found, precondition, …) are used first.
//! The service's error code (`ContainerNotFound`, `AuthenticationFailed` …)
//! is taken out of its XML answer and kept, typed, as the error's source
//! ([`ServiceAnswer`]), so the store can explain it; the XML itself never
//! reaches a message.

use std::error::Error as _;

use object_store::client::{HttpError, HttpErrorKind};
use storage_core::redact::redact_url;
use storage_core::{Error, ErrorKind, Provider};

/// Which operation failed, so the same HTTP answer maps to what the caller
/// asked (a 404 on a conditional write means the precondition failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
    WriteIfMatch,
    WriteCreate,
    Delete,
    List,
    Copy,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write | Op::WriteIfMatch | Op::WriteCreate => "write",
            Op::Delete => "delete",
            Op::List => "list",
            Op::Copy => "copy",
        }
    }
}

/// Maps `err`, raised while doing `op` on `key`.
pub(crate) fn map_error(err: object_store::Error, op: Op, key: Option<&str>) -> Error {
    use object_store::Error as OsError;
    let text = redact_text(&chain_text(&err));
    let (kind, retryable) = match &err {
        OsError::NotFound { .. } => (not_found_kind(op), None),
        OsError::AlreadyExists { .. } if op == Op::WriteIfMatch => {
            (ErrorKind::PreconditionFailed, None)
        }
        OsError::AlreadyExists { .. } => (ErrorKind::AlreadyExists, None),
        OsError::Precondition { .. } if op == Op::WriteCreate => (ErrorKind::AlreadyExists, None),
        OsError::Precondition { .. } => (ErrorKind::PreconditionFailed, None),
        OsError::NotModified { .. } => (ErrorKind::NotModified, None),
        OsError::NotSupported { .. } | OsError::NotImplemented => (
            ErrorKind::Unsupported {
                op: "this operation",
            },
            None,
        ),
        OsError::PermissionDenied { .. } => (ErrorKind::Forbidden, None),
        OsError::Unauthenticated { .. } => (ErrorKind::Unauthorized, None),
        OsError::InvalidPath { .. } => (ErrorKind::InvalidKey, None),
        _ => classify(&err, &text, op),
    };
    let answer = ServiceAnswer {
        status: status_in(&text),
        code: code_in(&text),
    };
    let detail = match (&answer.status, &answer.code) {
        (Some(status), Some(code)) => format!("the service answered {status} {code}"),
        (Some(status), None) => format!("the service answered {status}"),
        _ => without_xml(&text),
    };
    let mut out = Error::new(kind, Provider::Azure)
        .with_message(format!("{} failed: {detail}", op.name()))
        .with_source(answer);
    if let Some(key) = key {
        out = out.with_key(key);
    }
    if let Some(r) = retryable {
        out = out.with_retryable(r);
    }
    out
}

fn not_found_kind(op: Op) -> ErrorKind {
    match op {
        Op::WriteIfMatch => ErrorKind::PreconditionFailed,
        _ => ErrorKind::NotFound,
    }
}

/// Kinds for errors object_store reports as `Generic`: transport failures
/// from the HTTP client, or an HTTP status.
fn classify(err: &object_store::Error, text: &str, op: Op) -> (ErrorKind, Option<bool>) {
    // object_store checks a range against the size the server reported
    // (its error type for that is private).
    if text.contains("Wanted range starting at") || text.contains("Range started at") {
        return (ErrorKind::InvalidInput, None);
    }
    if let Some(status) = status_in(text) {
        return match status {
            400 => (ErrorKind::InvalidInput, None),
            401 => (ErrorKind::Unauthorized, None),
            403 => (ErrorKind::Forbidden, None),
            404 => (not_found_kind(op), None),
            409 if op == Op::WriteIfMatch => (ErrorKind::PreconditionFailed, None),
            409 => (ErrorKind::AlreadyExists, None),
            412 if op == Op::WriteCreate => (ErrorKind::AlreadyExists, None),
            412 => (ErrorKind::PreconditionFailed, None),
            413 => (ErrorKind::TooLarge, None),
            416 => (ErrorKind::InvalidInput, None),
            408 => (ErrorKind::Timeout, None),
            429 => (ErrorKind::RateLimited { retry_after: None }, None),
            // A 503 or 500 is a retryable server failure; object_store does
            // not surface Azure's `ServerBusy` code, so a throttling 503 is
            // not told apart, and no wait the server never sent is made up.
            501 => (ErrorKind::Backend, Some(false)),
            500..=599 => (ErrorKind::Backend, Some(true)),
            _ => (ErrorKind::Backend, Some(false)),
        };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            return match http.kind() {
                HttpErrorKind::Timeout => (ErrorKind::Timeout, None),
                HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Interrupted => {
                    (ErrorKind::Transport, None)
                }
                HttpErrorKind::Decode => (ErrorKind::Transport, Some(false)),
                _ => (ErrorKind::Backend, Some(false)),
            };
        }
        source = e.source();
    }
    // object_store does not always expose its HTTP client's error in the
    // chain; its text still says what happened on the connection.
    if text.contains("timed out") {
        return (ErrorKind::Timeout, None);
    }
    if [
        "(Connect)",
        "error sending request",
        "connection reset",
        "Connection reset",
        "broken pipe",
        "Broken pipe",
        "connection closed",
    ]
    .iter()
    .any(|needle| text.contains(needle))
    {
        return (ErrorKind::Transport, None);
    }
    (ErrorKind::Backend, Some(false))
}

/// Maps a non-2xx answer to one of the adapter's own requests (see
/// [`crate::rest`]): the status, the `x-ms-error-code` header and a
/// `Retry-After` give the kind; the answer is kept as the error's source.
pub(crate) fn answer_error(
    status: u16,
    code: Option<String>,
    retry_after: Option<std::time::Duration>,
    op: Op,
    key: &str,
) -> Error {
    let code_is = |c: &str| code.as_deref() == Some(c);
    let kind = match status {
        400 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        // A missing container stays NotFound whatever the condition was,
        // so the store can explain it.
        404 if code_is("ContainerNotFound") => ErrorKind::NotFound,
        404 => not_found_kind(op),
        409 | 412 if op == Op::WriteCreate => ErrorKind::AlreadyExists,
        409 if op == Op::WriteIfMatch => ErrorKind::PreconditionFailed,
        409 if code_is("BlobAlreadyExists") => ErrorKind::AlreadyExists,
        412 => ErrorKind::PreconditionFailed,
        413 => ErrorKind::TooLarge,
        416 => ErrorKind::InvalidInput,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited { retry_after },
        // Azure throttles with 503 ServerBusy; only then is it a rate limit.
        503 if code_is("ServerBusy") => ErrorKind::RateLimited { retry_after },
        _ => ErrorKind::Backend,
    };
    let answer = ServiceAnswer {
        status: Some(status),
        code,
    };
    Error::new(kind, Provider::Azure)
        .with_message(format!(
            "{} failed: the service answered {answer}",
            op.name()
        ))
        .with_key(key)
        .with_retryable(storage_core::retry::is_retryable_status(status))
        .with_source(answer)
}

/// Maps a request of ours that got no answer: a timeout, a refused or
/// broken connection. The text never holds the URL (it may carry a SAS).
pub(crate) fn request_error(err: &reqwest::Error, op: Op, key: &str) -> Error {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&s);
        }
        source = e.source();
    }
    let text = redact_text(&text.replace(
        &err.url().map(|u| u.to_string()).unwrap_or_default(),
        "(url)",
    ));
    let out = Error::new(kind, Provider::Azure)
        .with_message(format!("{} failed: {text}", op.name()))
        .with_key(key)
        .with_source(ServiceAnswer {
            status: None,
            code: None,
        });
    if err.is_decode() {
        out.with_retryable(false)
    } else {
        out
    }
}

/// What the service answered, kept as the source of a mapped error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceAnswer {
    pub status: Option<u16>,
    pub code: Option<String>,
}

impl std::fmt::Display for ServiceAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, "HTTP {s} {c}"),
            (Some(s), None) => write!(f, "HTTP {s}"),
            (None, Some(c)) => write!(f, "{c}"),
            (None, None) => f.write_str("no answer from the service"),
        }
    }
}

impl std::error::Error for ServiceAnswer {}

impl ServiceAnswer {
    /// The answer behind `err`, when it came from the service.
    pub(crate) fn of(err: &Error) -> Option<&ServiceAnswer> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<ServiceAnswer>())
    }
}

/// The `<Code>` of an Azure XML error answer.
fn code_in(text: &str) -> Option<String> {
    let at = text.find("<Code>")? + "<Code>".len();
    let len = text[at..].find("</Code>")?;
    let code = &text[at..at + len];
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric())).then(|| code.to_string())
}

/// `text` without an XML document pasted into it.
fn without_xml(text: &str) -> String {
    match text.find("<?xml").or_else(|| text.find("<Error>")) {
        Some(at) => text[..at].trim_end_matches([' ', ':']).to_string(),
        None => text.to_string(),
    }
}

/// Finds `status code: NNN` in object_store's text.
fn status_in(text: &str) -> Option<u16> {
    let marker = "status code: ";
    let at = text.find(marker)? + marker.len();
    text.get(at..at + 3)?.parse().ok()
}

fn chain_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

/// Hides signatures in every URL-like word of `text`, and cuts very long
/// service answers.
pub(crate) fn redact_text(text: &str) -> String {
    let redacted: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") || word.contains("sig=") || word.contains('?') {
                redact_url(word)
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = redacted.join(" ");
    if joined.chars().count() > 1000 {
        let cut: String = joined.chars().take(1000).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// An error for a failing upload body or any failure of ours, tagged.
pub(crate) fn tag(err: Error, key: &str) -> Error {
    err.with_provider(Provider::Azure).with_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_from_object_store_text() {
        assert_eq!(
            status_in("Server returned non-2xx status code: 429 Too Many Requests: "),
            Some(429)
        );
        assert_eq!(status_in("no status here"), None);
    }

    #[test]
    fn service_codes_are_kept_and_xml_is_dropped() {
        let text = "Server returned non-2xx status code: 404 Not Found: \
                    <?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code>\
                    <Message>The specified container does not exist.</Message></Error>";
        assert_eq!(code_in(text).as_deref(), Some("ContainerNotFound"));
        assert_eq!(
            without_xml(text),
            "Server returned non-2xx status code: 404 Not Found"
        );
        assert_eq!(code_in("<Code>bad code</Code>"), None);
    }

    #[test]
    fn urls_in_messages_lose_their_signatures() {
        let text =
            "Error performing PUT http://127.0.0.1:1/acct/c/k?sv=2022-11-02&sig=SECRET%2B in 1s";
        let out = redact_text(text);
        assert!(!out.contains("SECRET"), "{out}");
        assert!(out.contains("sig=[redacted]"), "{out}");
    }

    #[test]
    fn kinds_follow_the_operation() {
        let nf = || object_store::Error::NotFound {
            path: "k".into(),
            source: "missing".into(),
        };
        assert_eq!(
            map_error(nf(), Op::Read, Some("k")).kind(),
            &ErrorKind::NotFound
        );
        assert_eq!(
            map_error(nf(), Op::WriteIfMatch, Some("k")).kind(),
            &ErrorKind::PreconditionFailed
        );
        let pre = object_store::Error::Precondition {
            path: "k".into(),
            source: "etag".into(),
        };
        assert_eq!(
            map_error(pre, Op::WriteCreate, None).kind(),
            &ErrorKind::AlreadyExists
        );
    }
}
