//! Server-side copy, with the source's metadata.
//!
//! - `Overwrite`: one `CopyObject` (`x-amz-metadata-directive: COPY`, S3's
//!   default, so content type, cache-control, content-disposition and
//!   `x-amz-meta-*` come along). It copies sources up to 5 GiB.
//! - `Create` / `IfMatch`: S3 takes a write condition on `PutObject` and
//!   `CompleteMultipartUpload` only, so the copy is a multipart upload
//!   whose parts are `UploadPartCopy` ranges of the source, pinned to the
//!   source's etag (`x-amz-copy-source-if-match`, so a source that changes
//!   mid-copy fails the copy instead of mixing versions), created with the
//!   source's content headers, and completed with the condition: the
//!   destination appears only if it still holds. A failure aborts the
//!   upload. An empty source (no part can copy zero bytes) is written by a
//!   conditional `PutObject` of nothing, with its headers.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use object_store::aws::AmazonS3;
use percent_encoding::utf8_percent_encode;
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, PutMode, PutOptions, Result};

use crate::rest::{header_value, xml_field, Rest};
use crate::upload::{condition, condition_error, content_headers};

/// Encoding of the copy source header: everything but unreserved
/// characters and `/`.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The largest range one `UploadPartCopy` may copy.
const MAX_COPY_PART: u64 = 5 << 30;

fn copy_source(bucket: &str, from: &BlobKey) -> Result<HeaderValue> {
    let source = format!(
        "/{bucket}/{}",
        utf8_percent_encode(from.as_str(), COPY_SOURCE)
    );
    header_value("copy source", &source)
}

/// Copies `from` to `to` within `bucket`.
pub(crate) async fn copy(
    rest: &Rest,
    s3: &AmazonS3,
    bucket: &str,
    from: &BlobKey,
    to: &BlobKey,
    mode: &PutMode,
) -> Result<()> {
    if *mode == PutMode::Overwrite {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-copy-source", copy_source(bucket, from)?);
        headers.insert("x-amz-metadata-directive", HeaderValue::from_static("COPY"));
        rest.send(
            Method::PUT,
            &rest.object_url(to, &[]),
            headers,
            Bytes::new(),
        )
        .await?;
        return Ok(());
    }
    let source = crate::read::stat(s3, from).await?;
    let mut headers = content_headers(to, &as_put_options(&source))?;
    let condition = condition(mode)?;
    if source.size == 0 {
        if let Some((name, value)) = condition {
            headers.insert(name, value);
        }
        rest.send(
            Method::PUT,
            &rest.object_url(to, &[]),
            headers,
            Bytes::new(),
        )
        .await
        .map_err(|e| condition_error(mode, e))?;
        return Ok(());
    }
    let created = rest
        .send(
            Method::POST,
            &rest.object_url(to, &[("uploads", "")]),
            headers,
            Bytes::new(),
        )
        .await?;
    let upload_id = xml_field(&created.body, "UploadId").ok_or_else(|| {
        Error::without_provider(ErrorKind::Backend)
            .with_message("CreateMultipartUpload answered without an UploadId")
    })?;
    let outcome = copy_parts(rest, bucket, from, &source, to, &upload_id, condition).await;
    if outcome.is_err() {
        let abort = rest
            .send(
                Method::DELETE,
                &rest.object_url(to, &[("uploadId", &upload_id)]),
                HeaderMap::new(),
                Bytes::new(),
            )
            .await;
        if let Err(e) = abort {
            tracing::warn!(key = %to, error = %e, "aborting a failed multipart copy failed");
        }
    }
    outcome.map_err(|e| condition_error(mode, e))
}

/// What `CreateMultipartUpload` must be told for the copy to carry the
/// source's content headers and metadata.
fn as_put_options(source: &BlobMeta) -> PutOptions {
    let mut opts = PutOptions::new().content_type(source.content_type.clone());
    opts.cache_control = source.cache_control.clone();
    opts.content_disposition = source.content_disposition.clone();
    opts.metadata = source.metadata.clone();
    opts
}

async fn copy_parts(
    rest: &Rest,
    bucket: &str,
    from: &BlobKey,
    source: &BlobMeta,
    to: &BlobKey,
    upload_id: &str,
    condition: Option<(http::HeaderName, HeaderValue)>,
) -> Result<()> {
    let mut document = String::from("<CompleteMultipartUpload>");
    let mut start = 0u64;
    let mut number = 1u32;
    while start < source.size {
        let end = (start + MAX_COPY_PART).min(source.size);
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-copy-source", copy_source(bucket, from)?);
        headers.insert(
            "x-amz-copy-source-range",
            header_value("copy range", &format!("bytes={start}-{}", end - 1))?,
        );
        headers.insert(
            "x-amz-copy-source-if-match",
            header_value("source etag", &source.etag)?,
        );
        let part = number.to_string();
        let answer = rest
            .send(
                Method::PUT,
                &rest.object_url(to, &[("partNumber", &part), ("uploadId", upload_id)]),
                headers,
                Bytes::new(),
            )
            .await?;
        let etag = xml_field(&answer.body, "ETag").unwrap_or_default();
        document.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            etag.replace('&', "&amp;").replace('"', "&quot;")
        ));
        start = end;
        number += 1;
    }
    document.push_str("</CompleteMultipartUpload>");
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Some((name, value)) = condition {
        headers.insert(name, value);
    }
    rest.send(
        Method::POST,
        &rest.object_url(to, &[("uploadId", upload_id)]),
        headers,
        Bytes::from(document),
    )
    .await?;
    Ok(())
}
