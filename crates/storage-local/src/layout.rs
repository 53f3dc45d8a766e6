//! Where each file of the store lives under the root.
//!
//! ```text
//! <root>/objects/<key>   the blob's bytes: what a person browsing the folder sees
//! <root>/meta/<key>      the sidecar (JSON): content type, metadata, etag
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

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The longest file name Linux, macOS and Windows filesystems accept, in bytes.
const MAX_NAME: usize = 255;

/// Marks a directory that holds the continuation of a too-long segment.
const CONTINUES: char = '\u{1}';

/// The fixed directories of a store.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) objects: PathBuf,
    pub(crate) meta: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) locks: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: PathBuf) -> Self {
        Layout {
            objects: root.join("objects"),
            meta: root.join("meta"),
            tmp: root.join("tmp"),
            locks: root.join("locks"),
            root,
        }
    }

    pub(crate) fn object(&self, key: &str) -> PathBuf {
        self.objects.join(relative(key))
    }

    pub(crate) fn sidecar(&self, key: &str) -> PathBuf {
        self.meta.join(relative(key))
    }

    /// The deepest directory under `objects/` that holds every key starting
    /// with `prefix`, and the key prefix that directory stands for.
    pub(crate) fn listing_dir(&self, prefix: &str) -> (PathBuf, String) {
        match prefix.rfind('/') {
            Some(i) => (
                self.objects.join(relative(&prefix[..i])),
                prefix[..=i].to_string(),
            ),
            None => (self.objects.clone(), String::new()),
        }
    }

    /// A fresh temporary file path; the name is random so concurrent writers
    /// (tasks or processes) never share one.
    pub(crate) fn temp(&self, what: &str) -> PathBuf {
        self.tmp.join(format!("{what}-{:032x}", fastrand::u128(..)))
    }

    /// The lock stripe for `key`: keys spread over 256 files so the lock
    /// directory never grows with the number of blobs.
    pub(crate) fn lock(&self, key: &str) -> PathBuf {
        // FNV-1a: stable across processes and builds, unlike std's hasher.
        let hash = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
        self.locks.join(format!("{:02x}", hash & 0xff))
    }
}

/// The relative path of a key: one component per segment, long segments
/// split at character boundaries into continuation components.
fn relative(key: &str) -> PathBuf {
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

/// Turns the components below `objects/` back into a key, or `None` for a
/// name that no key could have produced (a non-UTF-8 file dropped in by hand).
pub(crate) fn key_of(components: &[&OsStr]) -> Option<String> {
    let mut key = String::new();
    let mut continuing = false;
    for component in components {
        let name = component.to_str()?;
        if !continuing && !key.is_empty() {
            key.push('/');
        }
        match name.strip_prefix(CONTINUES) {
            Some(part) => {
                key.push_str(part);
                continuing = true;
            }
            None => {
                key.push_str(name);
                continuing = false;
            }
        }
    }
    (!continuing).then_some(key)
}

/// The components of `path` below `base`.
pub(crate) fn components_below<'a>(path: &'a Path, base: &Path) -> Option<Vec<&'a OsStr>> {
    Some(path.strip_prefix(base).ok()?.iter().collect())
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
            assert_eq!(key_of(&components).as_deref(), Some(key.as_str()));
        }
    }

    #[test]
    fn paths_stay_below_their_tree() {
        let layout = Layout::new(PathBuf::from("/r"));
        let p = layout.object("%2e%2e/..\\x");
        assert_eq!(p, PathBuf::from("/r/objects/%2e%2e/..\\x"));
        assert!(p
            .components()
            .all(|c| !matches!(c, std::path::Component::ParentDir)));
    }
}
