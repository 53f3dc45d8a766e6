//! Listing: walk the folders in key order, only as far as the page needs.
//!
//! Keys sort by their bytes, which a walk of the folders does not give for
//! free: the folder `a` holds the keys `a/…`, which sort after the blob
//! `a-c` (`-` < `/`), and a long segment is a chain of continuation folders
//! (see `layout`) whose keys interleave with their siblings'. So the walk
//! is a merge. Pending entries wait in a heap, each under the smallest key
//! it can hold: a blob under its key, a folder under the key prefix it
//! stands for, which every key below it starts with, so nothing below can
//! sort before it. Taking the smallest, and reading a folder only when it
//! comes up, yields the keys in exactly the order of the cloud providers.
//!
//! Each page therefore
//! - reads the names of the folders it reaches, and no others (a folder's
//!   names come in no order, so each of those is read whole, names only,
//!   and sorted; a large folder's sorted names are kept for the next page
//!   while it is unchanged, see `folders`);
//! - finds where the page starts in each folder by binary search;
//! - skips folders whose keys all sort at or before the cursor, and those
//!   that cannot hold keys with the prefix;
//! - with a delimiter, reports a sub-folder once it has seen one blob in it,
//!   without walking the rest;
//! - stops at the first entry past the page (it tells that there is more);
//! - opens, and reads the properties of, only the blobs it returns,
//!
//! costing O(page size + log names) per large folder it reaches once its
//! names are kept, instead of O(blobs under the prefix).
//!
//! The walk opens each folder relative to its parent and never follows a
//! link. A symbolic link the page reaches fails the listing with an error
//! that names it: skipping it would hide a blob the user placed, following
//! it would list (and offer to read) files outside the root. Entries that
//! vanish mid-walk (a concurrent delete) are skipped.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::ffi::OsString;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::SystemTime;

use rustix::fs::FileType;
use storage_core::{list::paginate, BlobKey, Error, ListEntry, ListOptions, ListPage, Result};

use crate::attached;
use crate::beneath::{link_refused, open_dir, Dir};
use crate::folders::{Folders, Sorted};
use crate::fsops::io_error;
use crate::layout::{child_key, Layout, OBJECTS};
use crate::props::{Identity, Props};
use crate::sidecar::Sidecar;

pub(crate) fn list(layout: &Layout, opts: &ListOptions) -> Result<ListPage> {
    let prefix = opts.prefix_str();
    let (dir_rel, dir_prefix) = layout.listing_dir(prefix);
    let Some(dir) = open_dir(layout, OBJECTS, &dir_rel, "")? else {
        return Ok(ListPage::default());
    };
    let mut walk = Walk {
        folders: &layout.folders,
        prefix,
        cursor: opts.cursor.as_deref(),
        delimiter: opts.delimiter,
        // The page, and the entry after it that tells there is more.
        wants: opts.page_size() + 1,
        pending: BinaryHeap::new(),
        opened: HashMap::new(),
        failed: None,
    };
    walk.read_folder(Rc::new(dir), &dir_prefix)?;
    let mut page = paginate(&mut walk, opts);
    if let Some(err) = walk.failed {
        return Err(err);
    }
    for entry in &mut page.entries {
        if let Some(opened) = walk.opened.remove(&entry.key) {
            entry.etag = etag(layout, &entry.key, opened)?;
        }
    }
    Ok(page)
}

/// The etag of a listed blob, found as `head` finds it.
fn etag(layout: &Layout, key: &BlobKey, opened: Opened) -> Result<String> {
    if let Some(props) = opened.attached? {
        return Ok(props.etag);
    }
    let sidecar = Sidecar::load(layout, key)?.intact()?;
    Ok(match sidecar.find(opened.identity) {
        Some(props) => props.etag.clone(),
        None => Props::derived(key, opened.identity).etag,
    })
}

/// A blob the walk opened: the state of its file, and the properties
/// attached to it (a damaged attribute fails the page only if the blob is on
/// it).
struct Opened {
    identity: Identity,
    attached: Result<Option<Props>>,
}

/// Something waiting to be visited, under the smallest key it can hold.
struct Pending {
    key: String,
    what: What,
}

enum What {
    /// The names of a folder from `at` on, beyond what the page could take
    /// when the folder was read, waiting under the smallest of their keys.
    Later {
        dir: Rc<Dir>,
        dir_key: Rc<str>,
        names: Sorted,
        at: usize,
    },
    Blob(Rc<Dir>, OsString),
    /// A symbolic link: refused if the walk reaches it.
    Link(PathBuf),
    Folder(Rc<Dir>, OsString),
}

