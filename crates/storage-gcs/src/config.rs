//! Configuration: environment variables turned into a validated
//! [`GcsConfig`] before any request is made.
//!
//! | variable | meaning |
//! |---|---|
//! | `GCS_BUCKET` | the bucket (required) |
//! | `GOOGLE_APPLICATION_CREDENTIALS` | path to a service-account key file (or to an `authorized_user` file from `gcloud auth application-default login`) |
//! | `GOOGLE_SERVICE_ACCOUNT_KEY` | a service-account key, the JSON itself |
//! | `STORAGE_EMULATOR_HOST` | an emulator (`http://127.0.0.1:4443`, or `127.0.0.1:4443`): requests go there, without credentials, as Google's own SDKs do |
//! | `GCS_ENDPOINT_URL` | another endpoint for the real service (a private endpoint, a proxy); credentials are still sent |
//!
//! With neither key variable, requests authenticate through object_store's
//! application-default chain: the well-known `gcloud` credentials file,
//! else the metadata server of the host (GCE, GKE, Cloud Run).
//!
//! Signed URLs need a service-account key (either key variable); without
//! one, [`signed_url`](storage_core::BlobStore::signed_url) says so.
//!
//! The `BLOB_STORAGE_*` retry and timeout variables of
//! [`storage_core::retry`] apply as for every provider.

use std::fmt;

use storage_core::redact::redact_url;
use storage_core::retry::RetryPolicy;
use storage_core::{Error, Result};

use crate::service_account::ServiceAccountKey;

/// `GCS_BUCKET`.
pub const BUCKET: &str = "GCS_BUCKET";
/// `GOOGLE_APPLICATION_CREDENTIALS`.
pub const APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// `GOOGLE_SERVICE_ACCOUNT_KEY`.
pub const SERVICE_ACCOUNT_KEY: &str = "GOOGLE_SERVICE_ACCOUNT_KEY";
/// `STORAGE_EMULATOR_HOST`, the variable Google's SDKs read for emulators.
pub const EMULATOR_HOST: &str = "STORAGE_EMULATOR_HOST";
/// `GCS_ENDPOINT_URL`.
pub const ENDPOINT_URL: &str = "GCS_ENDPOINT_URL";

/// The public endpoint of Cloud Storage.
pub const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
/// Default size of one chunk of a resumable upload; bodies up to this size
/// go up in one request.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// Resumable chunks must be multiples of 256 KiB.
pub const CHUNK_GRANULE: usize = 256 << 10;

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum GcsCredentials {
    /// A service-account key: OAuth tokens from it, and V4 signed URLs.
    ServiceAccount(ServiceAccountKey),
    /// An `authorized_user` file (user credentials from `gcloud`): tokens,
    /// no signed URLs.
    AuthorizedUser(String),
    /// The application-default chain: the `gcloud` file if present, else
    /// the metadata server.
    ApplicationDefault,
}

impl fmt::Debug for GcsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcsCredentials::ServiceAccount(k) => f.debug_tuple("ServiceAccount").field(k).finish(),
            GcsCredentials::AuthorizedUser(path) => {
                f.debug_tuple("AuthorizedUser").field(path).finish()
            }
            GcsCredentials::ApplicationDefault => f.write_str("ApplicationDefault"),
        }
    }
}

/// Validated settings for a [`GcsStore`](crate::GcsStore). `Debug` never
/// shows the private key.
///
/// ```
/// use storage_gcs::GcsConfig;
/// let config = GcsConfig::from_lookup(|var| match var {
///     "GCS_BUCKET" => Some("recordings".to_string()),
///     "STORAGE_EMULATOR_HOST" => Some("127.0.0.1:4443".to_string()),
///     _ => None,
/// })?;
/// assert_eq!(config.bucket(), "recordings");
/// assert_eq!(config.endpoint(), "http://127.0.0.1:4443");
/// assert!(config.is_emulator());
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct GcsConfig {
    bucket: String,
    endpoint: String,
    emulator: bool,
    credentials: GcsCredentials,
    part_size: usize,
    retry: RetryPolicy,
}

impl fmt::Debug for GcsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsConfig")
            .field("bucket", &self.bucket)
            .field("endpoint", &redact_url(&self.endpoint))
            .field("emulator", &self.emulator)
            .field("credentials", &self.credentials)
            .field("part_size", &self.part_size)
            .field("retry", &self.retry)
            .finish()
    }
}

