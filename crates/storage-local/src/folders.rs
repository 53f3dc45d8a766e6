//! The names of large folders, sorted, kept between listings.
//!
//! A folder's names come from the filesystem in no useful order (ext4
//! returns them in hash order), so a sorted page needs all of them: without
//! this, every page of a 10,000-key folder reads and sorts 10,000 names to
//! return 1,000. A folder read once is kept here, and later pages reuse it
//! while the folder is unchanged, which costs one `fstat`.
//!
//! "Unchanged" is the folder's inode, size, modification and change times
//! all being equal to when its names were read. Any entry added, removed
//! or renamed sets both times to the kernel's clock, so a change shows as
//! a different stamp, with one exception: a change within the same clock
//! tick as the read (file times are as coarse as the kernel's tick, or a
//! whole second on some filesystems). So a folder is kept only if it had
//! not changed for [`SETTLED`] (ten ticks) before its names were read and did not change while they were read, as git treats
//! "racily clean" index entries. A later change then carries a later time.
//! The change time cannot be set from user space, so `touch -d` cannot fake
//! an old stamp either. What remains is a wall clock stepped back by more
//! than that landing a change in the same tick as the stamp.
//!
//! Small folders are not kept (reading them costs less than the bookkeeping),
//! nor more than [`MAX_FOLDERS`] at a time.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustix::fs::{FileType, Stat};
use storage_core::Result;

use crate::beneath::Dir;
use crate::layout::child_key;

/// How long a folder must have been unchanged before its names are kept,
/// where file times carry nanoseconds: ten times the coarsest kernel tick
/// (10 ms at 100 Hz).
const SETTLED: Duration = Duration::from_millis(100);

/// The same on a filesystem whose times are whole seconds (a change time
/// without nanoseconds), up to FAT's two.
const SETTLED_COARSE: Duration = Duration::from_secs(2);

/// Folders with fewer names are read afresh every time.
const MIN_NAMES: usize = 256;

/// At most this many folders are kept.
const MAX_FOLDERS: usize = 64;

/// One name of a folder, with the part of the key it adds (the name, with
/// a `/` for a folder, or a continued long segment's part), by which the
/// names are sorted.
#[derive(Debug)]
pub(crate) struct Named {
    pub(crate) suffix: String,
    pub(crate) name: OsString,
    pub(crate) file_type: FileType,
}

/// The names of one folder, sorted by their suffix.
pub(crate) type Sorted = Arc<Vec<Named>>;

/// What a folder looked like when its names were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(stat: &Stat) -> Stamp {
        Stamp {
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: stat.st_size,
            mtime: (stat.st_mtime, stat.st_mtime_nsec as i64),
            ctime: (stat.st_ctime, stat.st_ctime_nsec as i64),
        }
    }

    /// Whether the folder last changed at least [`SETTLED`] (or, on a
    /// filesystem with whole-second times, [`SETTLED_COARSE`]) before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let Ok(since_epoch) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let changed = Duration::new(
            u64::try_from(self.ctime.0).unwrap_or(u64::MAX),
            u32::try_from(self.ctime.1).unwrap_or(0),
        );
        let settled = if self.ctime.1 == 0 {
            SETTLED_COARSE
        } else {
            SETTLED
        };
        changed + settled < since_epoch
    }
}

/// The kept folders of one store, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Folders {
    kept: Mutex<HashMap<(u64, u64), (Stamp, Sorted)>>,
}

impl Folders {
    /// The names of `dir` that can be keys (files, folders, links; nothing
    /// else), sorted: kept ones when the folder is unchanged, else read now.
    pub(crate) fn sorted(&self, dir: &Dir) -> Result<Sorted> {
        let now = SystemTime::now();
        let before = Stamp::of(&dir.stat_self("")?);
        if let Some(sorted) = self.kept(before) {
            return Ok(sorted);
        }
        let mut names = Vec::new();
        dir.scan("", |name, file_type| {
            let keyed = matches!(
                file_type,
                FileType::RegularFile | FileType::Directory | FileType::Symlink
            );
            if let Some(suffix) = keyed
                .then(|| child_key("", &name, file_type == FileType::Directory))
                .flatten()
            {
                names.push(Named {
                    suffix,
                    name,
                    file_type,
                });
            }
            None::<()>
        })?;
        // Among equal keys a blob goes first, as the walk's heap orders them.
        names.sort_unstable_by(|a, b| {
            a.suffix.cmp(&b.suffix).then(
                (a.file_type == FileType::Directory).cmp(&(b.file_type == FileType::Directory)),
            )
        });
        let sorted = Arc::new(names);
        if sorted.len() >= MIN_NAMES
            && before.settled(now)
            && Stamp::of(&dir.stat_self("")?) == before
        {
            self.keep(before, sorted.clone());
        }
        Ok(sorted)
    }

    fn kept(&self, stamp: Stamp) -> Option<Sorted> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        match kept.get(&(stamp.dev, stamp.ino)) {
            Some((was, sorted)) if *was == stamp => Some(sorted.clone()),
            _ => None,
        }
    }

    fn keep(&self, stamp: Stamp, sorted: Sorted) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MAX_FOLDERS && !kept.contains_key(&(stamp.dev, stamp.ino)) {
            // Any one goes: a folder listed again is read again, nothing more.
            if let Some(victim) = kept.keys().next().copied() {
                kept.remove(&victim);
            }
        }
        kept.insert((stamp.dev, stamp.ino), (stamp, sorted));
    }
}
