//! Configuration of the local store, from code or from the environment.

use std::path::PathBuf;

use storage_core::{Error, Result};

/// The variable naming the store's root directory.
pub const PATH_VAR: &str = "LOCAL_STORAGE_PATH";

/// The root used when [`PATH_VAR`] is unset.
pub const DEFAULT_ROOT: &str = "./.blobs";

/// Where the local store keeps its files.
///
/// ```
/// use storage_local::LocalConfig;
/// let config = LocalConfig::from_lookup(|var| match var {
///     "LOCAL_STORAGE_PATH" => Some("/srv/blobs".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.root, std::path::PathBuf::from("/srv/blobs"));
/// assert_eq!(LocalConfig::from_lookup(|_| None).unwrap().root, std::path::PathBuf::from("./.blobs"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalConfig {
    /// The root directory; created on open if missing.
    pub root: PathBuf,
}

impl LocalConfig {
    /// A store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalConfig { root: root.into() }
    }

    /// Reads [`PATH_VAR`] from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the variables through `lookup`, so tests and apps with their
    /// own configuration source need not touch the process environment.
    /// An empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let root = match lookup(PATH_VAR).filter(|v| !v.trim().is_empty()) {
            Some(path) if path.contains('\0') => {
                return Err(Error::config(PATH_VAR, "the path contains a NUL byte"))
            }
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(DEFAULT_ROOT),
        };
        Ok(LocalConfig { root })
    }
}
