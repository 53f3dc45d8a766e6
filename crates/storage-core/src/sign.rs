//! Signed URLs: what a browser needs to read or write a blob directly.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::{redact::redact_url, Error, ErrorKind, Result};

/// How long a signed URL lives when the caller does not say.
pub const DEFAULT_SIGN_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// The longest expiry any provider here accepts (Azure's service SAS allows
/// more, but a week-long bearer URL is almost always a mistake).
pub const MAX_SIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The HTTP method a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignMethod {
    /// Download (`GET`; `HEAD` too where the provider allows).
    Get,
    /// Upload (`PUT`).
    Put,
    /// Delete (`DELETE`).
    Delete,
}

impl SignMethod {
    /// The HTTP method name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SignMethod::Get => "GET",
            SignMethod::Put => "PUT",
            SignMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for SignMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options for [`BlobStore::signed_url`](crate::BlobStore::signed_url).
///
/// ```
/// use std::time::Duration;
/// use storage_core::{SignMethod, SignOptions};
/// let opts = SignOptions::new(SignMethod::Put)
///     .expires_in(Duration::from_secs(300))
///     .content_type("audio/webm")
///     .max_size(50 << 20);
/// assert!(opts.validate().is_ok());
/// assert!(SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(30 * 24 * 3600)).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignOptions {
    /// The one method the URL allows.
    pub method: SignMethod,
    /// How long the URL stays valid.
    pub expires_in: Duration,
    /// For uploads: the content type the upload must have. For downloads:
    /// the content type to serve, where the provider can override it.
    pub content_type: Option<String>,
    /// For uploads: the largest body accepted, where the provider can enforce it.
    pub max_size: Option<u64>,
    /// For downloads: the `Content-Disposition` to serve, where the provider
    /// can override it (e.g. `attachment; filename="a.webm"`).
    pub content_disposition: Option<String>,
}

impl SignOptions {
    /// A URL for `method`, valid for [`DEFAULT_SIGN_EXPIRY`].
    pub fn new(method: SignMethod) -> Self {
        SignOptions {
            method,
            expires_in: DEFAULT_SIGN_EXPIRY,
            content_type: None,
            max_size: None,
            content_disposition: None,
        }
    }

    /// Sets the lifetime.
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in = d;
        self
    }

    /// Sets the required (upload) or served (download) content type.
    pub fn content_type(mut self, ct: impl Into<String>) -> Self {
        self.content_type = Some(ct.into());
        self
    }

    /// Sets the largest upload accepted.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// Sets the served `Content-Disposition`.
    pub fn content_disposition(mut self, cd: impl Into<String>) -> Self {
        self.content_disposition = Some(cd.into());
        self
    }

    /// Checks the expiry bound and the header values.
    pub fn validate(&self) -> Result<()> {
        let invalid = |m: String| Error::without_provider(ErrorKind::InvalidInput).with_message(m);
        if self.expires_in.is_zero() {
            return Err(invalid("a signed URL must live longer than 0 s".into()));
        }
        if self.expires_in > MAX_SIGN_EXPIRY {
            return Err(invalid(format!(
                "signed URLs live at most {} s (7 days); {} s was asked",
                MAX_SIGN_EXPIRY.as_secs(),
                self.expires_in.as_secs()
            )));
        }
        let mut as_put = crate::PutOptions::new();
        as_put.content_type = self.content_type.clone();
        as_put.content_disposition = self.content_disposition.clone();
        as_put.validate()
    }
}

/// A request a browser (or any HTTP client) can send without credentials.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// The method to use.
    pub method: SignMethod,
    /// The URL, signature included. It is a bearer credential: do not log it.
    pub url: String,
    /// Headers the client must send with the request.
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}

impl SignedRequest {
    /// A signed request.
    pub fn new(
        method: SignMethod,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
        expires_at: SystemTime,
    ) -> Self {
        SignedRequest {
            method,
            url: url.into(),
            headers,
            expires_at,
        }
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &self.headers)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
