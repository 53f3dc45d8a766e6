//! The one error type every store returns.
//!
//! An [`Error`] is a kind (what went wrong, the thing callers match on) plus
//! context: the provider, the key and a message saying what to do next. The
//! message is written by the adapter and must never contain a secret; use
//! [`crate::redact`] when a URL or connection string has to be mentioned.

use std::fmt;
use std::time::Duration;

use crate::Provider;

/// Shorthand for `Result<T, storage_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, independent of the provider.
///
/// ```
/// use storage_core::{BlobKey, ErrorKind};
/// let err = BlobKey::new("../etc/passwd").unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::InvalidKey);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The blob does not exist.
    NotFound,
    /// `PutMode::Create` (or a create-only copy) found the blob already there.
    AlreadyExists,
    /// `PutMode::IfMatch` (or `GetOptions::if_match`) found a different
    /// etag, or no blob at all; or a resumed download found the blob changed.
    PreconditionFailed,
    /// `GetOptions::if_none_match` matched: the caller's copy is current.
    NotModified,
    /// The key breaks the key rules (see [`BlobKey`](crate::BlobKey)).
    InvalidKey,
    /// An option or argument is malformed (a range past the end, a header
    /// value with control characters, a body shorter than it claimed).
    InvalidInput,
    /// Configuration is missing or malformed; `var` names the variable.
    InvalidConfig {
        /// The environment variable (or config field) at fault.
        var: String,
    },
    /// Credentials are missing, malformed or were rejected.
    Unauthorized,
    /// The credentials are valid but not allowed to do this.
    Forbidden,
    /// The body is larger than the provider or a signed URL allows.
    TooLarge,
    /// The backend asked us to slow down.
    RateLimited {
        /// How long the backend asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The provider cannot do this; `op` names the operation or option.
    Unsupported {
        /// The operation or option that is not supported.
        op: &'static str,
    },
    /// The operation did not finish in time.
    Timeout,
    /// The connection failed or broke (reset, refused, body stream failed).
    Transport,
    /// The backend failed in a way none of the other kinds describe.
    Backend,
}

impl ErrorKind {
    /// The HTTP status a handler should answer its own client with when a
    /// storage call fails with this kind, so an axum or actix service maps
    /// errors in one line:
    ///
    /// | kind | status |
    /// |---|---|
    /// | `NotModified` | 304 (answer with no body) |
    /// | `InvalidKey`, `InvalidInput` | 400 |
    /// | `NotFound` | 404 |
    /// | `AlreadyExists` | 409 |
    /// | `PreconditionFailed` | 412 |
    /// | `TooLarge` | 413 |
    /// | `RateLimited` | 429 (pass [`Error::retry_after`] on as `Retry-After`) |
    /// | `InvalidConfig`, `Unauthorized`, `Forbidden`, `Backend` | 500 |
    /// | `Unsupported` | 501 |
    /// | `Transport` | 502 |
    /// | `Timeout` | 504 |
    ///
    /// `Unauthorized` and `Forbidden` are 500, not 401/403: they say the
    /// store refused *the service's* credentials (a wrong account key, an
    /// expired token), which the service's client cannot fix by logging in;
    /// a 401 would send a browser to a login page for a server
    /// misconfiguration. Log those (the message is secret-free) and answer
    /// 500. `Backend` is a store failure no other kind describes, also the
    /// service's problem; `Transport` and `Timeout` are the upstream store
    /// being unreachable or slow, the gateway statuses.
    ///
    /// ```
    /// use storage_core::ErrorKind;
    /// assert_eq!(ErrorKind::NotFound.http_status(), 404);
    /// assert_eq!(ErrorKind::NotModified.http_status(), 304);
    /// assert_eq!(ErrorKind::Unsupported { op: "ranged reads" }.http_status(), 501);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            ErrorKind::NotModified => 304,
            ErrorKind::InvalidKey | ErrorKind::InvalidInput => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists => 409,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::TooLarge => 413,
            ErrorKind::RateLimited { .. } => 429,
            ErrorKind::InvalidConfig { .. }
            | ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::Backend => 500,
            ErrorKind::Unsupported { .. } => 501,
            ErrorKind::Transport => 502,
            ErrorKind::Timeout => 504,
        }
    }

    /// The closest `std::io::ErrorKind`, for errors handed to I/O code.
    fn io_kind(&self) -> std::io::ErrorKind {
        use std::io::ErrorKind as Io;
        match self {
            ErrorKind::NotFound => Io::NotFound,
            ErrorKind::AlreadyExists => Io::AlreadyExists,
            ErrorKind::Unauthorized | ErrorKind::Forbidden => Io::PermissionDenied,
            ErrorKind::Timeout => Io::TimedOut,
            ErrorKind::Transport => Io::ConnectionAborted,
            ErrorKind::InvalidKey | ErrorKind::InvalidInput => Io::InvalidInput,
            ErrorKind::Unsupported { .. } => Io::Unsupported,
            _ => Io::Other,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotFound => f.write_str("blob not found"),
            ErrorKind::AlreadyExists => f.write_str("blob already exists"),
            ErrorKind::PreconditionFailed => {
                f.write_str("precondition failed (the blob changed or is missing)")
            }
            ErrorKind::NotModified => f.write_str("not modified"),
            ErrorKind::InvalidKey => f.write_str("invalid key"),
            ErrorKind::InvalidInput => f.write_str("invalid input"),
            ErrorKind::InvalidConfig { var } => write!(f, "invalid configuration in {var}"),
            ErrorKind::Unauthorized => {
                f.write_str("unauthorized (credentials missing or rejected)")
            }
            ErrorKind::Forbidden => f.write_str("forbidden"),
            ErrorKind::TooLarge => f.write_str("too large"),
            ErrorKind::RateLimited {
                retry_after: Some(d),
            } => {
                write!(f, "rate limited (retry after {} ms)", d.as_millis())
            }
            ErrorKind::RateLimited { retry_after: None } => f.write_str("rate limited"),
            ErrorKind::Unsupported { op } => write!(f, "{op} is not supported by this provider"),
            ErrorKind::Timeout => f.write_str("timed out"),
            ErrorKind::Transport => f.write_str("transport error"),
            ErrorKind::Backend => f.write_str("backend error"),
        }
    }
}