impl What {
    /// Among equal keys: a blob has exactly its key, a folder only longer
    /// ones, so the blob goes first; entries waiting for later may hold that
    /// blob, so they are queued before anything else.
    fn rank(&self) -> u8 {
        match self {
            What::Later { .. } => 0,
            What::Blob(..) => 1,
            What::Link(_) => 2,
            What::Folder(..) => 3,
        }
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then(self.what.rank().cmp(&other.what.rank()))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

struct Walk<'a> {
    folders: &'a Folders,
    prefix: &'a str,
    cursor: Option<&'a str>,
    delimiter: bool,
    /// Entries the page still takes.
    wants: usize,
    pending: BinaryHeap<Reverse<Pending>>,
    /// The blobs handed to the page so far.
    opened: HashMap<BlobKey, Opened>,
    /// What stopped the walk; the page is not used then.
    failed: Option<Error>,
}

impl Walk<'_> {
    /// Queues the entries of `dir`, which stands for keys starting with
    /// `dir_key`, that can hold keys the page still needs.
    ///
    /// The names are sorted, so those sorting before the prefix or at or
    /// before the cursor are skipped by binary search, except the folders
    /// whose keys begin the prefix or the cursor (they hold keys after
    /// both): every such key is itself a prefix of that text, so each is
    /// found by an exact search.
    fn read_folder(&mut self, dir: Rc<Dir>, dir_key: &str) -> Result<()> {
        let names = self.folders.sorted(&dir)?;
        let dir_key: Rc<str> = Rc::from(dir_key);
        let mut beginnings = BTreeSet::new();
        let mut start = 0;
        for bound in [Some(self.prefix), self.cursor].into_iter().flatten() {
            let Some(rel) = bound.strip_prefix(&*dir_key) else {
                continue;
            };
            for end in (1..=rel.len()).filter(|&end| rel.is_char_boundary(end)) {
                let beginning = &rel[..end];
                let first = names.partition_point(|n| n.suffix.as_str() < beginning);
                beginnings
                    .extend((first..names.len()).take_while(|&i| names[i].suffix == beginning));
            }
            start = start.max(names.partition_point(|n| n.suffix.as_str() <= rel));
        }
        // Each sorts at or before its bound, so before `start`.
        for i in beginnings {
            self.push(&dir, &dir_key, &names, i);
        }
        self.queue(dir, dir_key, names, start);
        Ok(())
    }

    /// Queues name `i` of a folder if the page wants it; says whether it did.
    fn push(&mut self, dir: &Rc<Dir>, dir_key: &str, names: &Sorted, i: usize) -> bool {
        let named = &names[i];
        let mut key = String::with_capacity(dir_key.len() + named.suffix.len());
        key.push_str(dir_key);
        key.push_str(&named.suffix);
        let what = match named.file_type {
            FileType::RegularFile => What::Blob(dir.clone(), named.name.clone()),
            FileType::Directory => What::Folder(dir.clone(), named.name.clone()),
            _ => What::Link(dir.rel(&named.name)),
        };
        let wanted = self.wanted(&key, &what);
        if wanted {
            self.pending.push(Reverse(Pending { key, what }));
        }
        wanted
    }

    /// Queues the wanted names of a folder from `at` on, in key order, as
    /// many as the page still takes; the rest wait as one entry under the
    /// smallest of their keys. The page is full before it reaches them,
    /// unless some of the first yield nothing (an empty folder, a file that
    /// vanished). Names past those with the prefix end it.
    fn queue(&mut self, dir: Rc<Dir>, dir_key: Rc<str>, names: Sorted, at: usize) {
        let prefix_rel = self.prefix.strip_prefix(&*dir_key).unwrap_or("");
        let mut queued = 0;
        for i in at..names.len() {
            let suffix = names[i].suffix.as_str();
            if suffix > prefix_rel && !suffix.starts_with(prefix_rel) {
                return;
            }
            if queued == self.wants {
                let mut key = String::with_capacity(dir_key.len() + suffix.len());
                key.push_str(&dir_key);
                key.push_str(suffix);
                let later = What::Later {
                    dir,
                    dir_key,
                    names,
                    at: i,
                };
                self.pending.push(Reverse(Pending { key, what: later }));
                return;
            }
            if self.push(&dir, &dir_key, &names, i) {
                queued += 1;
            }
        }
    }

