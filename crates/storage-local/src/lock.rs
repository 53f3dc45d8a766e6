//! Serialising writers of one key, across tasks and processes.
//!
//! An exclusive `flock` on the key's lock stripe is held while a write or
//! delete checks the current version and swaps in the new one. The operating
//! system drops the lock when the holder exits, so a killed process never
//! leaves a key locked. Readers take no lock: renames keep them consistent.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Held while the key is being changed; unlocks on drop.
pub(crate) struct KeyLock {
    _file: File,
}

impl KeyLock {
    /// Blocks until the stripe at `path` is ours.
    pub(crate) fn acquire(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(KeyLock { _file: file })
    }
}
