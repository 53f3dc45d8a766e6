//! Listing: options, pages, and the one pagination routine that the memory
//! and local stores share.
//!
//! Order is ascending by the key's UTF-8 bytes on every provider. A cursor is
//! opaque to callers; pass the one a page returned to get the next page.

use std::time::SystemTime;

use crate::{key::validate_prefix, BlobKey, Result};

/// The most entries (blobs plus folders) one page holds.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Options for [`BlobStore::list`](crate::BlobStore::list).
///
/// ```
/// use storage_core::ListOptions;
/// let opts = ListOptions::new().prefix("recordings/").delimiter(true).limit(100);
/// assert_eq!(opts.page_size(), 100);
/// assert_eq!(ListOptions::new().limit(5000).page_size(), 1000);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Only keys starting with this string (not path-aware: `rec` matches
    /// `recordings/a` and `record.txt`).
    pub prefix: Option<String>,
    /// Fold keys that have a `/` after the prefix into folders.
    pub delimiter: bool,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<String>,
    /// Page size; at most [`MAX_PAGE_SIZE`], which is also the default.
    pub limit: Option<usize>,
}

impl ListOptions {
    /// Everything, in pages of [`MAX_PAGE_SIZE`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Fold sub-folders (`/`-delimited) into [`ListPage::folders`].
    pub fn delimiter(mut self, on: bool) -> Self {
        self.delimiter = on;
        self
    }

    /// Resume from a previous page's cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// At most this many entries per page.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The effective page size: the limit, between 1 and [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    /// The prefix, or `""`.
    pub fn prefix_str(&self) -> &str {
        self.prefix.as_deref().unwrap_or("")
    }

    /// Checks the prefix; stores call this before any I/O.
    pub fn validate(&self) -> Result<()> {
        validate_prefix(self.prefix_str())
    }
}

/// One blob in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListEntry {
    /// The blob's key.
    pub key: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// The blob's etag, as `head` returns it.
    pub etag: String,
    /// When the blob was last written.
    pub last_modified: SystemTime,
}

impl ListEntry {
    /// A listing entry.
    pub fn new(
        key: BlobKey,
        size: u64,
        etag: impl Into<String>,
        last_modified: SystemTime,
    ) -> Self {
        ListEntry {
            key,
            size,
            etag: etag.into(),
            last_modified,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// Blobs on this page, ascending by key.
    pub entries: Vec<ListEntry>,
    /// With a delimiter: the folders (each ends in `/`), ascending.
    pub folders: Vec<String>,
    /// Set when there is more; pass it to [`ListOptions::cursor`].
    pub cursor: Option<String>,
}

impl ListPage {
    /// A page.
    pub fn new(entries: Vec<ListEntry>, folders: Vec<String>, cursor: Option<String>) -> Self {
        ListPage {
            entries,
            folders,
            cursor,
        }
    }
}

/// Builds one page from entries that are sorted ascending by key and all
/// start with `opts.prefix`: folds folders, skips up to the cursor, cuts at
/// the page size. The cursor it returns is the last name on the page.
///
/// ```
/// use std::time::SystemTime;
/// use storage_core::{list::paginate, BlobKey, ListEntry, ListOptions};
/// let entries = ["a/1", "a/2", "b", "c/1"]
///     .map(|k| ListEntry::new(BlobKey::new(k).unwrap(), 0, "e", SystemTime::UNIX_EPOCH));
/// let page = paginate(entries.into_iter(), &ListOptions::new().delimiter(true).limit(2));
/// assert_eq!(page.folders, ["a/"]);
/// assert_eq!(page.entries[0].key.as_str(), "b");
/// assert_eq!(page.cursor.as_deref(), Some("b"));
/// ```
pub fn paginate(entries: impl Iterator<Item = ListEntry>, opts: &ListOptions) -> ListPage {
    let prefix = opts.prefix_str();
    let limit = opts.page_size();
    let cursor = opts.cursor.as_deref();
    let mut page = ListPage::default();
    let mut count = 0;
    let mut last_name: Option<String> = None;
    let mut last_folder: Option<String> = None;
    for entry in entries {
        let folder = if opts.delimiter {
            entry.key.as_str()[prefix.len()..]
                .find('/')
                .map(|i| entry.key.as_str()[..prefix.len() + i + 1].to_string())
        } else {
            None
        };
        let name = folder.as_deref().unwrap_or(entry.key.as_str());
        if cursor.is_some_and(|c| name <= c) {
            continue;
        }
        if folder.is_some() && folder == last_folder {
            continue;
        }
        if count == limit {
            page.cursor = last_name;
            return page;
        }
        count += 1;
        last_name = Some(name.to_string());
        match folder {
            Some(f) => {
                page.folders.push(f.clone());
                last_folder = Some(f);
            }
            None => page.entries.push(entry),
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<ListEntry> {
        keys.iter()
            .map(|k| {
                ListEntry::new(
                    BlobKey::new(*k).expect("key"),
                    1,
                    "e",
                    SystemTime::UNIX_EPOCH,
                )
            })
            .collect()
    }

    fn walk(keys: &[&str], opts: ListOptions) -> Vec<String> {
        let mut seen = Vec::new();
        let mut opts = opts;
        loop {
            let page = paginate(entries(keys).into_iter(), &opts);
            assert!(page.entries.len() + page.folders.len() <= opts.page_size());
            let mut names: Vec<String> = page
                .entries
                .iter()
                .map(|e| e.key.to_string())
                .chain(page.folders.iter().cloned())
                .collect();
            names.sort();
            seen.extend(names);
            match page.cursor {
                Some(c) => opts = opts.cursor(c),
                None => return seen,
            }
        }
    }

    #[test]
    fn every_page_size_visits_each_name_once() {
        let keys = ["a", "a/b", "a/c/d", "a/c/e", "a0", "b/x", "b/y", "c"];
        for limit in 1..=9 {
            assert_eq!(
                walk(&keys, ListOptions::new().limit(limit)),
                keys,
                "limit {limit}"
            );
            assert_eq!(
                walk(&keys, ListOptions::new().limit(limit).delimiter(true)),
                ["a", "a/", "a0", "b/", "c"],
                "limit {limit}"
            );
        }
    }

    #[test]
    fn no_cursor_when_the_last_page_is_exactly_full() {
        let page = paginate(
            entries(&["a", "b"]).into_iter(),
            &ListOptions::new().limit(2),
        );
        assert_eq!(page.entries.len(), 2);
        assert_eq!(page.cursor, None);
    }
}
