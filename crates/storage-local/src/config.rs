//! Configuration of the local store, from code or from the environment.

use std::path::PathBuf;

use storage_core::{redact::Secret, Error, Result};

use crate::durable::{Fsync, FSYNC_VAR};

/// The variable naming the store's root directory.
pub const PATH_VAR: &str = "LOCAL_STORAGE_PATH";
/// The variable naming where the signed-URL router is mounted.
pub const BASE_URL_VAR: &str = "LOCAL_STORAGE_BASE_URL";
/// The variable holding the HMAC key for signed URLs.
pub const SIGNING_KEY_VAR: &str = "LOCAL_STORAGE_SIGNING_KEY";

/// The root used when [`PATH_VAR`] is unset.
pub const DEFAULT_ROOT: &str = "./.blobs";
/// The base of signed URLs when [`BASE_URL_VAR`] is unset: a path, so the
/// URLs are relative to the app that mounts the router there.
pub const DEFAULT_BASE_URL: &str = "/blobs";
/// The shortest signing key accepted, in bytes.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Where the local store keeps its files, how it signs URLs, and whether
/// writes wait for the disk.
///
/// ```
/// use storage_local::{Fsync, LocalConfig};
/// let config = LocalConfig::from_lookup(|var| match var {
///     "LOCAL_STORAGE_PATH" => Some("/srv/blobs".into()),
///     "LOCAL_STORAGE_BASE_URL" => Some("https://app.example/blobs/".into()),
///     "LOCAL_STORAGE_FSYNC" => Some("never".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.root, std::path::PathBuf::from("/srv/blobs"));
/// assert_eq!(config.base_url, "https://app.example/blobs");
/// assert_eq!(config.fsync, Fsync::Never);
/// assert!(format!("{config:?}").contains("Never"));
/// assert!(LocalConfig::from_lookup(|v| (v == "LOCAL_STORAGE_SIGNING_KEY").then(|| "short".into())).is_err());
/// assert!(LocalConfig::from_lookup(|v| (v == "LOCAL_STORAGE_FSYNC").then(|| "off".into())).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalConfig {
    /// The root directory; created on open if missing.
    pub root: PathBuf,
    /// Where the signed-URL router is mounted: an absolute `http(s)://` URL,
    /// or a path for URLs relative to the app's origin. No trailing `/`.
    pub base_url: String,
    /// The HMAC key for signed URLs; when `None`, a random key is generated
    /// once per process (URLs then stop working when the process restarts).
    pub signing_key: Option<Secret<String>>,
    /// Whether writes are flushed to disk before they return
    /// ([`FSYNC_VAR`]); [`Fsync::Always`] unless set.
    pub fsync: Fsync,
}

impl LocalConfig {
    /// A store rooted at `root`, URLs under [`DEFAULT_BASE_URL`], a
    /// per-process signing key, and writes flushed to disk
    /// ([`Fsync::Always`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalConfig {
            root: root.into(),
            base_url: DEFAULT_BASE_URL.to_string(),
            signing_key: None,
            fsync: Fsync::Always,
        }
    }

    /// Sets whether writes wait for the disk (see [`Fsync`]).
    ///
    /// ```
    /// use storage_local::{Fsync, LocalConfig};
    /// let scratch = LocalConfig::new("/tmp/scratch-blobs").fsync(Fsync::Never);
    /// assert_eq!(scratch.fsync, Fsync::Never);
    /// ```
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Sets the base of signed URLs (validated like [`BASE_URL_VAR`]).
    pub fn base_url(mut self, base: &str) -> Result<Self> {
        self.base_url = parse_base_url(base)?;
        Ok(self)
    }

    /// Sets the signing key (at least [`MIN_SIGNING_KEY_BYTES`] bytes).
    pub fn signing_key(mut self, key: impl Into<String>) -> Result<Self> {
        self.signing_key = Some(parse_signing_key(key.into())?);
        Ok(self)
    }

    /// Reads the variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the variables through `lookup`, so tests and apps with their
    /// own configuration source need not touch the process environment.
    /// An empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let root = match get(PATH_VAR) {
            Some(path) if path.contains('\0') => {
                return Err(Error::config(PATH_VAR, "the path contains a NUL byte"))
            }
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(DEFAULT_ROOT),
        };
        let base_url = match get(BASE_URL_VAR) {
            Some(base) => parse_base_url(&base)?,
            None => DEFAULT_BASE_URL.to_string(),
        };
        let signing_key = get(SIGNING_KEY_VAR).map(parse_signing_key).transpose()?;
        let fsync = match get(FSYNC_VAR) {
            Some(value) => value.parse()?,
            None => Fsync::Always,
        };
        Ok(LocalConfig {
            root,
            base_url,
            signing_key,
            fsync,
        })
    }
}

