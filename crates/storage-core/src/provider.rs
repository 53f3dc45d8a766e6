//! Which backend a store talks to.

use std::fmt;

/// The backend behind a [`BlobStore`](crate::BlobStore), reported in every error.
///
/// ```
/// use storage_core::Provider;
/// assert_eq!(Provider::Local.to_string(), "local");
/// assert_eq!(Provider::Custom("s3").to_string(), "s3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Azure Blob Storage (or Azurite).
    Azure,
    /// Vercel Blob (or the project's emulator).
    Vercel,
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