impl GcsConfig {
    /// Reads the process environment (see the [module docs](self)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads variables through `lookup`, so tests and the `storage` facade
    /// can configure a store without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let retry = RetryPolicy::from_lookup(&lookup)?;
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());

        let bucket = get(BUCKET).map(|b| b.trim().to_string()).ok_or_else(|| {
            Error::config(
                BUCKET,
                "no bucket configured: set GCS_BUCKET to the name of an existing bucket",
            )
        })?;
        validate_bucket(&bucket).map_err(|reason| Error::config(BUCKET, reason))?;

        let (endpoint, emulator) = match (get(EMULATOR_HOST), get(ENDPOINT_URL)) {
            (Some(host), _) => (parse_endpoint(EMULATOR_HOST, &host, true)?, true),
            (None, Some(url)) => (parse_endpoint(ENDPOINT_URL, &url, false)?, false),
            (None, None) => (DEFAULT_ENDPOINT.to_string(), false),
        };

        let credentials = match (get(SERVICE_ACCOUNT_KEY), get(APPLICATION_CREDENTIALS)) {
            (Some(json), _) => GcsCredentials::ServiceAccount(
                ServiceAccountKey::parse(&json)
                    .map_err(|reason| Error::config(SERVICE_ACCOUNT_KEY, reason))?,
            ),
            (None, Some(path)) => credentials_file(path.trim())?,
            (None, None) => GcsCredentials::ApplicationDefault,
        };

        Ok(GcsConfig {
            bucket,
            endpoint,
            emulator,
            credentials,
            part_size: DEFAULT_PART_SIZE,
            retry,
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Where requests go (scheme, host, port; no trailing `/`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the endpoint is an emulator (`STORAGE_EMULATOR_HOST`):
    /// requests then carry no credentials.
    pub fn is_emulator(&self) -> bool {
        self.emulator
    }

    /// How requests are authenticated.
    pub fn credentials(&self) -> &GcsCredentials {
        &self.credentials
    }

    /// The service-account key, when there is one (it signs URLs).
    pub fn service_account(&self) -> Option<&ServiceAccountKey> {
        match &self.credentials {
            GcsCredentials::ServiceAccount(key) => Some(key),
            _ => None,
        }
    }

    /// The size of one resumable chunk; bodies up to it go up in one request.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// The retry and timeout policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The same settings with another retry and timeout policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same settings with another chunk size: a positive multiple of
    /// 256 KiB (Cloud Storage refuses other chunk sizes). Each upload holds
    /// about one chunk in memory.
    pub fn with_part_size(mut self, part_size: usize) -> Result<Self> {
        if part_size == 0 || !part_size.is_multiple_of(CHUNK_GRANULE) {
            return Err(Error::without_provider(storage_core::ErrorKind::InvalidInput)
                .with_message(format!(
                    "a resumable chunk must be a positive multiple of 256 KiB ({CHUNK_GRANULE} bytes), not {part_size}"
                )));
        }
        self.part_size = part_size;
        Ok(self)
    }
}

/// Reads the file `GOOGLE_APPLICATION_CREDENTIALS` names.
fn credentials_file(path: &str) -> Result<GcsCredentials> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            APPLICATION_CREDENTIALS,
            format!("cannot read the credentials file {path}: {e}; set it to the path of a service-account key file"),
        )
    })?;
    let kind = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string));
    match kind.as_deref() {
        Some("authorized_user") => Ok(GcsCredentials::AuthorizedUser(path.to_string())),
        _ => ServiceAccountKey::parse(&text)
            .map(GcsCredentials::ServiceAccount)
            .map_err(|reason| Error::config(APPLICATION_CREDENTIALS, format!("{path}: {reason}"))),
    }
}

/// An `http(s)://host[:port]` endpoint; an emulator host may come without
/// a scheme (`127.0.0.1:4443`), as Google's SDKs accept it.
fn parse_endpoint(var: &str, value: &str, emulator: bool) -> Result<String> {
    let value = value.trim().trim_end_matches('/');
    let with_scheme = if emulator && !value.contains("://") {
        format!("http://{value}")
    } else {
        value.to_string()
    };
    let parsed = url::Url::parse(&with_scheme).map_err(|e| {
        Error::config(
            var,
            format!(
                "`{}` is not a URL ({e}); expected e.g. http://127.0.0.1:4443",
                redact_url(value)
            ),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(Error::config(var, "expected an http(s) URL with a host"));
    }
    if parsed.query().is_some() || parsed.path() != "/" {
        return Err(Error::config(
            var,
            "expected only scheme, host and port, without a path or query",
        ));
    }
    Ok(with_scheme)
}

/// Checks a bucket name against Cloud Storage's rules (3 to 63 characters
/// of lowercase letters, digits, `-`, `_` and `.`, starting and ending
/// with a letter or digit; dotted names up to 222), so a typo fails at
/// start-up rather than as a 400 later.
///
/// ```
/// use storage_gcs::config::validate_bucket;
/// assert!(validate_bucket("my-recordings").is_ok());
/// assert!(validate_bucket("My_Bucket").is_err());
/// ```
pub fn validate_bucket(name: &str) -> std::result::Result<(), String> {
    let max = if name.contains('.') { 222 } else { 63 };
    if name.len() < 3 || name.len() > max {
        return Err(format!(
            "bucket name `{name}` must be 3 to {max} characters long"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "bucket name `{name}` may hold only lowercase letters, digits, `-`, `_` and `.`"
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Err(format!(
            "bucket name `{name}` must start and end with a letter or digit"
        ));
    }
    Ok(())
}
