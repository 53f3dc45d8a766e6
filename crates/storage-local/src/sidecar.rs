//! The sidecar: a blob's properties, kept beside its bytes and tied to them.
//!
//! Blobs keep their properties on the data file itself (see the `attached`
//! module). A sidecar is written only where the filesystem refuses that
//! (no user extended attributes, or properties larger than it holds), and
//! read for data files without an attribute: those of such filesystems, of
//! stores written before attributes, and files placed by hand. A put over a
//! key whose version had a sidecar removes it once the new version, with
//! its attribute, is in place.
//!
//! A write renames the bytes into place after the sidecar, so the two files
//! can never change together. Each sidecar therefore lists the new version
//! and the one it replaces, each tagged with the [`Identity`] of its data
//! file (inode, size, modification time, all kept by `rename`). A reader
//! takes the entry whose identity matches the file it opened, so it always
//! sees properties that belong to the bytes it reads, whatever a concurrent
//! or crashed writer left behind. A sidecar whose entries all name other
//! data files is stale in exactly that way, and the bytes get derived
//! properties until the next write.
//!
//! - **No sidecar** (a file placed under `objects/` by hand): the blob gets
//!   derived properties: a content type from the key's extension, no
//!   metadata, an etag made from the file's inode, size and modification time.
//! - **A sidecar that is not valid JSON** (truncated, overwritten, damaged on
//!   disk) is an error on every read of the key, naming the file and how to
//!   repair it; falling back would silently drop metadata and change the
//!   etag. A put over the key (`Overwrite`) replaces it.

use std::io::{Read, Write};

use rustix::fs::FileType;
use serde::{Deserialize, Serialize};
use storage_core::{BlobKey, Error, ErrorKind, Provider, Result};

use crate::beneath::walk;
use crate::durable::Fsync;
use crate::fsops::{io_error, place};
use crate::layout::{relative, Layout, META};
use crate::props::{Identity, Props};
use crate::temp::TempFile;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Version {
    identity: Identity,
    #[serde(flatten)]
    props: Props,
}

/// The sidecar file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    versions: Vec<Version>,
}

impl Sidecar {
    /// Reads `key`'s sidecar. A missing one is empty: the data file is the
    /// source of truth and falls back to derived properties.
    pub(crate) fn load(layout: &Layout, key: &BlobKey) -> Result<Loaded> {
        let k = key.as_str();
        let Some(parent) = walk(layout, META, &relative(k), k)? else {
            return Ok(Loaded::Intact(Sidecar::default()));
        };
        let rel = parent.rel();
        let Some(mut file) = parent.dir().open_file(&parent.name, k)? else {
            return Ok(Loaded::Intact(Sidecar::default()));
        };
        let stat = rustix::fs::fstat(&file)
            .map_err(|e| io_error(e.into(), &rel, k, "reading the sidecar"))?;
        // A folder here is left over from keys below this one, not a sidecar.
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Ok(Loaded::Intact(Sidecar::default()));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error(e, &rel, k, "reading the sidecar"))?;
        Ok(match serde_json::from_slice(&bytes) {
            Ok(sidecar) => Loaded::Intact(sidecar),
            Err(e) => Loaded::Damaged(
                Error::new(ErrorKind::Backend, Provider::Local)
                    .with_key(k)
                    .with_message(format!(
                        "the sidecar {} that holds this blob's properties is damaged ({e}); \
                         write the blob again to replace it, or delete the sidecar to fall \
                         back to default properties (content type from the key, no metadata, \
                         a new etag)",
                        place(&rel)
                    ))
                    .with_source(e),
            ),
        })
    }

    /// The properties of the version whose data file has `identity`.
    pub(crate) fn find(&self, identity: Identity) -> Option<&Props> {
        self.versions
            .iter()
            .find(|v| v.identity == identity)
            .map(|v| &v.props)
    }

    /// The sidecar to write when `new` replaces the version with `current`
    /// identity (if any): the new entry first, then the current one, so a
    /// reader holding either data file finds its properties.
    pub(crate) fn successor(current: Option<(Identity, Props)>, new: (Identity, Props)) -> Self {
        let mut versions = vec![Version {
            identity: new.0,
            props: new.1,
        }];
        if let Some((identity, props)) = current {
            versions.push(Version { identity, props });
        }
        Sidecar { versions }
    }

    /// Writes the sidecar to `tmp`, flushed to disk, ready to be renamed.
    pub(crate) fn write_to(&self, tmp: &TempFile, fsync: Fsync, key: &str) -> Result<()> {
        let failed = |e| io_error(e, &tmp.rel(), key, "writing the sidecar");
        let bytes = serde_json::to_vec(self).map_err(|e| failed(std::io::Error::other(e)))?;
        let mut file = tmp.file();
        file.write_all(&bytes).map_err(failed)?;
        fsync.file(file).map_err(failed)
    }
}

/// A sidecar as found on disk.
pub(crate) enum Loaded {
    Intact(Sidecar),
    /// Unparseable; the error says which file and how to repair it.
    Damaged(Error),
}

impl Loaded {
    /// The sidecar, or the error that says it is damaged.
    pub(crate) fn intact(self) -> Result<Sidecar> {
        match self {
            Loaded::Intact(sidecar) => Ok(sidecar),
            Loaded::Damaged(err) => Err(err),
        }
    }
}
