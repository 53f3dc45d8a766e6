//! Configuration: the read-write token, where the API and the blob host are,
//! the access level of new blobs, and the transfer and retry knobs.
//!
//! Everything is checked when the config is built, so a missing or malformed
//! variable fails at start-up with an error naming the variable, never at
//! the first request. The token is held in a [`Secret`] and never appears in
//! `Debug` output or in an error message.

use std::fmt;
use storage_core::retry::RetryPolicy;
use storage_core::{redact::Secret, Error, Result};

/// The read-write token, `vercel_blob_rw_<storeId>_<secret>` (required).
pub const TOKEN_VAR: &str = "BLOB_READ_WRITE_TOKEN";
/// The API base URL (optional; the official SDK reads the same variable).
pub const API_URL_VAR: &str = "VERCEL_BLOB_API_URL";
/// `public` or `private` (optional, default `private`).
pub const ACCESS_VAR: &str = "BLOB_STORAGE_ACCESS";
/// The base URL that blob pathnames are appended to for reads (optional).
pub const BLOB_HOST_URL_VAR: &str = "VERCEL_BLOB_HOST_URL";

/// The production API.
pub const DEFAULT_API_URL: &str = "https://vercel.com/api/blob";
/// Multipart part size: the official SDK's.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// Every part but the last must be at least this large (the service's rule).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploaded at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Who may read a blob without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone holding the URL.
    Public,
    /// Only the read-write token or a presigned URL.
    Private,
}

impl Access {
    /// The wire name, `public` or `private`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Private => "private",
        }
    }
}

/// Everything a [`VercelStore`](crate::VercelStore) needs.
///
/// ```
/// use storage_vercel::{Access, VercelConfig};
/// let config = VercelConfig::from_lookup(|var| match var {
///     "BLOB_READ_WRITE_TOKEN" => Some("vercel_blob_rw_abc123_s3cr3t".into()),
///     "BLOB_STORAGE_ACCESS" => Some("public".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.store_id(), "abc123");
/// assert_eq!(config.access_level(), Access::Public);
/// assert_eq!(config.blob_host(), "https://abc123.public.blob.vercel-storage.com");
/// assert!(!format!("{config:?}").contains("s3cr3t"));
///
/// let err = VercelConfig::from_lookup(|_| None).unwrap_err();
/// assert!(err.to_string().contains("BLOB_READ_WRITE_TOKEN"));
/// ```
#[derive(Clone)]
pub struct VercelConfig {
    token: Secret<String>,
    store_id: String,
    api_url: String,
    blob_host_url: Option<String>,
    access: Access,
    part_size: usize,
    multipart_threshold: u64,
    concurrency: usize,
    retry: RetryPolicy,
}

impl VercelConfig {
    /// A config for the store the read-write `token` belongs to, with every
    /// other setting at its default. Fails, naming [`TOKEN_VAR`], when the
    /// token is not shaped like `vercel_blob_rw_<storeId>_<secret>`.
    pub fn new(token: impl Into<String>) -> Result<Self> {
        let token = token.into();
        let store_id = parse_token(&token)?;
        Ok(VercelConfig {
            token: Secret::new(token),
            store_id,
            api_url: DEFAULT_API_URL.to_string(),
            blob_host_url: None,
            access: Access::Private,
            part_size: DEFAULT_PART_SIZE,
            multipart_threshold: DEFAULT_PART_SIZE as u64,
            concurrency: DEFAULT_CONCURRENCY,
            retry: RetryPolicy::default(),
        })
    }

