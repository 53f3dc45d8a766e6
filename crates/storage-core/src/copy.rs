//! Options for copying a blob within a store.

use crate::{PutMode, Result};

/// Options for [`BlobStore::copy`](crate::BlobStore::copy). The copy keeps the
/// source's bytes, content type, cache-control, content-disposition and user
/// metadata.
///
/// ```
/// use storage_core::{CopyOptions, PutMode};
/// let opts = CopyOptions::new().mode(PutMode::Create);
/// assert_eq!(opts.mode, PutMode::Create);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOptions {
    /// What the copy may replace at the destination (`IfMatch` compares the
    /// destination's etag).
    pub mode: PutMode,
}

impl CopyOptions {
    /// Overwrite the destination.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what the copy may replace.
    pub fn mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }

    /// Checks the options; stores call this before any I/O.
    pub fn validate(&self) -> Result<()> {
        self.mode.validate()
    }
}
