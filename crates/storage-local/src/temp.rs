//! Temporary files in `tmp/`, and reclaiming those a dead writer left.
//!
//! Every temporary file is locked (`flock`, exclusive) by its writer from
//! the moment it is created until it has been renamed into place or removed.
//! The operating system drops that lock when the writer exits, however it
//! exits, so "the lock can be taken" means exactly "no live writer owns this
//! file". The sweeper removes only files whose lock it takes without waiting;
//! a live writer's file, even one stalled mid-upload for hours, is never
//! touched.
//!
//! Two races are closed:
//! - A writer renames its file into place *before* it unlocks, so a sweeper
//!   that gets the lock finds the name gone (or checks that the name still
//!   holds the very file it locked) and never removes a committed blob.
//! - Between creating its file and locking it, a writer could lose it to a
//!   sweeper; it checks after locking that the file still has a name, and
//!   starts over with a fresh one if not.
//!
//! The store sweeps when it is opened and, at most once per
//! [`SWEEP_INTERVAL`], when a put or copy starts.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType};
use storage_core::Result;

use crate::beneath::{create_parent, Dir, Parent};
use crate::fsops::{folder_conflict, io_error};
use crate::layout::{relative, Layout, TMP};

/// How often puts look for files left by dead writers; opening a store
/// always looks.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How often a writer draws a new name when sweepers keep taking its file,
/// or when a rename keeps losing its folder to a concurrent delete.
const ATTEMPTS: usize = 8;

/// A locked file in `tmp/`, removed unless it was renamed into place.
pub(crate) struct TempFile {
    dir: Dir,
    name: OsString,
    /// Holds the lock for the file's whole life.
    file: File,
    keep: bool,
}

impl TempFile {
    /// Creates and locks a fresh file named after `what` for writing `key`.
    pub(crate) fn create(layout: &Layout, what: &str, key: &str) -> Result<TempFile> {
        let dir = Dir::top(layout, TMP, key)?;
        for _ in 0..ATTEMPTS {
            let name = OsString::from(layout.temp_name(what));
            let rel = dir.rel(&name);
            let file = dir
                .create_file(&name)
                .map_err(|e| io_error(e, &rel, key, "creating the temporary file"))?;
            file.lock()
                .map_err(|e| io_error(e, &rel, key, "locking the temporary file"))?;
            let links = rustix::fs::fstat(&file)
                .map_err(|e| io_error(e.into(), &rel, key, "checking the temporary file"))?
                .st_nlink;
            if links > 0 {
                return Ok(TempFile {
                    dir,
                    name,
                    file,
                    keep: false,
                });
            }
        }
        Err(io_error(
            std::io::Error::other("it was removed each time right after being created"),
            &dir.rel(OsStr::new("")),
            key,
            "creating the temporary file",
        ))
    }

    /// The open file; writes through it (or a clone of it) land in the file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file's path relative to the root, for messages.
    pub(crate) fn rel(&self) -> PathBuf {
        self.dir.rel(&self.name)
    }

    /// Renames the file to `key`'s place below the fixed folder `top`,
    /// creating its folders; retried when a concurrent delete prunes one of
    /// them in between. Returns the folders, to flush.
    pub(crate) fn rename_to(self, layout: &Layout, top: &str, key: &str) -> Result<Parent> {
        let parent = create_parent(layout, top, &relative(key), key)?;
        self.rename_into(layout, top, key, parent)
    }

