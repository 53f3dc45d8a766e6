//! `object_store::Error` → [`storage_core::Error`], with the kind a caller
//! matches on and a message with no secret in it.
//!
//! object_store's errors name the request (method and URL: a presigned or
//! SAS URL carries its signature, an STS URL a web identity token) and
//! quote the service's answer. The message kept here is the status, the
//! service's error code and its human message (`<Code>`/`<Message>` of an
//! S3 or GCS XML answer), every URL-like word redacted. What went wrong
//! without an answer (a timeout, a refused connection) is the connector's
//! own [`storage_core::Error`], found again inside object_store's and
//! returned as it was (it names the endpoint and the variable to raise).
//!
//! The driver adds the provider and the key, and knows the operation:
//! [`map_write_error`] reads a failed conditional write as the caller asked
//! it (`AlreadyExists` for `Create`, `PreconditionFailed` for `IfMatch`).

use object_store::client::HttpErrorKind;
use storage_core::redact::redact_url;
use storage_core::retry::is_retryable_status;
use storage_core::{Error, ErrorKind, PutMode};

/// Service error codes that mean the credentials, not the permissions, are
/// wrong, though S3 answers them with 403.
const CREDENTIAL_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "InvalidSecurity",
    "AuthorizationHeaderMalformed",
];

/// Maps an object_store error; see the [module docs](self).
///
/// ```
/// use storage_core::ErrorKind;
/// let err = object_store::Error::NotFound { path: "k".into(), source: "HTTP 404".into() };
/// assert_eq!(storage_object_store::map_error(err).kind(), &ErrorKind::NotFound);
/// ```
pub fn map_error(err: object_store::Error) -> Error {
    if let Some(ours) = find::<Error>(&err) {
        return Error::without_provider(ours.kind().clone())
            .with_message(ours.message().unwrap_or("the request failed").to_string())
            .with_retryable(ours.is_retryable());
    }
    // object_store does not export the error that holds the status and the
    // answer's body, so they are read from its text, which it documents
    // as `Server returned non-2xx status code: <status>: <body>`.
    let text = err.to_string();
    let status = status_in(&text);
    if let Some(status) = status {
        let mut mapped = answer_error(status, &text);
        // object_store read some answers as it knew the request: a 404 on
        // a conditional write is its `Precondition`, a 412 on a create its
        // `AlreadyExists`.
        let kind = match &err {
            object_store::Error::Precondition { .. } => Some(ErrorKind::PreconditionFailed),
            object_store::Error::AlreadyExists { .. } => Some(ErrorKind::AlreadyExists),
            _ => None,
        };
        if let Some(kind) = kind {
            mapped = Error::without_provider(kind)
                .with_message(mapped.message().unwrap_or_default().to_string());
        }
        return mapped;
    }
    let kind = match &err {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
        object_store::Error::Precondition { .. } => ErrorKind::PreconditionFailed,
        object_store::Error::NotModified { .. } => ErrorKind::NotModified,
        object_store::Error::Unauthenticated { .. } => ErrorKind::Unauthorized,
        object_store::Error::PermissionDenied { .. } => ErrorKind::Forbidden,
        object_store::Error::InvalidPath { .. } => ErrorKind::InvalidKey,
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            ErrorKind::Unsupported {
                op: "this operation on this service",
            }
        }
        object_store::Error::UnknownConfigurationKey { key, .. } => {
            ErrorKind::InvalidConfig { var: key.clone() }
        }
        _ => match find::<object_store::client::HttpError>(&err).map(|h| h.kind()) {
            Some(HttpErrorKind::Timeout) => ErrorKind::Timeout,
            Some(HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Interrupted) => {
                ErrorKind::Transport
            }
            _ => ErrorKind::Backend,
        },
    };
    let retryable = matches!(kind, ErrorKind::Timeout | ErrorKind::Transport);
    Error::without_provider(kind)
        .with_message(redact_text(&text))
        .with_retryable(retryable)
}

/// Maps a non-2xx answer: `status` and the answer's `body` (an S3 or GCS
/// XML error document, or anything) give the kind; the message is the
/// status, the service's `<Code>` and its `<Message>`, never the rest of
/// the body. For drivers that send some requests of their own.
///
/// ```
/// use storage_core::ErrorKind;
/// let body = "<Error><Code>SignatureDoesNotMatch</Code><Message>Check your key</Message></Error>";
/// let err = storage_object_store::answer_error(403, body);
/// assert_eq!(err.kind(), &ErrorKind::Unauthorized);
/// assert!(err.to_string().contains("SignatureDoesNotMatch: Check your key"));
/// ```
pub fn answer_error(status: u16, body: &str) -> Error {
    let code = xml_field(body, "Code");
    let kind = match status {
        401 => ErrorKind::Unauthorized,
        403 if code.is_some_and(|c| CREDENTIAL_CODES.contains(&c)) => ErrorKind::Unauthorized,
        _ => kind_of_status(status, code),
    };
    let mut text = format!("the service answered HTTP {status}");
    if let Some(code) = code {
        text.push(' ');
        text.push_str(code);
    }
    if let Some(detail) = xml_field(body, "Message") {
        text.push_str(": ");
        text.push_str(detail);
    }
    Error::without_provider(kind)
        .with_message(redact_text(&text))
        .with_retryable(is_retryable_status(status))
}

