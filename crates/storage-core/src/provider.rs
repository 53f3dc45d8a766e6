//! Which backend a store talks to.

use std::fmt;

/// The backend behind a [`BlobStore`](crate::BlobStore), reported in every error.
///
/// ```
/// use storage_core::Provider;
/// assert_eq!(Provider::Local.to_string(), "local");
/// assert_eq!(Provider::S3.to_string(), "s3");
/// assert_eq!(Provider::Custom("ftp").to_string(), "ftp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Azure Blob Storage (or Azurite).
    Azure,
    /// Vercel Blob (or the project's emulator).
    Vercel,
    /// Amazon S3 or an S3-compatible store (R2, MinIO, an emulator).
    S3,
    /// Google Cloud Storage (or an emulator).
    Gcs,
    /// The local filesystem.
    Local,
    /// The in-memory store.
    Memory,
    /// An adapter written outside this project; the name is shown in errors.
    Custom(&'static str),
}

impl Provider {
    /// The lowercase name used in `BLOB_STORAGE_PROVIDER` and in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Azure => "azure",
            Provider::Vercel => "vercel",
            Provider::S3 => "s3",
            Provider::Gcs => "gcs",
            Provider::Local => "local",
            Provider::Memory => "memory",
            Provider::Custom(name) => name,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
