//! Deleting a blob: its data file, its sidecar, and the folders they leave
//! empty.
//!
//! Both files are looked at before either is removed, so a link in place of
//! either refuses the whole delete instead of leaving half of it done.

use std::ffi::OsStr;

use rustix::fs::{AtFlags, FileType};
use storage_core::{BlobKey, Result};

use crate::beneath::{walk, Parent};
use crate::fsops::io_error;
use crate::layout::{relative, Layout, META, OBJECTS};
use crate::lock::KeyLock;

/// Deletes `key`; deleting a missing blob succeeds.
pub(crate) fn delete(layout: &Layout, key: &BlobKey) -> Result<()> {
    let k = key.as_str();
    let rel = relative(k);
    let _lock = KeyLock::acquire(layout, k)?;
    let object = walk(layout, OBJECTS, &rel, k)?;
    let object_type = match &object {
        Some(p) => kind_of(p, k)?,
        None => None,
    };
    // A folder at the key's place holds other blobs; this key has none.
    if object_type == Some(FileType::Directory) {
        return Ok(());
    }
    let sidecar = walk(layout, META, &rel, k)?;
    let sidecar_type = match &sidecar {
        Some(p) => kind_of(p, k)?,
        None => None,
    };
    if let (Some(parent), Some(_)) = (&object, object_type) {
        match parent.dir().unlink(&parent.name, AtFlags::empty()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(e, &parent.rel(), k, "deleting the blob")),
        }
        layout.fsync.dir(parent.dir());
        parent.prune();
    }
    if let (Some(parent), Some(FileType::RegularFile)) = (&sidecar, sidecar_type) {
        // A sidecar left behind is harmless: it names a data file that is gone.
        let _ = parent.dir().unlink(&parent.name, AtFlags::empty());
        parent.prune();
    }
    Ok(())
}

/// What is at the walked name, refusing a link.
fn kind_of(parent: &Parent, key: &str) -> Result<Option<FileType>> {
    let name: &OsStr = &parent.name;
    Ok(parent
        .dir()
        .stat(name, key)?
        .map(|st| FileType::from_raw_mode(st.st_mode)))
}
