//! What a store knows about a blob besides its bytes.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::BlobKey;

/// A blob's properties, returned identically by `put`, `head` and `get` on
/// every provider.
///
/// `content_type` is always set: when the upload named none, the store
/// inferred it from the key's extension, or used `application/octet-stream`
/// (see [`PutOptions::content_type_for`](crate::PutOptions::content_type_for)).
///
/// ```
/// use std::time::SystemTime;
/// use storage_core::{BlobKey, BlobMeta};
/// let meta = BlobMeta::new(BlobKey::new("a.txt").unwrap(), 3, "\"1\"", SystemTime::now(), "text/plain");
/// assert_eq!(meta.size, 3);
/// assert!(meta.metadata.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlobMeta {
    /// The blob's key.
    pub key: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// An opaque version tag that changes on every write; pass it back in
    /// [`PutMode::IfMatch`](crate::PutMode::IfMatch).
    pub etag: String,
    /// When the blob was last written.
    pub last_modified: SystemTime,
    /// The MIME type served with the blob.
    pub content_type: String,
    /// The `Cache-Control` served with the blob, if one was set.
    pub cache_control: Option<String>,
    /// The `Content-Disposition` served with the blob, if one was set.
    pub content_disposition: Option<String>,
    /// User metadata (names are lowercase identifiers, values printable ASCII).
    pub metadata: BTreeMap<String, String>,
}

impl BlobMeta {
    /// Properties with no cache-control, content-disposition or metadata.
    pub fn new(
        key: BlobKey,
        size: u64,
        etag: impl Into<String>,
        last_modified: SystemTime,
        content_type: impl Into<String>,
    ) -> Self {
        BlobMeta {
            key,
            size,
            etag: etag.into(),
            last_modified,
            content_type: content_type.into(),
            cache_control: None,
            content_disposition: None,
            metadata: BTreeMap::new(),
        }
    }
}
