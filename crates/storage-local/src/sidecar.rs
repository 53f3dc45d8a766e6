//! The sidecar: a blob's properties, kept beside its bytes and tied to them.
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

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{FileType, Stat};
use serde::{Deserialize, Serialize};
use storage_core::{infer_content_type, BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::beneath::walk;
use crate::durable::Fsync;
use crate::fsops::{io_error, place};
use crate::layout::{relative, Layout, META};
use crate::temp::TempFile;

/// Which data file a sidecar entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    ino: u64,
    size: u64,
    mtime_ns: u128,
}

impl Identity {
    pub(crate) fn of(stat: &Stat) -> Self {
        // The field types differ between platforms; i128 holds them all.
        let nanos = i128::from(stat.st_mtime) * 1_000_000_000 + i128::from(stat.st_mtime_nsec);
        Identity {
            ino: u64::try_from(i128::from(stat.st_ino)).unwrap_or(0),
            size: u64::try_from(i128::from(stat.st_size)).unwrap_or(0),
            mtime_ns: u128::try_from(nanos).unwrap_or(0),
        }
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn modified(&self) -> SystemTime {
        let nanos = u64::try_from(self.mtime_ns).unwrap_or(u64::MAX);
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    /// The etag of a file that has no sidecar entry (dropped in by hand):
    /// stable while the file is unchanged.
    fn derived_etag(&self) -> String {
        format!("\"{:x}-{:x}-{:x}\"", self.ino, self.size, self.mtime_ns)
    }
}

/// The properties of one version of a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Props {
    pub(crate) etag: String,
    pub(crate) content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, String>,
}

impl Props {
    /// A fresh random etag, quoted as in HTTP.
    pub(crate) fn new_etag() -> String {
        format!("\"{:032x}\"", fastrand::u128(..))
    }

    pub(crate) fn into_meta(self, key: &BlobKey, identity: Identity) -> BlobMeta {
        let mut meta = BlobMeta::new(
            key.clone(),
            identity.size(),
            self.etag,
            identity.modified(),
            self.content_type,
        );
        meta.cache_control = self.cache_control;
        meta.content_disposition = self.content_disposition;
        meta.metadata = self.metadata;
        meta
    }

    /// Properties for a data file no sidecar describes.
    pub(crate) fn derived(key: &BlobKey, identity: Identity) -> Self {
        Props {
            etag: identity.derived_etag(),
            content_type: infer_content_type(key),
            cache_control: None,
            content_disposition: None,
            metadata: BTreeMap::new(),
        }
    }
}

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
