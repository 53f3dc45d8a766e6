//! Options for writing a blob, and their validation.
//!
//! Header-like values are checked here, once, so that no provider ever sends a
//! value with a line break (header injection) or one it would silently alter.

use std::collections::BTreeMap;

use crate::{BlobKey, Error, ErrorKind, Result};

/// What a write may replace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Write whether or not the blob exists.
    #[default]
    Overwrite,
    /// Write only if no blob has this key; otherwise [`ErrorKind::AlreadyExists`].
    Create,
    /// Write only if the current blob has this etag; otherwise
    /// [`ErrorKind::PreconditionFailed`] (also when there is no blob).
    IfMatch(String),
}

impl PutMode {
    /// Checks the etag of `IfMatch` (printable ASCII, as it becomes a header).
    pub fn validate(&self) -> Result<()> {
        match self {
            PutMode::IfMatch(etag) => check_header_value("if-match etag", etag),
            PutMode::Overwrite | PutMode::Create => Ok(()),
        }
    }
}

/// The most bytes of user metadata (names plus values) a blob may carry;
/// Azure's limit, the tightest of the providers that support metadata.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Options for [`BlobStore::put`](crate::BlobStore::put).
///
/// ```
/// use storage_core::{PutMode, PutOptions};
/// let opts = PutOptions::new()
///     .mode(PutMode::Create)
///     .content_type("audio/webm")
///     .cache_control("private, max-age=3600")
///     .metadata("uploaded_by", "user_42");
/// assert!(opts.validate().is_ok());
/// assert!(PutOptions::new().metadata("Bad-Name", "x").validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// What the write may replace.
    pub mode: PutMode,
    /// MIME type; inferred from the key's extension when `None`.
    pub content_type: Option<String>,
    /// `Cache-Control` to serve the blob with.
    pub cache_control: Option<String>,
    /// `Content-Disposition` to serve the blob with.
    pub content_disposition: Option<String>,
    /// User metadata: names match `[a-z_][a-z0-9_]*` (what Azure, HTTP/2 and
    /// a filesystem all keep exactly), values are printable ASCII.
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    /// Default options: overwrite, inferred content type, no metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the write mode.
    pub fn mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the content type.
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = Some(value.into());
        self
    }

    /// Sets `Cache-Control`.
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Sets `Content-Disposition`.
    pub fn content_disposition(mut self, value: impl Into<String>) -> Self {
        self.content_disposition = Some(value.into());
        self
    }

    /// Adds one user metadata entry.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// Checks every value; stores call this before any I/O.
    pub fn validate(&self) -> Result<()> {
        self.mode.validate()?;
        if let Some(ct) = &self.content_type {
            check_header_value("content type", ct)?;
            if !looks_like_mime(ct) {
                return Err(invalid(format!(
                    "content type `{ct}` is not of the form `type/subtype`"
                )));
            }
        }
        if let Some(v) = &self.cache_control {
            check_header_value("cache-control", v)?;
        }
        if let Some(v) = &self.content_disposition {
            check_header_value("content-disposition", v)?;
        }
        validate_metadata(&self.metadata)
    }

    /// The content type to store for `key`: the one given, else the one
    /// registered for the key's extension, else `application/octet-stream`.
    ///
    /// ```
    /// use storage_core::{BlobKey, PutOptions};
    /// let key = BlobKey::new("img/cat.png").unwrap();
    /// assert_eq!(PutOptions::new().content_type_for(&key), "image/png");
    /// let bare = BlobKey::new("README").unwrap();
    /// assert_eq!(PutOptions::new().content_type_for(&bare), "application/octet-stream");
    /// ```
    pub fn content_type_for(&self, key: &BlobKey) -> String {
        match &self.content_type {
            Some(ct) => ct.clone(),
            None => infer_content_type(key),
        }
    }
}

/// The content type registered for the key's extension, or
/// `application/octet-stream`.
pub fn infer_content_type(key: &BlobKey) -> String {
    mime_guess::from_path(key.file_name())
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

fn looks_like_mime(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    match essence.split_once('/') {
        Some((t, s)) => {
            let token = |x: &str| {
                !x.is_empty()
                    && x.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            };
            token(t) && token(s)
        }
        None => false,
    }
}

/// Refuses values a provider could not store and return exactly: control
/// characters (header injection), non-ASCII, surrounding white space.
pub(crate) fn check_header_value(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if value.len() > 4096 {
        return Err(invalid(format!("{what} is longer than 4096 bytes")));
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(invalid(format!(
            "{what} must be printable ASCII (no control characters or line breaks); \
             encode non-ASCII text, e.g. RFC 5987 `filename*=UTF-8''…`"
        )));
    }
    if value.trim() != value {
        return Err(invalid(format!(
            "{what} must not start or end with white space"
        )));
    }
    Ok(())
}

fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    let mut total = 0;
    for (name, value) in metadata {
        let mut bytes = name.bytes();
        let valid_name = matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
            && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
            && name.len() <= 128;
        if !valid_name {
            return Err(invalid(format!(
                "metadata name `{}` must match [a-z_][a-z0-9_]* (at most 128 bytes), \
                 the form every provider keeps exactly",
                name.escape_debug()
            )));
        }
        if !value.is_empty() {
            check_header_value(&format!("metadata value for `{name}`"), value)?;
        }
        total += name.len() + value.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "user metadata is {total} bytes; at most {MAX_METADATA_BYTES} are allowed"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> Error {
    Error::without_provider(ErrorKind::InvalidInput).with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_is_refused() {
        let opts = PutOptions::new().cache_control("max-age=1\r\nx-evil: 1");
        assert_eq!(
            opts.validate().expect_err("crlf").kind(),
            &ErrorKind::InvalidInput
        );
        assert!(PutOptions::new()
            .content_disposition("attachment; filename=\"é.txt\"")
            .validate()
            .is_err());
        assert!(PutOptions::new()
            .content_type("nonsense")
            .validate()
            .is_err());
        assert!(PutOptions::new()
            .content_type("text/plain; charset=utf-8")
            .validate()
            .is_ok());
    }

    #[test]
    fn metadata_names_and_size_are_checked() {
        assert!(PutOptions::new()
            .metadata("ok_name1", "v")
            .validate()
            .is_ok());
        for bad in ["", "1abc", "with-dash", "Upper", "sp ace"] {
            assert!(
                PutOptions::new().metadata(bad, "v").validate().is_err(),
                "{bad}"
            );
        }
        let big = PutOptions::new().metadata("big", "x".repeat(MAX_METADATA_BYTES));
        assert!(big.validate().is_err());
    }
}
