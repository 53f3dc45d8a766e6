//! Listing: walk the folder that holds the prefix, sort, paginate.
//!
//! Every page walks the subtree below the prefix's folder and sorts it, which
//! is simple and always consistent with the key order of the cloud providers;
//! it costs O(blobs under the prefix) per page, fine for development stores
//! of thousands of blobs, not for millions.

use std::path::Path;

use storage_core::{list::paginate, BlobKey, ListEntry, ListOptions, ListPage, Result};

use crate::layout::{components_below, key_of, Layout};
use crate::sidecar::{Identity, Props, Sidecar};

pub(crate) fn list(layout: &Layout, opts: &ListOptions) -> Result<ListPage> {
    let prefix = opts.prefix_str();
    let (dir, dir_prefix) = layout.listing_dir(prefix);
    let mut found = Vec::new();
    collect(&dir, &dir, &dir_prefix, prefix, &mut found);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let identities: std::collections::HashMap<BlobKey, Identity> = found.iter().cloned().collect();
    let entries = found
        .into_iter()
        .map(|(key, id)| ListEntry::new(key, id.size(), String::new(), id.modified()));
    let mut page = paginate(entries, opts);
    // Only the entries on the page pay for a sidecar read.
    for entry in &mut page.entries {
        if let Some(&id) = identities.get(&entry.key) {
            let sidecar = Sidecar::read(&layout.sidecar(entry.key.as_str()));
            entry.etag = sidecar
                .find(id)
                .cloned()
                .unwrap_or_else(|| Props::derived(&entry.key, id))
                .etag;
        }
    }
    Ok(page)
}

/// Adds every blob below `dir` whose key starts with `prefix`. Entries that
/// vanish mid-walk (a concurrent delete) and symlinks are skipped.
fn collect(
    base: &Path,
    dir: &Path,
    base_prefix: &str,
    prefix: &str,
    out: &mut Vec<(BlobKey, Identity)>,
) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(stat) = entry.metadata() else {
            continue;
        };
        let Some(components) = components_below(&path, base) else {
            continue;
        };
        let Some(tail) = key_of(&components).or_else(|| {
            // A directory whose name continues a long segment: its key is
            // only known once the walk reaches the segment's end.
            stat.is_dir().then(String::new)
        }) else {
            continue;
        };
        let key = format!("{base_prefix}{tail}");
        if stat.is_dir() {
            let folder = format!("{key}/");
            let could_match = tail.is_empty()
                || folder.starts_with(prefix)
                || prefix.starts_with(folder.as_str());
            if could_match {
                collect(base, &path, base_prefix, prefix, out);
            }
        } else if stat.is_file() && key.starts_with(prefix) {
            if let Ok(key) = BlobKey::new(key) {
                out.push((key, Identity::of(&stat)));
            }
        }
    }
}