/// Maps the error of a write made with `mode`, reading a failed condition
/// as the caller asked it: `Create` found the blob (`AlreadyExists`, also
/// when the service says 412), `IfMatch` found another etag or no blob
/// (`PreconditionFailed`, also for a 404 or a 409 conflict).
pub fn map_write_error(err: object_store::Error, mode: &PutMode) -> Error {
    let mapped = map_error(err);
    let kind = match (mode, mapped.kind()) {
        (PutMode::Create, ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists) => {
            ErrorKind::AlreadyExists
        }
        (
            PutMode::IfMatch(_),
            ErrorKind::NotFound | ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed,
        ) => ErrorKind::PreconditionFailed,
        _ => return mapped,
    };
    Error::without_provider(kind).with_message(
        mapped
            .message()
            .unwrap_or("the condition failed")
            .to_string(),
    )
}

/// The service's error code (`NoSuchBucket`, `SignatureDoesNotMatch` …) in
/// `err`, when it came from an answer with an XML error document.
pub fn service_code(err: &object_store::Error) -> Option<String> {
    let text = err.to_string();
    status_in(&text)?;
    xml_field(&text, "Code").map(str::to_string)
}

/// The HTTP status object_store quotes in an error's text.
fn status_in(text: &str) -> Option<u16> {
    const MARK: &str = "non-2xx status code: ";
    let start = text.find(MARK)? + MARK.len();
    text.get(start..start + 3)?.parse().ok()
}

fn kind_of_status(status: u16, code: Option<&str>) -> ErrorKind {
    match status {
        304 => ErrorKind::NotModified,
        400 | 411 | 416 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        412 => ErrorKind::PreconditionFailed,
        408 => ErrorKind::Timeout,
        413 => ErrorKind::TooLarge,
        429 => ErrorKind::RateLimited { retry_after: None },
        // S3 throttles with 503 SlowDown.
        503 if code == Some("SlowDown") => ErrorKind::RateLimited { retry_after: None },
        501 => ErrorKind::Unsupported {
            op: "this operation on this service",
        },
        _ => ErrorKind::Backend,
    }
}

/// Every distinct message in the source chain of `e`, joined with `: `
/// (reqwest and hyper repeat their inner errors in their own text, so a
/// message already shown is not shown again).
///
/// ```
/// let e = std::io::Error::other("refused");
/// assert_eq!(storage_object_store::error_chain(&e), "refused");
/// ```
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut source = Some(e);
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
    text
}

/// The first error of type `T` in `err`'s source chain.
fn find<T: std::error::Error + 'static>(err: &object_store::Error) -> Option<&T> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

/// The text of the first `<name>…</name>` in an XML error document.
fn xml_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(body[start..start + len].trim()).filter(|s| !s.is_empty())
}

/// `text` with the secrets of every URL-like word hidden (signatures,
/// tokens, credentials in a query; passwords in user info), cut to 1000
/// characters so a long service answer cannot flood a log line.
///
/// ```
/// let out = storage_object_store::redact_text(
///     "GET http://h/b/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F1 failed",
/// );
/// assert!(!out.contains("abc") && !out.contains("AKIA"), "{out}");
/// ```
pub fn redact_text(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") || word.contains('?') || word.contains('=') {
                redact_url(word)
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() > 1000 {
        let cut: String = joined.chars().take(1000).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_from_object_stores_text() {
        let text = "Error performing GET http://h/b/k in 1ms - Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>";
        assert_eq!(status_in(text), Some(403));
        let err = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: text.into(),
        };
        assert_eq!(map_error(err).kind(), &ErrorKind::Unauthorized);
        assert_eq!(status_in("HTTP error: connection refused"), None);
    }

    #[test]
    fn xml_fields_are_read() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>";
        assert_eq!(xml_field(body, "Code"), Some("NoSuchKey"));
        assert_eq!(xml_field(body, "Message"), Some("The key does not exist"));
        assert_eq!(xml_field(body, "RequestId"), None);
    }

    #[test]
    fn plain_kinds_map_one_to_one() {
        let cases = [
            (
                object_store::Error::AlreadyExists {
                    path: "k".into(),
                    source: "x".into(),
                },
                ErrorKind::AlreadyExists,
            ),
            (
                object_store::Error::Precondition {
                    path: "k".into(),
                    source: "x".into(),
                },
                ErrorKind::PreconditionFailed,
            ),
            (
                object_store::Error::NotModified {
                    path: "k".into(),
                    source: "x".into(),
                },
                ErrorKind::NotModified,
            ),
            (
                object_store::Error::Unauthenticated {
                    path: "k".into(),
                    source: "x".into(),
                },
                ErrorKind::Unauthorized,
            ),
            (
                object_store::Error::PermissionDenied {
                    path: "k".into(),
                    source: "x".into(),
                },
                ErrorKind::Forbidden,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(map_error(err).kind(), &kind);
        }
    }

    #[test]
    fn conditional_writes_read_as_asked() {
        let precondition = || object_store::Error::Precondition {
            path: "k".into(),
            source: "x".into(),
        };
        let not_found = object_store::Error::NotFound {
            path: "k".into(),
            source: "x".into(),
        };
        assert_eq!(
            map_write_error(precondition(), &PutMode::Create).kind(),
            &ErrorKind::AlreadyExists
        );
        assert_eq!(
            map_write_error(not_found, &PutMode::IfMatch("\"e\"".into())).kind(),
            &ErrorKind::PreconditionFailed
        );
        assert_eq!(
            map_write_error(precondition(), &PutMode::Overwrite).kind(),
            &ErrorKind::PreconditionFailed
        );
    }

    #[test]
    fn signed_urls_in_messages_are_redacted() {
        let err = object_store::Error::Generic {
            store: "S3",
            source: "Error performing PUT http://127.0.0.1:1/b/k?X-Amz-Credential=AKIA%2F2&X-Amz-Signature=SECRET in 1ms".into(),
        };
        let text = map_error(err).to_string();
        assert!(!text.contains("SECRET") && !text.contains("AKIA"), "{text}");
    }
}
