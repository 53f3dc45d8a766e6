//! Configuration from the variables AWS users already have, turned into a
//! validated [`S3Config`] before any request is made.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `S3_BUCKET` | the bucket | required |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | the bucket's region (`auto` for R2) | `us-east-1` |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` | a static key pair (both or neither) | the credential chain |
//! | `AWS_SESSION_TOKEN` | the session token of temporary keys | |
//! | `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` | an S3-compatible endpoint (R2, MinIO, an emulator) | `https://s3.<region>.amazonaws.com` |
//! | `S3_FORCE_PATH_STYLE` | `true`: `<endpoint>/<bucket>/<key>`; `false`: `<bucket>.<endpoint host>/<key>` | path style when the endpoint's host is an IP address or `localhost`, else virtual-hosted |
//! | `S3_CONDITIONAL_WRITES` | `false` for a service that ignores `If-None-Match` / `If-Match` on writes (older MinIO, some S3-compatible stores): `PutMode::Create` and `IfMatch` are then refused as `Unsupported` instead of silently overwriting | `true` (S3, R2, MinIO since 2024) |
//! | `BLOB_STORAGE_MAX_RETRIES`, `…_CONNECT_TIMEOUT`, `…_ATTEMPT_TIMEOUT`, `…_DEADLINE` | the one retry policy ([`storage_core::retry`]) | |
//!
//! Without a key pair, requests authenticate through object_store's
//! credential chain, fed by the same variables the AWS SDKs read: web
//! identity (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`,
//! `AWS_ROLE_SESSION_NAME`, `AWS_ENDPOINT_URL_STS`: EKS IRSA), container
//! credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`,
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: ECS, EKS Pod Identity), and
//! otherwise the EC2 instance metadata service (IMDSv2;
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it). Shared config files
//! (`~/.aws/credentials`, `AWS_PROFILE`) are not read.
//!
//! Virtual-hosted addressing is what AWS recommends and the only style new
//! AWS features are guaranteed for; an IP address or `localhost` cannot
//! carry a bucket name as a subdomain, so such endpoints (MinIO, emulators)
//! get path style without being told. R2 serves both.

use std::fmt;

use storage_core::redact::{redact_url, Secret};
use storage_core::retry::RetryPolicy;
use storage_core::{Error, Result};

/// `S3_BUCKET`.
pub const BUCKET: &str = "S3_BUCKET";
/// `AWS_REGION`.
pub const REGION: &str = "AWS_REGION";
/// `AWS_DEFAULT_REGION`, read when `AWS_REGION` is unset.
pub const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// `AWS_ACCESS_KEY_ID`.
pub const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// `AWS_SECRET_ACCESS_KEY`.
pub const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// `AWS_SESSION_TOKEN`.
pub const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// `AWS_ENDPOINT_URL`, the endpoint of every AWS service.
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// `AWS_ENDPOINT_URL_S3`, the endpoint of S3 alone (wins over `AWS_ENDPOINT_URL`).
pub const ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";
/// `S3_FORCE_PATH_STYLE`.
pub const FORCE_PATH_STYLE: &str = "S3_FORCE_PATH_STYLE";
/// `S3_CONDITIONAL_WRITES`.
pub const CONDITIONAL_WRITES: &str = "S3_CONDITIONAL_WRITES";

/// The region used when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
pub const DEFAULT_REGION_NAME: &str = "us-east-1";
/// Default size of one part of a multipart upload.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// Default number of parts uploaded at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
/// S3's smallest part (all parts but the last).
const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part; a part is held in memory, so far less is sensible.
const MAX_PART_SIZE: usize = 5 << 30;

/// The credential chain's variables, each with the object_store setting it
/// feeds.
const CHAIN_VARS: &[(&str, &str)] = &[
    ("AWS_WEB_IDENTITY_TOKEN_FILE", "aws_web_identity_token_file"),
    ("AWS_ROLE_ARN", "aws_role_arn"),
    ("AWS_ROLE_SESSION_NAME", "aws_role_session_name"),
    ("AWS_ENDPOINT_URL_STS", "aws_endpoint_url_sts"),
    (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "aws_container_credentials_relative_uri",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "aws_container_credentials_full_uri",
    ),
    (
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "aws_container_authorization_token_file",
    ),
    ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "aws_metadata_endpoint"),
];

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum S3Credentials {
    /// A static key pair, with the session token of temporary keys.
    Static {
        /// `AWS_ACCESS_KEY_ID` (an identifier, not a secret).
        key_id: String,
        /// `AWS_SECRET_ACCESS_KEY`.
        secret_key: Secret<String>,
        /// `AWS_SESSION_TOKEN`.
        session_token: Option<Secret<String>>,
    },
    /// object_store's credential chain (web identity, container
    /// credentials, instance metadata), with the chain's variables that
    /// were set, as object_store setting names and values.
    Chain(Vec<(String, String)>),
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Credentials::Static {
                key_id,
                secret_key,
                session_token,
            } => f
                .debug_struct("Static")
                .field("key_id", key_id)
                .field("secret_key", secret_key)
                .field("session_token", session_token)
                .finish(),
            S3Credentials::Chain(settings) => {
                let names: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
                f.debug_tuple("Chain").field(&names).finish()
            }
        }
    }
}

