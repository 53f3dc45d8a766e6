//! Opening a blob and finding the properties that belong to the bytes opened.

use std::fs::File;
use std::path::PathBuf;

use rustix::fs::FileType;
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::attached;
use crate::beneath::walk;
use crate::fsops::io_error;
use crate::layout::{relative, Layout, OBJECTS};
use crate::props::{Identity, Props};
use crate::sidecar::Sidecar;

/// How often a reader of a blob kept with a sidecar retries when writers
/// replaced the blob twice between its open and its sidecar read; beyond
/// that it reports what it holds.
const ATTEMPTS: usize = 8;

/// An open data file and its properties.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) meta: BlobMeta,
    pub(crate) props: Props,
    /// The data file's path relative to the root, for messages.
    pub(crate) rel: PathBuf,
}

pub(crate) fn not_found(key: &BlobKey) -> Error {
    Error::new(ErrorKind::NotFound, Provider::Local).with_key(key.as_str())
}

/// Opens the blob's data file and its matching properties: those attached
/// to the file, else its sidecar entry, else derived ones. A link anywhere
/// on the way, or damaged properties, is an error.
pub(crate) fn open(layout: &Layout, key: &BlobKey) -> Result<Opened> {
    let k = key.as_str();
    let rel = relative(k);
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Walked again on each attempt: a delete may have pruned the folder
        // and a put recreated it.
        let Some(parent) = walk(layout, OBJECTS, &rel, k)? else {
            return Err(not_found(key));
        };
        let Some(file) = parent.dir().open_file(&parent.name, k)? else {
            return Err(not_found(key));
        };
        let stat = rustix::fs::fstat(&file)
            .map_err(|e| io_error(e.into(), &parent.rel(), k, "reading the blob's size"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(not_found(key));
        }
        let identity = Identity::of(&stat);
        let props = match attached::props_of(&file, identity, &parent.rel(), key)? {
            Some(props) => props,
            None => match Sidecar::load(layout, key)?.intact()?.find(identity) {
                Some(props) => props.clone(),
                None if attempt < ATTEMPTS && replaced_since(&parent, identity, k)? => continue,
                None => Props::derived(key, identity),
            },
        };
        let meta = props.clone().into_meta(key, identity);
        return Ok(Opened {
            file,
            meta,
            props,
            rel: parent.rel(),
        });
    }
}

/// Whether the name no longer holds the file with `identity`.
fn replaced_since(parent: &crate::beneath::Parent, identity: Identity, key: &str) -> Result<bool> {
    Ok(parent
        .dir()
        .stat(&parent.name, key)?
        .is_none_or(|now| Identity::of(&now) != identity))
}
