//! Where each file of the store lives under the root.
//!
//! ```text
//! <root>/objects/<key>   the blob's bytes: what a person browsing the folder sees
//!                        (its properties ride along in an extended attribute)
//! <root>/meta/<key>      a sidecar (JSON), only where that attribute is refused
//! <root>/tmp/            uploads in progress; renamed into objects/ when whole
//! <root>/locks/00..ff    lock stripes that serialise writers of the same key
//! ```
//!
//! Keys map to paths segment by segment, so a key can never name anything
//! outside `objects/` or `meta/`: the key rules already forbid `.`, `..`,
//! empty segments and a leading `/`, and each segment is pushed as one file
//! name. A segment longer than a file name may be (255 bytes) is stored as a
//! chain of directories whose names start with U+0001, a character no key can
//! contain, so the mapping stays reversible.

use crate::folders::Folders;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::durable::Fsync;

/// The longest file name Linux, macOS and Windows filesystems accept, in bytes.
const MAX_NAME: usize = 255;

/// Marks a directory that holds the continuation of a too-long segment.
const CONTINUES: char = '\u{1}';

/// The store's fixed folders below the root.
pub(crate) const OBJECTS: &str = "objects";
pub(crate) const META: &str = "meta";
pub(crate) const TMP: &str = "tmp";
pub(crate) const LOCKS: &str = "locks";
pub(crate) const TOP_DIRS: [&str; 4] = [OBJECTS, META, TMP, LOCKS];

/// Where a store lives, whether its writes wait for the disk, and when its
/// `tmp/` was last swept.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) fsync: Fsync,
    /// Seconds since the Unix epoch; shared by every clone of the store.
    pub(crate) last_sweep: Arc<AtomicU64>,
    /// Sorted names of large folders, for listings.
    pub(crate) folders: Arc<Folders>,
}

impl Layout {
    pub(crate) fn new(root: PathBuf, fsync: Fsync) -> Self {
        Layout {
            root,
            fsync,
            last_sweep: Arc::new(AtomicU64::new(0)),
            folders: Arc::default(),
        }
    }

    pub(crate) fn object(&self, key: &str) -> PathBuf {
        self.root.join(OBJECTS).join(relative(key))
    }

    /// The deepest folder (relative to `objects/`) that holds every key
    /// starting with `prefix`, and the key prefix that folder stands for.
    pub(crate) fn listing_dir(&self, prefix: &str) -> (PathBuf, String) {
        match prefix.rfind('/') {
            Some(i) => (relative(&prefix[..i]), prefix[..=i].to_string()),
            None => (PathBuf::new(), String::new()),
        }
    }

    /// A fresh name for a file in `tmp/`; random so concurrent writers
    /// (tasks or processes) never share one.
    pub(crate) fn temp_name(&self, what: &str) -> String {
        format!("{what}-{:032x}", fastrand::u128(..))
    }

    /// The name of `key`'s lock stripe in `locks/`: keys spread over 256
    /// files so the lock folder never grows with the number of blobs.
    pub(crate) fn lock_name(&self, key: &str) -> String {
        // FNV-1a: stable across processes and builds, unlike std's hasher.
        let hash = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
        format!("{:02x}", hash & 0xff)
    }
}

/// The relative path of a key: one component per segment, long segments
/// split at character boundaries into continuation components.
pub(crate) fn relative(key: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for segment in key.split('/') {
        let mut rest = segment;
        while rest.len() > MAX_NAME {
            let mut cut = MAX_NAME - CONTINUES.len_utf8();
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            path.push(format!("{CONTINUES}{}", &rest[..cut]));
            rest = &rest[cut..];
        }
        path.push(rest);
    }
    path
}

/// What the entry `name` of a folder below `objects/` stands for, given the
/// key prefix that folder stands for: a blob's key, or for a folder
/// (`is_folder`) the prefix of every key below it. `None` for a name no key
/// could have produced (not UTF-8, or a file named like a continuation).
pub(crate) fn child_key(prefix: &str, name: &OsStr, is_folder: bool) -> Option<String> {
    let name = name.to_str()?;
    let (part, slash) = match (name.strip_prefix(CONTINUES), is_folder) {
        (Some(part), true) => (part, ""),
        (Some(_), false) => return None,
        (None, true) => (name, "/"),
        (None, false) => (name, ""),
    };
    // Listings build one of these per name they read; no formatting machinery.
    let mut key = String::with_capacity(prefix.len() + part.len() + slash.len());
    key.push_str(prefix);
    key.push_str(part);
    key.push_str(slash);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_segments_round_trip() {
        for key in [
            "a/b".to_string(),
            "x".repeat(950),
            format!("{}/{}", "é".repeat(300), "y".repeat(256)),
            format!("short/{}", "🎵".repeat(200)),
        ] {
            let rel = relative(&key);
            for component in rel.iter() {
                assert!(component.len() <= MAX_NAME, "{component:?}");
            }
            let components: Vec<&OsStr> = rel.iter().collect();
            let (file, folders) = components.split_last().expect("a file name");
            let prefix = folders.iter().try_fold(String::new(), |prefix, folder| {
                child_key(&prefix, folder, true)
            });
            let back = prefix.and_then(|prefix| child_key(&prefix, file, false));
            assert_eq!(back.as_deref(), Some(key.as_str()));
        }
    }

    #[test]
    fn paths_stay_below_their_tree() {
        let layout = Layout::new(PathBuf::from("/r"), Fsync::Always);
        let p = layout.object("%2e%2e/..\\x");
        assert_eq!(p, PathBuf::from("/r/objects/%2e%2e/..\\x"));
        assert!(p
            .components()
            .all(|c| !matches!(c, std::path::Component::ParentDir)));
    }
}
