//! Translating blob properties from object_store to storage_core: object_store
//! metadata plus attributes → [`BlobMeta`] (uploads build theirs from what
//! they sent, in [`crate::upload`]).
//!
//! Azure returns etags quoted in headers but unquoted in listings; every etag
//! leaving this crate is quoted, so `head`, `list` and `put` agree.

use std::collections::BTreeMap;

use object_store::{Attribute, Attributes, ObjectMeta};
use storage_core::{BlobKey, BlobMeta};

/// Quotes an etag if Azure returned it bare.
pub(crate) fn normalize_etag(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/\"") {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}

/// A [`BlobMeta`] from what a `GET`/`HEAD` returned.
pub(crate) fn blob_meta(key: BlobKey, meta: &ObjectMeta, attrs: &Attributes) -> BlobMeta {
    let mut out = BlobMeta::new(
        key,
        meta.size,
        normalize_etag(meta.e_tag.as_deref().unwrap_or_default()),
        meta.last_modified.into(),
        "application/octet-stream",
    );
    let mut metadata = BTreeMap::new();
    for (attr, value) in attrs {
        let value: &str = value.as_ref();
        match attr {
            Attribute::ContentType => out.content_type = value.to_string(),
            Attribute::CacheControl => out.cache_control = Some(value.to_string()),
            Attribute::ContentDisposition => out.content_disposition = Some(value.to_string()),
            Attribute::Metadata(name) => {
                // Azure may return metadata names in another case; names here are lowercase.
                metadata.insert(name.to_ascii_lowercase(), value.to_string());
            }
            _ => {}
        }
    }
    out.metadata = metadata;
    out
}