    /// Reads [`TOKEN_VAR`], [`API_URL_VAR`], [`ACCESS_VAR`],
    /// [`BLOB_HOST_URL_VAR`] and the retry and timeout variables
    /// ([`storage_core::retry`]) from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (a map in tests, a secrets manager in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let set = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let token = set(TOKEN_VAR).ok_or_else(|| {
            Error::config(
                TOKEN_VAR,
                "is not set; set it to the store's read-write token (vercel_blob_rw_…), \
                 found under Storage → your Blob store → .env.local in the Vercel dashboard",
            )
        })?;
        let mut config = Self::new(token.trim())?;
        config.retry = RetryPolicy::from_lookup(&lookup)?;
        if let Some(url) = set(API_URL_VAR) {
            config = config.api_url(&url)?;
        }
        if let Some(url) = set(BLOB_HOST_URL_VAR) {
            config = config.blob_host_url(&url)?;
        }
        if let Some(access) = set(ACCESS_VAR) {
            config.access = match access.trim() {
                "public" => Access::Public,
                "private" => Access::Private,
                other => {
                    return Err(Error::config(
                        ACCESS_VAR,
                        format!(
                            "must be `public` or `private`, not `{}`",
                            other.escape_debug()
                        ),
                    ))
                }
            };
        }
        Ok(config)
    }

    /// Sets the API base URL (the emulator's address in tests).
    pub fn api_url(mut self, url: &str) -> Result<Self> {
        self.api_url = checked_url(API_URL_VAR, url)?;
        Ok(self)
    }

    /// Sets the base URL blob pathnames are appended to for reads, e.g.
    /// `http://127.0.0.1:3000/_blob/private` for the emulator. By default it
    /// is the production host `https://<storeId>.<access>.blob.vercel-storage.com`.
    pub fn blob_host_url(mut self, url: &str) -> Result<Self> {
        self.blob_host_url = Some(checked_url(BLOB_HOST_URL_VAR, url)?);
        Ok(self)
    }

    /// Sets the access level of blobs this store writes.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Sets the multipart part size (at least 5 MiB, the service's minimum).
    pub fn part_size(mut self, bytes: usize) -> Result<Self> {
        if bytes < MIN_PART_SIZE {
            return Err(Error::config(
                "part_size",
                format!("must be at least {MIN_PART_SIZE} bytes, the service's minimum part size"),
            ));
        }
        self.part_size = bytes;
        Ok(self)
    }

    /// Bodies larger than this (or of unknown length that turn out larger)
    /// are uploaded in parts; smaller ones in one request. It is capped at
    /// the part size so a single put never buffers more than one part.
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Sets how many parts are uploaded at once (at least 1). Memory held by
    /// one upload is at most `concurrency × part_size`.
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Sets the retry and timeout policy (by default the one the
    /// `BLOB_STORAGE_*` variables describe, see [`storage_core::retry`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The store id, taken from the token.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The access level of new blobs.
    pub fn access_level(&self) -> Access {
        self.access
    }

    /// The API base URL, without a trailing `/`.
    pub fn api_base(&self) -> &str {
        &self.api_url
    }

    /// The blob host base URL, without a trailing `/`.
    pub fn blob_host(&self) -> String {
        match &self.blob_host_url {
            Some(url) => url.clone(),
            None => format!(
                "https://{}.{}.blob.vercel-storage.com",
                self.store_id.to_ascii_lowercase(),
                self.access.as_str()
            ),
        }
    }

    pub(crate) fn token(&self) -> &Secret<String> {
        &self.token
    }

    pub(crate) fn part_size_bytes(&self) -> usize {
        self.part_size
    }

    pub(crate) fn threshold(&self) -> u64 {
        self.multipart_threshold.min(self.part_size as u64)
    }

    pub(crate) fn parallel_parts(&self) -> usize {
        self.concurrency
    }

    /// The retry and timeout policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

fn parse_token(token: &str) -> Result<String> {
    let shape = "must look like vercel_blob_rw_<storeId>_<secret>; copy the read-write \
                 token of the store from the Vercel dashboard (the value is not shown here)";
    let rest = token
        .strip_prefix("vercel_blob_rw_")
        .ok_or_else(|| Error::config(TOKEN_VAR, shape))?;
    let (store_id, secret) = rest
        .split_once('_')
        .ok_or_else(|| Error::config(TOKEN_VAR, shape))?;
    let store_ok = !store_id.is_empty() && store_id.bytes().all(|b| b.is_ascii_alphanumeric());
    let secret_ok = !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_graphic());
    if !store_ok || !secret_ok {
        return Err(Error::config(TOKEN_VAR, shape));
    }
    Ok(store_id.to_string())
}