/// Validated settings of one S3 bucket.
///
/// ```
/// use storage_s3::S3Config;
/// let config = S3Config::from_lookup(|var| match var {
///     "S3_BUCKET" => Some("recordings".into()),
///     "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9000".into()),
///     "AWS_ACCESS_KEY_ID" => Some("minio".into()),
///     "AWS_SECRET_ACCESS_KEY" => Some("minio-secret".into()),
///     _ => None,
/// })?;
/// assert_eq!(config.bucket_url(), "http://127.0.0.1:9000/recordings");
/// assert!(!format!("{config:?}").contains("minio-secret"));
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone)]
pub struct S3Config {
    bucket: String,
    region: String,
    endpoint: Option<String>,
    path_style: bool,
    conditional_writes: bool,
    bucket_url: String,
    credentials: S3Credentials,
    retry: RetryPolicy,
    part_size: usize,
    max_concurrency: usize,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("bucket_url", &redact_url(&self.bucket_url))
            .field("path_style", &self.path_style)
            .field("conditional_writes", &self.conditional_writes)
            .field("credentials", &self.credentials)
            .field("retry", &self.retry)
            .field("part_size", &self.part_size)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

impl S3Config {
    /// Reads the variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the variables through `lookup` (an empty value counts as
    /// unset); every error names the variable at fault and what it accepts.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bucket = get(BUCKET).ok_or_else(|| {
            Error::config(
                BUCKET,
                "is not set; set it to the name of the bucket to store blobs in \
                 (create it first, e.g. `aws s3 mb s3://<name>`)",
            )
        })?;
        validate_bucket(&bucket)?;
        let (region_var, region) = match (get(REGION), get(DEFAULT_REGION)) {
            (Some(r), _) => (REGION, r),
            (None, Some(r)) => (DEFAULT_REGION, r),
            (None, None) => (REGION, DEFAULT_REGION_NAME.to_string()),
        };
        validate_region(region_var, &region)?;
        let (endpoint_var, endpoint) = match (get(ENDPOINT_URL_S3), get(ENDPOINT_URL)) {
            (Some(e), _) => (ENDPOINT_URL_S3, Some(e)),
            (None, e) => (ENDPOINT_URL, e),
        };
        let endpoint = endpoint
            .map(|e| parse_endpoint(endpoint_var, &e))
            .transpose()?;
        let path_style = match get(FORCE_PATH_STYLE) {
            Some(v) => parse_bool(FORCE_PATH_STYLE, &v)?,
            None => endpoint
                .as_ref()
                .is_some_and(|e| host_is_ip_or_localhost(e)),
        };
        let conditional_writes = match get(CONDITIONAL_WRITES) {
            Some(v) => parse_bool(CONDITIONAL_WRITES, &v)?,
            None => true,
        };
        let credentials = credentials(&get)?;
        let retry = RetryPolicy::from_lookup(&lookup)?;
        let mut config = S3Config {
            bucket,
            region,
            endpoint,
            path_style,
            conditional_writes,
            bucket_url: String::new(),
            credentials,
            retry,
            part_size: DEFAULT_PART_SIZE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
        };
        config.bucket_url = config.bucket_url_for(&config.bucket);
        Ok(config)
    }

    /// The URL of another bucket `bucket` at the same endpoint, region and
    /// addressing style, for tools that work on several buckets with one
    /// configuration (provisioning). `bucket` is not validated here.
    ///
    /// ```
    /// # let config = storage_s3::S3Config::from_lookup(|var| match var {
    /// #     "S3_BUCKET" => Some("recordings".into()),
    /// #     _ => None,
    /// # })?;
    /// assert_eq!(config.bucket_url_for("assets"), "https://assets.s3.us-east-1.amazonaws.com");
    /// # Ok::<(), storage_core::Error>(())
    /// ```
    pub fn bucket_url_for(&self, bucket: &str) -> String {
        match &self.endpoint {
            None if self.path_style => {
                format!("https://s3.{}.amazonaws.com/{bucket}", self.region)
            }
            None => format!("https://{bucket}.s3.{}.amazonaws.com", self.region),
            Some(endpoint) if self.path_style => {
                format!("{}/{bucket}", endpoint.trim_end_matches('/'))
            }
            Some(endpoint) => {
                let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
                format!("{scheme}://{bucket}.{}", rest.trim_end_matches('/'))
            }
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether the bucket is addressed in the path rather than the host.
    pub fn path_style(&self) -> bool {
        self.path_style
    }

    /// Whether the service enforces `If-None-Match` / `If-Match` on writes
    /// (`S3_CONDITIONAL_WRITES`).
    pub fn conditional_writes(&self) -> bool {
        self.conditional_writes
    }

    /// Where the bucket's objects live: `<bucket_url>/<key>`.
    pub fn bucket_url(&self) -> &str {
        &self.bucket_url
    }

    /// Scheme, host and port requests go to, for messages.
    pub fn endpoint(&self) -> String {
        match url::Url::parse(&self.bucket_url) {
            Ok(url) => match (url.host_str(), url.port()) {
                (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
                (Some(host), None) => format!("{}://{host}", url.scheme()),
                _ => redact_url(&self.bucket_url),
            },
            Err(_) => redact_url(&self.bucket_url),
        }
    }

    /// Whether a custom endpoint (not AWS) was configured.
    pub fn has_custom_endpoint(&self) -> bool {
        self.endpoint.is_some()
    }

    /// How requests are authenticated.
    pub fn credentials(&self) -> &S3Credentials {
        &self.credentials
    }

    /// The retry and timeout policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The size of one part of a multipart upload.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// How many parts are uploaded at once.
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the part size of multipart uploads: at least 5 MiB (S3's
    /// smallest part), at most 5 GiB. Bodies up to one part go up as a
    /// single `PUT`.
    pub fn with_part_size(mut self, bytes: usize) -> Result<Self> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&bytes) {
            return Err(Error::config(
                "part_size",
                format!(
                    "{bytes} bytes is outside S3's part sizes; use {MIN_PART_SIZE} (5 MiB) to \
                     {MAX_PART_SIZE} (5 GiB)"
                ),
            ));
        }
        self.part_size = bytes;
        Ok(self)
    }

    /// Sets how many parts are uploaded at once (at least 1); memory use is
    /// about `part_size × (max_concurrency + 1)`.
    pub fn with_max_concurrency(mut self, parts: usize) -> Self {
        self.max_concurrency = parts.max(1);
        self
    }
}

fn credentials(get: &dyn Fn(&str) -> Option<String>) -> Result<S3Credentials> {
    match (get(ACCESS_KEY_ID), get(SECRET_ACCESS_KEY)) {
        (Some(key_id), Some(secret)) => Ok(S3Credentials::Static {
            key_id,
            secret_key: Secret::new(secret),
            session_token: get(SESSION_TOKEN).map(Secret::new),
        }),
        (Some(_), None) => Err(Error::config(
            SECRET_ACCESS_KEY,
            format!(
                "is not set though {ACCESS_KEY_ID} is; set both (a key pair), or neither to \
                 use the credential chain (web identity, container credentials, instance \
                 metadata)"
            ),
        )),
        (None, Some(_)) => Err(Error::config(
            ACCESS_KEY_ID,
            format!(
                "is not set though {SECRET_ACCESS_KEY} is; set both (a key pair), or neither \
                 to use the credential chain"
            ),
        )),
        (None, None) => {
            if get(SESSION_TOKEN).is_some() {
                return Err(Error::config(
                    SESSION_TOKEN,
                    format!(
                        "is set without {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY}; a session token \
                         belongs to a temporary key pair, so set all three (or unset it)"
                    ),
                ));
            }
            let settings = CHAIN_VARS
                .iter()
                .filter_map(|(var, setting)| get(var).map(|v| (setting.to_string(), v)))
                .collect();
            Ok(S3Credentials::Chain(settings))
        }
    }
}

/// S3's bucket naming rules: 3 to 63 characters, lowercase letters, digits,
/// `-` and `.`, starting and ending with a letter or digit.
fn validate_bucket(bucket: &str) -> Result<()> {
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && chars_ok && ends_ok && !bucket.contains("..") {
        return Ok(());
    }
    Err(Error::config(
        BUCKET,
        format!(
            "`{bucket}` is not an S3 bucket name: 3 to 63 lowercase letters, digits, `-` and \
             `.`, starting and ending with a letter or digit"
        ),
    ))
}

fn validate_region(var: &str, region: &str) -> Result<()> {
    let ok = region
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        return Ok(());
    }
    Err(Error::config(
        var,
        format!(
            "`{region}` is not a region name; use one like `us-east-1` or `eu-west-3` (`auto` \
             for Cloudflare R2)"
        ),
    ))
}

fn parse_endpoint(var: &str, value: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::config(
            var,
            format!(
                "`{}` {why}; set an http:// or https:// URL such as \
                 `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`",
                redact_url(value)
            ),
        )
    };
    let url = url::Url::parse(value).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("is not an http or https URL"));
    }
    if url.host_str().is_none() {
        return Err(bad("has no host"));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("may not carry a query or credentials"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn host_is_ip_or_localhost(endpoint: &str) -> bool {
    match url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        None => false,
    }
}

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            var,
            format!("`{value}` is not a boolean; set `true` or `false`"),
        )),
    }
}