fn parse_base_url(base: &str) -> Result<String> {
    let base = base.trim().trim_end_matches('/');
    let absolute = base.starts_with("http://") || base.starts_with("https://");
    let reason = if base.contains(['?', '#']) {
        Some("must not contain a query or fragment")
    } else if base.chars().any(|c| c.is_control() || c == ' ') {
        Some("must not contain spaces or control characters")
    } else if !absolute && !base.starts_with('/') && !base.is_empty() {
        Some("must be an absolute http(s) URL or a path starting with `/`")
    } else if absolute && base.split("://").nth(1).is_none_or(|rest| rest.is_empty()) {
        Some("has no host")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::config(
            BASE_URL_VAR,
            format!(
                "`{}` {reason}; set it to where the app mounts the signed-URL router, \
                 e.g. https://app.example/blobs or /blobs",
                base.escape_debug()
            ),
        )),
        None => Ok(base.to_string()),
    }
}

fn parse_signing_key(key: String) -> Result<Secret<String>> {
    if key.len() < MIN_SIGNING_KEY_BYTES {
        return Err(Error::config(
            SIGNING_KEY_VAR,
            format!(
                "the key has {} bytes; use at least {MIN_SIGNING_KEY_BYTES} random bytes \
                 (e.g. `openssl rand -hex 32`)",
                key.len()
            ),
        ));
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_base_urls_name_the_variable() {
        for bad in ["ftp://x", "blobs", "https://", "/a?b=c", "/a b"] {
            let err = LocalConfig::new("r").base_url(bad).expect_err(bad);
            assert!(err.to_string().contains(BASE_URL_VAR), "{err}");
        }
        for good in [
            "/blobs",
            "http://127.0.0.1:8080/blobs/",
            "https://app.example",
        ] {
            assert!(LocalConfig::new("r").base_url(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn the_fsync_setting_is_read_from_its_variable_and_defaults_to_always() {
        let with = |value: &'static str| {
            LocalConfig::from_lookup(move |var| (var == FSYNC_VAR).then(|| value.to_string()))
        };
        assert_eq!(with("never").expect("never").fsync, Fsync::Never);
        assert_eq!(with("ALWAYS").expect("always").fsync, Fsync::Always);
        assert_eq!(with("  ").expect("blank is unset").fsync, Fsync::Always);
        assert_eq!(
            LocalConfig::from_lookup(|_| None).expect("unset").fsync,
            Fsync::Always
        );
        let err = with("off").expect_err("off");
        assert!(
            matches!(err.kind(), storage_core::ErrorKind::InvalidConfig { var } if var == FSYNC_VAR),
            "{err}"
        );
        assert!(err.to_string().contains("`never`"), "{err}");
        assert!(format!("{:?}", LocalConfig::new("r").fsync(Fsync::Never)).contains("fsync: Never"));
    }

    #[test]
    fn short_keys_are_refused_without_echoing_them() {
        let err = LocalConfig::new("r")
            .signing_key("hunter2-hunter2")
            .expect_err("short");
        assert!(err.to_string().contains(SIGNING_KEY_VAR));
        assert!(!err.to_string().contains("hunter2"));
        let ok = LocalConfig::new("r")
            .signing_key("k".repeat(32))
            .expect("32 bytes");
        assert!(!format!("{ok:?}").contains("kkkk"));
    }
}