fn checked_url(var: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    let parsed = url::Url::parse(raw).map_err(|e| {
        Error::config(
            var,
            format!(
                "`{}` is not an absolute URL ({e})",
                storage_core::redact::redact_url(raw)
            ),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::config(
            var,
            format!(
                "`{}` must be an http:// or https:// URL",
                storage_core::redact::redact_url(raw)
            ),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::config(
            var,
            "must not carry a query string or fragment",
        ));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

impl fmt::Debug for VercelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VercelConfig")
            .field("token", &self.token)
            .field("store_id", &self.store_id)
            .field("api_url", &self.api_url)
            .field("blob_host_url", &self.blob_host())
            .field("access", &self.access)
            .field("part_size", &self.part_size)
            .field("multipart_threshold", &self.multipart_threshold)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage_core::ErrorKind;

    const TOKEN: &str = "vercel_blob_rw_Store1_topsecretvalue";

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    fn var_of(err: &Error) -> String {
        match err.kind() {
            ErrorKind::InvalidConfig { var } => var.clone(),
            other => panic!("expected InvalidConfig, saw {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_protocol() {
        let config = VercelConfig::from_lookup(lookup(&[(TOKEN_VAR, TOKEN)])).expect("config");
        assert_eq!(config.store_id(), "Store1");
        assert_eq!(config.api_base(), DEFAULT_API_URL);
        assert_eq!(config.access_level(), Access::Private);
        assert_eq!(
            config.blob_host(),
            "https://store1.private.blob.vercel-storage.com"
        );
    }

    #[test]
    fn malformed_tokens_name_the_variable_and_hide_the_value() {
        for bad in [
            "vercel_blob_rw_",
            "vercel_blob_rw_store",
            "vercel_blob_rw_store_",
            "vercel_blob_rw__secretpart",
            "vercel_blob_client_store_secretpart",
            "Bearer vercel_blob_rw_store_sec ret",
            "secretpart",
        ] {
            let err = VercelConfig::from_lookup(lookup(&[(TOKEN_VAR, bad)])).expect_err(bad);
            assert_eq!(var_of(&err), TOKEN_VAR);
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("secretpart"), "{shown}");
        }
        let missing = VercelConfig::from_lookup(lookup(&[])).expect_err("missing");
        assert_eq!(var_of(&missing), TOKEN_VAR);
    }

    #[test]
    fn access_and_urls_are_checked() {
        let err = VercelConfig::from_lookup(lookup(&[(TOKEN_VAR, TOKEN), (ACCESS_VAR, "open")]))
            .expect_err("bad access");
        assert_eq!(var_of(&err), ACCESS_VAR);
        assert!(!format!("{err:?}").contains("topsecretvalue"));
        let err = VercelConfig::from_lookup(lookup(&[(TOKEN_VAR, TOKEN), (API_URL_VAR, "nope")]))
            .expect_err("bad url");
        assert_eq!(var_of(&err), API_URL_VAR);
        let err = VercelConfig::from_lookup(lookup(&[
            (TOKEN_VAR, TOKEN),
            (BLOB_HOST_URL_VAR, "ftp://x/y"),
        ]))
        .expect_err("bad host");
        assert_eq!(var_of(&err), BLOB_HOST_URL_VAR);
        let ok = VercelConfig::from_lookup(lookup(&[
            (TOKEN_VAR, TOKEN),
            (API_URL_VAR, "http://127.0.0.1:9/api/blob/"),
            (BLOB_HOST_URL_VAR, "http://127.0.0.1:9/_blob/public/"),
            (ACCESS_VAR, "public"),
        ]))
        .expect("config");
        assert_eq!(ok.api_base(), "http://127.0.0.1:9/api/blob");
        assert_eq!(ok.blob_host(), "http://127.0.0.1:9/_blob/public");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let config = VercelConfig::new(TOKEN).expect("config");
        let shown = format!("{config:?}");
        assert!(!shown.contains("topsecretvalue"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
