//! Opening a blob and finding the properties that belong to the bytes opened.

use std::fs::File;

use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::fsops::{io_error, is_absent};
use crate::layout::Layout;
use crate::sidecar::{Identity, Props, Sidecar};

/// How often a reader retries when writers replaced the blob twice between
/// its open and its sidecar read; beyond that it reports what it holds.
const ATTEMPTS: usize = 8;

/// An open data file and its properties.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) meta: BlobMeta,
    pub(crate) props: Props,
}

pub(crate) fn not_found(key: &BlobKey) -> Error {
    Error::new(ErrorKind::NotFound, Provider::Local).with_key(key.as_str())
}

/// Opens the blob's data file and its matching properties.
pub(crate) fn open(layout: &Layout, key: &BlobKey) -> Result<Opened> {
    let object = layout.object(key.as_str());
    let sidecar_path = layout.sidecar(key.as_str());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let file = match File::open(&object) {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Err(not_found(key)),
            Err(e) => return Err(io_error(e, key.as_str(), "opening the blob")),
        };
        let stat = file
            .metadata()
            .map_err(|e| io_error(e, key.as_str(), "reading the blob's size"))?;
        if !stat.is_file() {
            return Err(not_found(key));
        }
        let identity = Identity::of(&stat);
        let sidecar = Sidecar::read(&sidecar_path);
        let props = match sidecar.find(identity) {
            Some(props) => props.clone(),
            None if attempt < ATTEMPTS && replaced_since(&object, identity) => continue,
            None => Props::derived(key, identity),
        };
        let meta = props.clone().into_meta(key, identity);
        return Ok(Opened { file, meta, props });
    }
}

/// Whether the path no longer points at the file with `identity`.
fn replaced_since(object: &std::path::Path, identity: Identity) -> bool {
    std::fs::metadata(object).map_or(true, |m| Identity::of(&m) != identity)
}
