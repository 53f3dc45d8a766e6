//! Listing: walk the folder that holds the prefix, sort, paginate.
//!
//! Every page walks the subtree below the prefix's folder and sorts it, which
//! is simple and always consistent with the key order of the cloud providers;
//! it costs O(blobs under the prefix) per page, fine for development stores
//! of thousands of blobs, not for millions.
//!
//! The walk opens each folder relative to its parent and never follows a
//! link. A symbolic link met on the way fails the listing with an error that
//! names it: skipping it would hide a blob the user placed, following it
//! would list (and offer to read) files outside the root. Entries that
//! vanish mid-walk (a concurrent delete) are skipped.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

use rustix::fs::FileType;
use storage_core::{list::paginate, BlobKey, ListEntry, ListOptions, ListPage, Result};

use crate::beneath::{link_refused, open_dir, Dir};
use crate::layout::{key_of, Layout, OBJECTS};
use crate::props::{Identity, Props};
use crate::read;

pub(crate) fn list(layout: &Layout, opts: &ListOptions) -> Result<ListPage> {
    let prefix = opts.prefix_str();
    let (dir_rel, dir_prefix) = layout.listing_dir(prefix);
    let mut found = Vec::new();
    if let Some(dir) = open_dir(layout, OBJECTS, &dir_rel, "")? {
        let walk = Walk {
            base_prefix: &dir_prefix,
            prefix,
        };
        walk.collect(&dir, &mut Vec::new(), &mut found)?;
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let identities: HashMap<BlobKey, Identity> = found.iter().cloned().collect();
    let entries = found
        .into_iter()
        .map(|(key, id)| ListEntry::new(key, id.size(), String::new(), id.modified()));
    let mut page = paginate(entries, opts);
    // Only the entries on the page pay for reading their properties.
    for entry in &mut page.entries {
        if let Some(&id) = identities.get(&entry.key) {
            entry.etag = match read::open(layout, &entry.key) {
                Ok(opened) => opened.meta.etag,
                Err(e) if e.is_not_found() => Props::derived(&entry.key, id).etag,
                Err(e) => return Err(e),
            };
        }
    }
    Ok(page)
}

struct Walk<'a> {
    /// The key prefix the walk's starting folder stands for.
    base_prefix: &'a str,
    prefix: &'a str,
}

impl Walk<'_> {
    /// Adds every blob below `dir` whose key starts with the prefix;
    /// `below` holds the folder names from the starting folder to `dir`.
    fn collect(
        &self,
        dir: &Dir,
        below: &mut Vec<OsString>,
        out: &mut Vec<(BlobKey, Identity)>,
    ) -> Result<()> {
        for name in dir.names("")? {
            let Some(stat) = dir.stat_entry(&name, "")? else {
                continue;
            };
            let file_type = FileType::from_raw_mode(stat.st_mode);
            below.push(name);
            let result = self.visit(dir, file_type, &stat, below, out);
            below.pop();
            result?;
        }
        Ok(())
    }

    fn visit(
        &self,
        dir: &Dir,
        file_type: FileType,
        stat: &rustix::fs::Stat,
        below: &mut Vec<OsString>,
        out: &mut Vec<(BlobKey, Identity)>,
    ) -> Result<()> {
        let components: Vec<&OsStr> = below.iter().map(OsString::as_os_str).collect();
        let is_dir = file_type == FileType::Directory;
        let Some(tail) = key_of(&components).or_else(|| {
            // A folder whose name continues a long segment: its key is only
            // known once the walk reaches the segment's end.
            is_dir.then(String::new)
        }) else {
            return Ok(());
        };
        let key = format!("{}{tail}", self.base_prefix);
        let name = components[components.len() - 1];
        let folder = format!("{key}/");
        let folder_could_match = tail.is_empty()
            || folder.starts_with(self.prefix)
            || self.prefix.starts_with(folder.as_str());
        match file_type {
            FileType::Directory if folder_could_match => {
                if let Some(sub) = dir.subdir(name, "")? {
                    self.collect(&sub, below, out)?;
                }
            }
            // Refused only where the listing would have reached it, as a
            // blob or as a folder of blobs.
            FileType::Symlink if key.starts_with(self.prefix) || folder_could_match => {
                return Err(link_refused(&dir.rel(name), ""));
            }
            FileType::RegularFile if key.starts_with(self.prefix) => {
                if let Ok(key) = BlobKey::new(key) {
                    out.push((key, Identity::of(stat)));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
