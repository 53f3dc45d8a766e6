//! Mapping the service's answers to [`storage_core::Error`], with the
//! provider and key attached and every URL in the text redacted.
//!
//! The kind follows from the HTTP status, the operation (a 404 on a
//! conditional write means the precondition failed) and the service's error
//! code from the `x-ms-error-code` header (`ContainerNotFound`,
//! `ServerBusy` …), which is kept, typed, as the error's source
//! ([`ServiceAnswer`]) so the store can explain it. The XML body never
//! reaches a message.

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

fn not_found_kind(op: Op) -> ErrorKind {
    match op {
        Op::WriteIfMatch => ErrorKind::PreconditionFailed,
        _ => ErrorKind::NotFound,
    }
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
        304 => ErrorKind::NotModified,
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
    let mut text = storage_object_store::error_chain(err);
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "(url)");
    }
    // A body that fails to arrive is a broken connection: nothing here
    // decodes bodies, so reqwest's "decode" errors mean the same.
    Error::new(kind, Provider::Azure)
        .with_message(format!("{} failed: {}", op.name(), redact_text(&text)))
        .with_key(key)
        .with_source(ServiceAnswer {
            status: None,
            code: None,
        })
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

    /// Whether `err` is the service saying the container does not exist.
    pub(crate) fn container_missing(err: &Error) -> bool {
        Self::of(err).is_some_and(|a| a.code.as_deref() == Some("ContainerNotFound"))
    }
}

pub(crate) use storage_object_store::redact_text;

/// An error for a failing upload body or any failure of ours, tagged.
pub(crate) fn tag(err: Error, key: &str) -> Error {
    err.with_provider(Provider::Azure).with_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_lose_their_signatures() {
        let text =
            "Error performing PUT http://127.0.0.1:1/acct/c/k?sv=2022-11-02&sig=SECRET%2B in 1s";
        let out = redact_text(text);
        assert!(!out.contains("SECRET"), "{out}");
        assert!(out.contains("sig=[redacted]"), "{out}");
    }
}
