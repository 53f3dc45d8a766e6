//! [`open`]: a store named by a URL instead of `BLOB_STORAGE_PROVIDER`, for
//! tools (such as `blobctl`) that talk to more than one store at a time.
//!
//! | URL | store |
//! |---|---|
//! | `file:///abs/dir` | local disk rooted at `/abs/dir`; `LOCAL_STORAGE_BASE_URL`, `LOCAL_STORAGE_SIGNING_KEY` and `LOCAL_STORAGE_FSYNC` still apply |
//! | `memory://` | a new, empty in-memory store |
//! | `azure://container` | Azure (or Azurite) with this container; credentials from the `AZURE_*` variables |
//! | `s3://bucket` | S3 (or an S3-compatible store) with this bucket; the rest from the `AWS_*` and `S3_*` variables |
//! | `gs://bucket` | Google Cloud Storage (or an emulator) with this bucket; the rest from the `GOOGLE_*` and `GCS_*` variables |
//! | `vercel://` | Vercel Blob (or the emulator) from `BLOB_READ_WRITE_TOKEN` and friends |
//!
//! The URL names a store, never a key: `azure://c/some/key` is refused, so a
//! caller that meant a key finds out instead of silently opening the container.

use std::sync::Arc;

use storage_core::{BlobStore, Error, ErrorKind, Result};

/// Builds the store that `url` names (see the table in this module's docs).
///
/// ```
/// use storage::BlobStoreExt;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("file://{}", dir.path().display());
/// let store = storage::open(&url)?;
/// store.put_bytes("a.txt", "hi").await?;
/// assert_eq!(store.provider(), storage::Provider::Local);
/// assert!(storage::open("ftp://host").is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// `InvalidInput` for a URL of an unknown scheme or shape (the message says
/// which form to use); the provider's `InvalidConfig { var }` when a variable
/// it needs is missing or malformed.
pub fn open(url: &str) -> Result<Arc<dyn BlobStore>> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad_url(url, "it has no `scheme://`"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => {
            if !rest.trim_end_matches('/').is_empty() {
                return Err(bad_url(url, "a memory store has no path; use `memory://`"));
            }
            Ok(Arc::new(storage_core::memory::MemoryStore::new()))
        }
        "file" => file(url, rest),
        "azure" => azure(url, rest),
        "s3" => s3(url, rest),
        "gs" => gcs(url, rest),
        "vercel" => vercel(url, rest),
        _ => Err(bad_url(
            url,
            "the scheme is not one of file, memory, azure, s3, gs, vercel",
        )),
    }
}

#[cfg(feature = "local")]
fn file(url: &str, rest: &str) -> Result<Arc<dyn BlobStore>> {
    // `file://localhost/x` is the same as `file:///x` (RFC 8089); any other
    // host would be a network share this adapter cannot reach.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(bad_url(
            url,
            "a file URL needs an absolute path, e.g. `file:///srv/blobs`",
        ));
    }
    let path = percent_decode(path).ok_or_else(|| bad_url(url, "bad %-escape in the path"))?;
    let mut config = storage_local::LocalConfig::from_env()?;
    config.root = std::path::PathBuf::from(path);
    Ok(Arc::new(storage_local::LocalStore::new(config)?))
}

#[cfg(not(feature = "local"))]
fn file(url: &str, _: &str) -> Result<Arc<dyn BlobStore>> {
    Err(bad_url(url, "the local provider is not compiled in"))
}

#[cfg(feature = "azure")]
fn azure(url: &str, rest: &str) -> Result<Arc<dyn BlobStore>> {
    let container = rest.trim_end_matches('/');
    if container.is_empty() || container.contains('/') {
        return Err(bad_url(
            url,
            "name exactly one container, e.g. `azure://recordings`",
        ));
    }
    let config = storage_azure::AzureConfig::from_env()?.with_container(container)?;
    Ok(Arc::new(storage_azure::AzureStore::new(config)?))
}

#[cfg(not(feature = "azure"))]
fn azure(url: &str, _: &str) -> Result<Arc<dyn BlobStore>> {
    Err(bad_url(url, "the azure provider is not compiled in"))
}

/// The one bucket a `s3://` or `gs://` URL names.
#[cfg(any(feature = "s3", feature = "gcs"))]
fn bucket<'a>(url: &str, rest: &'a str, scheme: &str) -> Result<&'a str> {
    let bucket = rest.trim_end_matches('/');
    if bucket.is_empty() || bucket.contains('/') {
        return Err(bad_url(
            url,
            &format!("name exactly one bucket, e.g. `{scheme}://recordings`"),
        ));
    }
    Ok(bucket)
}

/// The environment, with `var` set to `value`: the bucket a URL names wins
/// over the bucket variable, and everything else still comes from the
/// provider's own variables.
#[cfg(any(feature = "s3", feature = "gcs"))]
fn env_with<'a>(var: &'a str, value: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        if name == var {
            Some(value.to_string())
        } else {
            std::env::var(name).ok()
        }
    }
}

#[cfg(feature = "s3")]
fn s3(url: &str, rest: &str) -> Result<Arc<dyn BlobStore>> {
    let bucket = bucket(url, rest, "s3")?;
    let config = storage_s3::S3Config::from_lookup(env_with(storage_s3::config::BUCKET, bucket))?;
    Ok(Arc::new(storage_s3::S3Store::new(config)?))
}

#[cfg(not(feature = "s3"))]
fn s3(url: &str, _: &str) -> Result<Arc<dyn BlobStore>> {
    Err(bad_url(url, "the s3 provider is not compiled in"))
}

#[cfg(feature = "gcs")]
fn gcs(url: &str, rest: &str) -> Result<Arc<dyn BlobStore>> {
    let bucket = bucket(url, rest, "gs")?;
    let config =
        storage_gcs::GcsConfig::from_lookup(env_with(storage_gcs::config::BUCKET, bucket))?;
    Ok(Arc::new(storage_gcs::GcsStore::new(config)?))
}

#[cfg(not(feature = "gcs"))]
fn gcs(url: &str, _: &str) -> Result<Arc<dyn BlobStore>> {
    Err(bad_url(url, "the gcs provider is not compiled in"))
}

#[cfg(feature = "vercel")]
fn vercel(url: &str, rest: &str) -> Result<Arc<dyn BlobStore>> {
    if !rest.trim_end_matches('/').is_empty() {
        return Err(bad_url(
            url,
            "the store comes from BLOB_READ_WRITE_TOKEN; use `vercel://`",
        ));
    }
    let config = storage_vercel::VercelConfig::from_env()?;
    Ok(Arc::new(storage_vercel::VercelStore::new(config)?))
}

#[cfg(not(feature = "vercel"))]
fn vercel(url: &str, _: &str) -> Result<Arc<dyn BlobStore>> {
    Err(bad_url(url, "the vercel provider is not compiled in"))
}

fn bad_url(url: &str, reason: &str) -> Error {
    // The URL is echoed cut short: it is user input, and a store URL never
    // carries a secret (credentials come from the environment).
    let shown: String = url.chars().take(200).collect();
    Error::without_provider(ErrorKind::InvalidInput).with_message(format!(
        "cannot open store URL `{}`: {reason}; use file:///abs/dir, memory://, \
         azure://container, s3://bucket, gs://bucket or vercel://",
        shown.escape_debug()
    ))
}

/// Decodes `%XX` escapes; `None` when one is malformed or the result is not UTF-8.
#[cfg(feature = "local")]
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
