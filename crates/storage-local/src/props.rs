//! The properties of one version of a blob, and the data file they belong to.
//!
//! Properties are recorded when a version is written (on the data file, see
//! `attached`, or in a sidecar, see `sidecar`) and always checked against
//! the [`Identity`] of the file they are read for: inode, size and
//! modification time, all of which `rename` keeps.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::Stat;
use serde::{Deserialize, Serialize};
use storage_core::{infer_content_type, BlobKey, BlobMeta};

/// Which state of which data file a set of properties describes.
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

    pub(crate) fn new(ino: u64, size: u64, mtime_ns: u128) -> Self {
        Identity {
            ino,
            size,
            mtime_ns,
        }
    }

    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn mtime_ns(&self) -> u128 {
        self.mtime_ns
    }

    pub(crate) fn modified(&self) -> SystemTime {
        let nanos = u64::try_from(self.mtime_ns).unwrap_or(u64::MAX);
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    /// The etag of a file that has no recorded properties (dropped in by
    /// hand): stable while the file is unchanged.
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

    /// Properties for a data file nothing describes (placed by hand).
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
