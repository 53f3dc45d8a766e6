//! Reads and heads through object_store: ranges, `If-Match` and
//! `If-None-Match` travel on the `GET`, so S3 itself answers `412` or
//! `304`; the body streams from the connection as it arrives.

use std::collections::BTreeMap;
use std::time::SystemTime;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetRange, GetResult, GetResultPayload, ObjectMeta, ObjectStore,
};
use storage_core::{Blob, BlobKey, BlobMeta, ByteRange, Error, ErrorKind, GetOptions, Result};
use storage_object_store::map_error;

/// `key` as an object_store path, unchanged (no re-encoding).
pub(crate) fn path(key: &BlobKey) -> Result<Path> {
    Path::parse(key.as_str())
        .map_err(|e| Error::without_provider(ErrorKind::InvalidKey).with_message(e.to_string()))
}

/// A blob's properties from object_store's view of an answer.
pub(crate) fn meta_of(key: &BlobKey, object: &ObjectMeta, attributes: &Attributes) -> BlobMeta {
    let text = |attr: &Attribute| attributes.get(attr).map(|v| v.as_ref().to_string());
    let content_type =
        text(&Attribute::ContentType).unwrap_or_else(|| "application/octet-stream".to_string());
    let mut meta = BlobMeta::new(
        key.clone(),
        object.size,
        object.e_tag.clone().unwrap_or_default(),
        SystemTime::from(object.last_modified),
        content_type,
    );
    meta.cache_control = text(&Attribute::CacheControl);
    meta.content_disposition = text(&Attribute::ContentDisposition);
    meta.metadata = attributes
        .iter()
        .filter_map(|(attr, value)| match attr {
            Attribute::Metadata(name) => Some((name.to_string(), value.as_ref().to_string())),
            _ => None,
        })
        .collect::<BTreeMap<_, _>>();
    meta
}

fn range_of(range: &ByteRange) -> GetRange {
    match range {
        ByteRange::Bounded { start, end } => GetRange::Bounded(*start..*end),
        ByteRange::From(start) => GetRange::Offset(*start),
        ByteRange::Suffix(n) => GetRange::Suffix(*n),
    }
}

/// Opens a read of `key` with `opts`.
pub(crate) async fn get(s3: &AmazonS3, key: &BlobKey, opts: &GetOptions) -> Result<Blob> {
    let options = object_store::GetOptions {
        if_match: opts.if_match.clone(),
        if_none_match: opts.if_none_match.clone(),
        range: opts.range.as_ref().map(range_of),
        ..Default::default()
    };
    let result = s3.get_opts(&path(key)?, options).await.map_err(map_error)?;
    let GetResult {
        payload,
        meta,
        range,
        attributes,
        ..
    } = result;
    let stream = match payload {
        GetResultPayload::Stream(stream) => stream.map_err(map_error).boxed(),
        // Only object_store's local store answers with a file; the variant
        // exists when another crate of the build turns object_store's `fs`
        // feature on.
        #[allow(unreachable_patterns)]
        _ => {
            return Err(Error::without_provider(ErrorKind::Backend)
                .with_message("object_store answered a GET with something other than a stream"))
        }
    };
    Ok(Blob::new(meta_of(key, &meta, &attributes), range, stream))
}

/// The properties of `key` (a `HEAD`).
pub(crate) async fn stat(s3: &AmazonS3, key: &BlobKey) -> Result<BlobMeta> {
    let options = object_store::GetOptions {
        head: true,
        ..Default::default()
    };
    let result = s3.get_opts(&path(key)?, options).await.map_err(map_error)?;
    Ok(meta_of(key, &result.meta, &result.attributes))
}