/// The error every [`BlobStore`](crate::BlobStore) operation returns.
///
/// ```
/// use storage_core::{Error, ErrorKind, Provider};
/// let err = Error::new(ErrorKind::NotFound, Provider::Local)
///     .with_key("recordings/a.webm")
///     .with_message("no such file under the store root");
/// assert_eq!(
///     err.to_string(),
///     "local: blob not found: key `recordings/a.webm`: no such file under the store root"
/// );
/// assert!(!err.is_retryable());
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    provider: Option<Provider>,
    key: Option<String>,
    message: Option<String>,
    retryable: Option<bool>,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

/// Keys in messages are cut to this many characters so a hostile 100 kB key
/// cannot flood a log line.
const KEY_DISPLAY_LIMIT: usize = 120;

impl Error {
    /// An error of `kind` raised by `provider`.
    pub fn new(kind: ErrorKind, provider: Provider) -> Self {
        Self::without_provider(kind).with_provider(provider)
    }

    /// An error raised before any provider is involved (key parsing, config).
    pub fn without_provider(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                provider: None,
                key: None,
                message: None,
                retryable: None,
                retry_after: None,
                source: None,
            }),
        }
    }

    /// A configuration error naming the variable and what to set.
    ///
    /// ```
    /// use storage_core::Error;
    /// let err = Error::config("BLOB_STORAGE_PROVIDER", "unknown provider `s3`");
    /// assert!(err.to_string().contains("BLOB_STORAGE_PROVIDER"));
    /// ```
    pub fn config(var: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::without_provider(ErrorKind::InvalidConfig { var: var.into() }).with_message(reason)
    }

    /// `Unsupported { op }` from `provider`.
    pub fn unsupported(provider: Provider, op: &'static str) -> Self {
        Self::new(ErrorKind::Unsupported { op }, provider)
    }

    /// Sets the provider (kept if already set).
    pub fn with_provider(mut self, provider: Provider) -> Self {
        self.inner.provider.get_or_insert(provider);
        self
    }

    /// Sets the key the operation was about.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.inner.key = Some(key.into());
        self
    }

    /// Sets a message that tells the user what happened and what to do.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Attaches the underlying cause, reachable through `source()`.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Overrides whether [`is_retryable`](Self::is_retryable) says yes, for
    /// adapters that know better than the kind (a 503 `Backend` error is).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = Some(retryable);
        self
    }

    /// Records how long the server asked us to wait (`Retry-After`) on an
    /// answer that is not a rate limit, such as a 503; retries honour it.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.inner.retry_after = Some(wait);
        self
    }

    /// How long the server asked us to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.inner.kind {
            ErrorKind::RateLimited { retry_after } => retry_after.or(self.inner.retry_after),
            _ => self.inner.retry_after,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The provider that raised it, if any was involved.
    pub fn provider(&self) -> Option<Provider> {
        self.inner.provider
    }

    /// The key the operation was about.
    pub fn key(&self) -> Option<&str> {
        self.inner.key.as_deref()
    }

    /// The adapter's explanation.
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// Whether retrying the same idempotent request may succeed: timeouts,
    /// broken connections and rate limiting are; the rest are not unless the
    /// adapter said so.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable.unwrap_or(matches!(
            self.inner.kind,
            ErrorKind::Timeout | ErrorKind::Transport | ErrorKind::RateLimited { .. }
        ))
    }

    /// Whether this is [`ErrorKind::NotFound`].
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::NotFound
    }

    /// Maps an I/O error from `provider` to the matching kind, keeping it as
    /// the source.
    pub fn from_io(provider: Provider, err: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::PermissionDenied => ErrorKind::Forbidden,
            Io::TimedOut => ErrorKind::Timeout,
            Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::ConnectionRefused
            | Io::BrokenPipe
            | Io::UnexpectedEof => ErrorKind::Transport,
            Io::InvalidInput | Io::InvalidData => ErrorKind::InvalidInput,
            _ => ErrorKind::Backend,
        };
        Self::new(kind, provider).with_source(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = self.inner.provider {
            write!(f, "{provider}: ")?;
        }
        write!(f, "{}", self.inner.kind)?;
        if let Some(key) = &self.inner.key {
            f.write_str(": key `")?;
            for c in key.chars().take(KEY_DISPLAY_LIMIT) {
                write!(f, "{}", c.escape_debug())?;
            }
            if key.chars().count() > KEY_DISPLAY_LIMIT {
                f.write_str("…")?;
            }
            f.write_str("`")?;
        }
        if let Some(message) = &self.inner.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(p) = self.inner.provider {
            d.field("provider", &p);
        }
        if let Some(k) = &self.inner.key {
            d.field("key", k);
        }
        if let Some(m) = &self.inner.message {
            d.field("message", m);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// The storage error as an I/O error for I/O code (an `AsyncRead`, a
/// `std::io::Write` adapter): the `io::ErrorKind` follows the storage kind
/// (`NotFound`, `TimedOut`, `PermissionDenied`, `ConnectionAborted` …,
/// else `Other`) and the storage error itself is the inner error, so
/// `io_err.downcast::<storage_core::Error>()` gives it back whole.
///
/// ```
/// use storage_core::{Error, ErrorKind};
/// let io = std::io::Error::from(Error::without_provider(ErrorKind::NotFound));
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// assert!(io.downcast::<Error>().unwrap().is_not_found());
/// ```
impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::new(err.kind().io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_escapes_and_truncates_hostile_keys() {
        let key = format!("a\u{0}\n{}", "x".repeat(500));
        let text = Error::without_provider(ErrorKind::InvalidKey)
            .with_key(key)
            .to_string();
        assert!(text.contains("a\\0\\n"), "{text}");
        assert!(text.len() < 200, "{text}");
        assert!(text.ends_with("…`"), "{text}");
    }

    #[test]
    fn retryable_follows_kind_unless_overridden() {
        assert!(Error::new(ErrorKind::Timeout, Provider::Memory).is_retryable());
        assert!(Error::new(
            ErrorKind::RateLimited { retry_after: None },
            Provider::Azure
        )
        .is_retryable());
        assert!(!Error::new(ErrorKind::Backend, Provider::Azure).is_retryable());
        assert!(Error::new(ErrorKind::Backend, Provider::Azure)
            .with_retryable(true)
            .is_retryable());
    }

    #[test]
    fn io_errors_map_to_kinds() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(Error::from_io(Provider::Local, not_found).is_not_found());
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            Error::from_io(Provider::Local, denied).kind(),
            &ErrorKind::Forbidden
        );
    }

    #[test]
    fn every_kind_has_the_documented_status() {
        let cases = [
            (ErrorKind::NotModified, 304),
            (ErrorKind::InvalidKey, 400),
            (ErrorKind::InvalidInput, 400),
            (ErrorKind::NotFound, 404),
            (ErrorKind::AlreadyExists, 409),
            (ErrorKind::PreconditionFailed, 412),
            (ErrorKind::TooLarge, 413),
            (ErrorKind::RateLimited { retry_after: None }, 429),
            (ErrorKind::InvalidConfig { var: "X".into() }, 500),
            (ErrorKind::Unauthorized, 500),
            (ErrorKind::Forbidden, 500),
            (ErrorKind::Backend, 500),
            (ErrorKind::Unsupported { op: "copy" }, 501),
            (ErrorKind::Transport, 502),
            (ErrorKind::Timeout, 504),
        ];
        for (kind, status) in cases {
            assert_eq!(kind.http_status(), status, "{kind:?}");
        }
    }
}
