//! Which provider to build, from the environment or from code.

use storage_core::{Error, Result};

/// The variable that picks the provider.
pub const PROVIDER_VAR: &str = "BLOB_STORAGE_PROVIDER";

/// The providers this project knows, whether or not this build has them.
const KNOWN: &str = "local, memory, azure, s3, gcs, vercel";

/// The configuration of one store.
///
/// ```
/// use storage::StorageConfig;
/// let config = StorageConfig::from_lookup(|var| match var {
///     "BLOB_STORAGE_PROVIDER" => Some("memory".into()),
///     _ => None,
/// }).unwrap();
/// assert!(matches!(config, StorageConfig::Memory));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StorageConfig {
    /// Files under a root directory (`BLOB_STORAGE_PROVIDER=local`, the default).
    #[cfg(feature = "local")]
    Local(storage_local::LocalConfig),
    /// Blobs in process memory, gone at exit (`BLOB_STORAGE_PROVIDER=memory`).
    Memory,
    /// Azure Blob Storage or Azurite (`BLOB_STORAGE_PROVIDER=azure`).
    #[cfg(feature = "azure")]
    Azure(storage_azure::AzureConfig),
    /// Amazon S3 or an S3-compatible store (`BLOB_STORAGE_PROVIDER=s3`).
    #[cfg(feature = "s3")]
    S3(storage_s3::S3Config),
    /// Google Cloud Storage or an emulator (`BLOB_STORAGE_PROVIDER=gcs`).
    #[cfg(feature = "gcs")]
    Gcs(storage_gcs::GcsConfig),
    /// Vercel Blob or its emulator (`BLOB_STORAGE_PROVIDER=vercel`).
    #[cfg(feature = "vercel")]
    Vercel(storage_vercel::VercelConfig),
}

impl StorageConfig {
    /// Reads `BLOB_STORAGE_PROVIDER` and the chosen provider's variables from
    /// the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    /// Empty values count as unset; the provider name is case-insensitive.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let provider = lookup(PROVIDER_VAR)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        match provider.as_deref().unwrap_or("local") {
            "local" => local(&lookup),
            "memory" => Ok(StorageConfig::Memory),
            "azure" => azure(&lookup),
            "s3" => s3(&lookup),
            "gcs" => gcs(&lookup),
            "vercel" => vercel(&lookup),
            other => Err(Error::config(
                PROVIDER_VAR,
                format!(
                    "unknown provider `{}`; set it to one of: {KNOWN} (unset means local)",
                    other.chars().take(40).collect::<String>().escape_debug()
                ),
            )),
        }
    }
}

#[cfg(feature = "local")]
fn local(lookup: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    storage_local::LocalConfig::from_lookup(lookup).map(StorageConfig::Local)
}

#[cfg(not(feature = "local"))]
fn local(_: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    Err(not_compiled_in("local"))
}

#[cfg(feature = "azure")]
fn azure(lookup: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    storage_azure::AzureConfig::from_lookup(lookup).map(StorageConfig::Azure)
}

#[cfg(not(feature = "azure"))]
fn azure(_: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    Err(not_compiled_in("azure"))
}

#[cfg(feature = "s3")]
fn s3(lookup: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    storage_s3::S3Config::from_lookup(lookup).map(StorageConfig::S3)
}

#[cfg(not(feature = "s3"))]
fn s3(_: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    Err(not_compiled_in("s3"))
}

#[cfg(feature = "gcs")]
fn gcs(lookup: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    storage_gcs::GcsConfig::from_lookup(lookup).map(StorageConfig::Gcs)
}

#[cfg(not(feature = "gcs"))]
fn gcs(_: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    Err(not_compiled_in("gcs"))
}

#[cfg(feature = "vercel")]
fn vercel(lookup: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    storage_vercel::VercelConfig::from_lookup(lookup).map(StorageConfig::Vercel)
}

#[cfg(not(feature = "vercel"))]
fn vercel(_: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig> {
    Err(not_compiled_in("vercel"))
}

#[cfg(not(all(
    feature = "local",
    feature = "azure",
    feature = "s3",
    feature = "gcs",
    feature = "vercel"
)))]
fn not_compiled_in(name: &str) -> Error {
    Error::config(
        PROVIDER_VAR,
        format!(
            "the {name} provider is not compiled in; enable the `{name}` feature of the \
             `storage` crate, or set {PROVIDER_VAR} to another provider"
        ),
    )
}