    /// [`TempFile::rename_to`], into the folders `parent` the caller
    /// already opened for `key`.
    pub(crate) fn rename_into(
        mut self,
        layout: &Layout,
        top: &str,
        key: &str,
        mut parent: Parent,
    ) -> Result<Parent> {
        let mut attempts = 0;
        loop {
            match self.dir.rename(&self.name, parent.dir(), &parent.name) {
                Ok(()) => {
                    self.keep = true;
                    return Ok(parent);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < ATTEMPTS => {
                    attempts += 1;
                    parent = create_parent(layout, top, &relative(key), key)?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::IsADirectory
                            | std::io::ErrorKind::DirectoryNotEmpty
                            | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Err(folder_conflict(key))
                }
                Err(e) => {
                    return Err(io_error(
                        e,
                        &parent.rel(),
                        key,
                        "moving the new version into place",
                    ))
                }
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Removed while still locked (the lock goes with `file`, after this
        // body), so no sweeper races the removal.
        if !self.keep {
            let _ = self.dir.unlink(&self.name, AtFlags::empty());
        }
    }
}

/// Removes the files in `tmp/` whose writers are dead; returns how many.
/// Best effort: a file it cannot examine is left for the next sweep.
pub(crate) fn sweep(layout: &Layout) -> usize {
    layout.last_sweep.store(now_secs(), Ordering::Relaxed);
    let Ok(dir) = Dir::top(layout, TMP, "") else {
        return 0;
    };
    let Ok(entries) = dir.entries("") else {
        return 0;
    };
    let reclaimed = entries
        .iter()
        .filter(|(name, _)| reclaim_one(&dir, name))
        .count();
    if reclaimed > 0 {
        tracing::info!(
            root = %layout.root.display(),
            reclaimed,
            "removed temporary files left in tmp/ by writers that died"
        );
    }
    reclaimed
}

/// Sweeps unless this store swept less than [`SWEEP_INTERVAL`] ago.
pub(crate) fn sweep_if_due(layout: &Layout) {
    let last = layout.last_sweep.load(Ordering::Relaxed);
    let now = now_secs();
    let due = now.saturating_sub(last) >= SWEEP_INTERVAL.as_secs();
    // One caller wins the slot; the others carry on with their put.
    if due
        && layout
            .last_sweep
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        sweep(layout);
    }
}

fn reclaim_one(dir: &Dir, name: &OsStr) -> bool {
    let Ok(Some(file)) = dir.open_file(name, "") else {
        return false;
    };
    let Ok(held) = rustix::fs::fstat(&file) else {
        return false;
    };
    if FileType::from_raw_mode(held.st_mode) != FileType::RegularFile || file.try_lock().is_err() {
        return false;
    }
    // The lock is ours, so its writer is gone. If it committed, the name has
    // moved on; only remove the name if it still holds the file we locked.
    let same = matches!(
        dir.stat(name, ""),
        Ok(Some(now)) if now.st_ino == held.st_ino && now.st_dev == held.st_dev
    );
    same && dir.unlink(name, AtFlags::empty()).is_ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path().to_path_buf(), crate::durable::Fsync::Always);
        crate::beneath::prepare(&layout).expect("prepare");
        (dir, layout)
    }

    fn tmp_files(layout: &Layout) -> usize {
        std::fs::read_dir(layout.root.join(TMP))
            .expect("read tmp")
            .count()
    }

    #[test]
    fn a_held_file_survives_a_sweep_and_an_abandoned_one_does_not() {
        let (_dir, layout) = layout();
        let held = TempFile::create(&layout, "put", "k").expect("create");
        // A file nobody holds a lock on: what a killed writer leaves.
        std::fs::write(layout.root.join(TMP).join("put-dead"), "x").expect("write");
        assert_eq!(sweep(&layout), 1);
        assert_eq!(tmp_files(&layout), 1);
        assert!(layout.root.join(held.rel()).exists());
        drop(held);
        assert_eq!(tmp_files(&layout), 0);
    }

    #[test]
    fn a_second_sweep_waits_for_the_interval() {
        let (_dir, layout) = layout();
        sweep(&layout);
        std::fs::write(layout.root.join(TMP).join("put-dead"), "x").expect("write");
        sweep_if_due(&layout);
        assert_eq!(tmp_files(&layout), 1, "swept again within the interval");
        layout.last_sweep.store(0, Ordering::Relaxed);
        sweep_if_due(&layout);
        assert_eq!(tmp_files(&layout), 0, "not swept once the interval passed");
    }

    #[test]
    fn links_and_folders_in_tmp_are_left_alone() {
        let (_dir, layout) = layout();
        let outside = tempfile::tempdir().expect("outside");
        let target = outside.path().join("victim");
        std::fs::write(&target, "keep").expect("write");
        std::os::unix::fs::symlink(&target, layout.root.join(TMP).join("put-link"))
            .expect("plant link");
        std::fs::create_dir(layout.root.join(TMP).join("put-dir")).expect("mkdir");
        assert_eq!(sweep(&layout), 0);
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    }
}
