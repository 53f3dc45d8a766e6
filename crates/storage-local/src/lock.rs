//! Serialising writers of one key, across tasks and processes.
//!
//! An exclusive `flock` on the key's lock stripe is held while a write or
//! delete checks the current version and swaps in the new one. The operating
//! system drops the lock when the holder exits, so a killed process never
//! leaves a key locked. Readers take no lock: renames keep them consistent.

use std::ffi::OsString;
use std::fs::File;

use storage_core::Result;

use crate::beneath::Dir;
use crate::fsops::io_error;
use crate::layout::{Layout, LOCKS};

/// Held while the key is being changed; unlocks on drop.
pub(crate) struct KeyLock {
    _file: File,
}

impl KeyLock {
    /// Blocks until `key`'s stripe is ours. A link in place of the stripe
    /// is refused, not followed.
    pub(crate) fn acquire(layout: &Layout, key: &str) -> Result<Self> {
        let dir = Dir::top(layout, LOCKS, key)?;
        let name = OsString::from(layout.lock_name(key));
        let file = dir.open_or_create_file(&name, key)?;
        file.lock()
            .map_err(|e| io_error(e, &dir.rel(&name), key, "taking the key's write lock"))?;
        Ok(KeyLock { _file: file })
    }
}