    /// Whether `what`, under `key`, can hold a key with the prefix that
    /// sorts after the cursor.
    fn wanted(&self, key: &str, what: &What) -> bool {
        let prefix = self.prefix;
        let matches = match what {
            // Checked when their folder was read.
            What::Later { .. } => true,
            What::Blob(..) => key.starts_with(prefix),
            What::Folder(..) => key.starts_with(prefix) || prefix.starts_with(key),
            // Reached as a blob, or as a folder of blobs.
            What::Link(_) => key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")),
        };
        let Some(cursor) = self.cursor else {
            return matches;
        };
        let after_cursor = match what {
            What::Later { .. } => true,
            What::Blob(..) => key > cursor,
            // A folder reported whole is one name on a page.
            What::Folder(..) if self.folds(key) => key > cursor,
            // Every key below starts with `key`: all of them sort at or
            // before the cursor only if `key` does without being the
            // cursor's own beginning.
            What::Folder(..) | What::Link(_) => key > cursor || cursor.starts_with(key),
        };
        matches && after_cursor
    }

    /// Whether the folder standing for `key` is reported as one name: with
    /// a delimiter, a folder below the prefix.
    fn folds(&self, key: &str) -> bool {
        self.delimiter
            && key
                .strip_prefix(self.prefix)
                .is_some_and(|rest| rest.contains('/'))
    }

    /// The next entry of the page, in key order.
    fn advance(&mut self) -> Result<Option<ListEntry>> {
        while let Some(Reverse(Pending { key, what })) = self.pending.pop() {
            match what {
                What::Later {
                    dir,
                    dir_key,
                    names,
                    at,
                } => self.queue(dir, dir_key, names, at),
                What::Blob(dir, name) => {
                    if let Some(entry) = self.open(&dir, &name, key)? {
                        self.wants = self.wants.saturating_sub(1).max(1);
                        return Ok(Some(entry));
                    }
                }
                What::Link(rel) => return Err(link_refused(&rel, "")),
                What::Folder(dir, name) if self.folds(&key) => {
                    let Some(sub) = dir.subdir(&name, "")? else {
                        continue;
                    };
                    // Stands in for the folder: paginate folds it into
                    // the folder's name and never shows it.
                    if let Some(inside) = first_blob(&sub, &key)? {
                        self.wants = self.wants.saturating_sub(1).max(1);
                        return Ok(Some(ListEntry::new(inside, 0, "", SystemTime::UNIX_EPOCH)));
                    }
                }
                What::Folder(dir, name) => {
                    if let Some(sub) = dir.subdir(&name, "")? {
                        self.read_folder(Rc::new(sub), &key)?;
                    }
                }
            }
        }
        Ok(None)
    }

    /// Opens the blob `name` of `dir` for the page; `None` when it vanished,
    /// is no longer a file, or its name is no valid key.
    fn open(&mut self, dir: &Dir, name: &OsString, key: String) -> Result<Option<ListEntry>> {
        let Ok(key) = BlobKey::new(key) else {
            return Ok(None);
        };
        let Some(file) = dir.open_file(name, "")? else {
            return Ok(None);
        };
        let rel = dir.rel(name);
        let stat = rustix::fs::fstat(&file)
            .map_err(|e| io_error(e.into(), &rel, "", "looking at a file"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Ok(None);
        }
        let identity = Identity::of(&stat);
        let attached = attached::props_of(&file, identity, &rel, &key);
        let entry = ListEntry::new(key.clone(), identity.size(), "", identity.modified());
        self.opened.insert(key, Opened { identity, attached });
        Ok(Some(entry))
    }
}

impl Iterator for Walk<'_> {
    type Item = ListEntry;

    fn next(&mut self) -> Option<ListEntry> {
        if self.failed.is_some() {
            return None;
        }
        match self.advance() {
            Ok(entry) => entry,
            Err(err) => {
                self.failed = Some(err);
                None
            }
        }
    }
}

/// Some blob below `dir` (which stands for keys starting with `dir_key`),
/// if there is one; proves that a folder is no leftover of a delete. Stops
/// at the first blob among the folder's own files; only without one does it
/// go on, through sub-folders in name order, so the answer, and the link it
/// may trip over, do not depend on the order of entries on disk.
fn first_blob(dir: &Dir, dir_key: &str) -> Result<Option<BlobKey>> {
    let mut others = Vec::new();
    let found = dir.scan("", |name, file_type| {
        if file_type == FileType::RegularFile {
            child_key(dir_key, &name, false).and_then(|key| BlobKey::new(key).ok())
        } else {
            others.push((name, file_type));
            None
        }
    })?;
    if found.is_some() {
        return Ok(found);
    }
    others.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (name, file_type) in others {
        match file_type {
            FileType::Symlink if child_key(dir_key, &name, false).is_some() => {
                return Err(link_refused(&dir.rel(&name), ""))
            }
            FileType::Directory => {
                let Some(key) = child_key(dir_key, &name, true) else {
                    continue;
                };
                if let Some(sub) = dir.subdir(&name, "")? {
                    if let Some(found) = first_blob(&sub, &key)? {
                        return Ok(Some(found));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(None)
}
