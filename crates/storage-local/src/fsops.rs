//! Small filesystem steps shared by writes, deletes and copies, and the
//! mapping of their failures to `storage_core::Error`.

use std::io;
use std::path::{Path, PathBuf};

use storage_core::{Error, ErrorKind, Provider, Result};

/// Runs filesystem work off the async threads. Once started it runs to the
/// end even if the caller's future is dropped, so a commit is never cut in
/// half by a cancelled request.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::new(ErrorKind::Backend, Provider::Local)
            .with_message("a filesystem task failed to complete")
            .with_source(e)
    })?
}

/// An I/O failure while `doing` something to `key`.
pub(crate) fn io_error(e: io::Error, key: &str, doing: &str) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => ErrorKind::Forbidden,
        _ => ErrorKind::Backend,
    };
    Error::new(kind, Provider::Local)
        .with_key(key)
        .with_message(format!("{doing}: {e}"))
        .with_source(e)
}

/// Whether an error opening a path means "nothing there" (including a
/// path that runs through a file, as `a/b` does when `a` is a blob).
pub(crate) fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The error for keys a filesystem cannot hold side by side.
pub(crate) fn folder_conflict(key: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported {
            op: "a blob and a folder with the same name",
        },
        Provider::Local,
    )
    .with_key(key)
    .with_message(
        "on local disk a name cannot be both a blob and a folder: `a` and `a/b` cannot \
         both exist; rename one of them",
    )
}

/// A temporary file that is removed unless it was renamed into place.
pub(crate) struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempFile { path, keep: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `dest`, creating its parent directories; retried
    /// when a concurrent delete prunes a parent between the two steps.
    pub(crate) fn rename_to(mut self, dest: &Path, key: &str) -> Result<()> {
        let mut attempts = 0;
        loop {
            ensure_parent(dest, key)?;
            match std::fs::rename(&self.path, dest) {
                Ok(()) => {
                    self.keep = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 8 => attempts += 1,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::IsADirectory
                            | io::ErrorKind::DirectoryNotEmpty
                            | io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Err(folder_conflict(key))
                }
                Err(e) => return Err(io_error(e, key, "moving the new version into place")),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates `path`'s parent directories.
pub(crate) fn ensure_parent(path: &Path, key: &str) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    match std::fs::create_dir_all(parent) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
            ) =>
        {
            Err(folder_conflict(key))
        }
        Err(e) => Err(io_error(e, key, "creating the blob's folder")),
    }
}

/// Flushes a directory entry change (a rename or unlink) to disk.
pub(crate) fn sync_dir(dir: &Path) {
    // Durability of the rename, not its atomicity, depends on this; some
    // filesystems refuse to fsync directories, and the write is still whole.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes empty directories from `path`'s parent up to (not including) `stop`.
pub(crate) fn prune_empty_parents(path: &Path, stop: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
