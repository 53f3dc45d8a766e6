//! The sidecar: a blob's properties, kept beside its bytes and tied to them.
//!
//! A write renames the bytes into place after the sidecar, so the two files
//! can never change together. Each sidecar therefore lists the new version
//! and the one it replaces, each tagged with the [`Identity`] of its data
//! file (inode, size, modification time, all kept by `rename`). A reader
//! takes the entry whose identity matches the file it opened, so it always
//! sees properties that belong to the bytes it reads, whatever a concurrent
//! or crashed writer left behind.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use storage_core::{infer_content_type, BlobKey, BlobMeta};

/// Which data file a sidecar entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    ino: u64,
    size: u64,
    mtime_ns: u128,
}

impl Identity {
    pub(crate) fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let ino = 0;
        Identity {
            ino,
            size: meta.len(),
            mtime_ns: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
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
    /// Reads a sidecar; a missing or unreadable one is empty, because the
    /// data file is the source of truth and falls back to derived properties.
    pub(crate) fn read(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
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
    pub(crate) fn successor(
        &self,
        current: Option<(Identity, Props)>,
        new: (Identity, Props),
    ) -> Self {
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
    pub(crate) fn write_to(&self, tmp: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()
    }
}
