//! Streamed uploads with bounded memory, all or nothing.
//!
//! The body is read until one part (8 MiB by default) is full. A body that
//! fits in one part goes up as a single `PUT`. A longer body, or one of
//! unknown length that turns out longer, becomes a multipart upload: parts
//! are sent at most `max_concurrency` at a time (so at most that many
//! parts, plus the one being read, are in memory), and the object appears
//! only when `CompleteMultipartUpload` assembles them. The write condition
//! (`If-None-Match: *` for `Create`, `If-Match` for `IfMatch`) goes on the
//! request that makes the object visible: the `PUT`, or the completion.
//! The content headers and `x-amz-meta-*` go on the `PUT` or on
//! `CreateMultipartUpload`. If the body fails, or a part cannot be sent,
//! the upload is aborted (`DELETE ?uploadId=`): readers keep seeing the old
//! object, or none. (An abort that cannot reach S3 leaves parts that only a
//! bucket lifecycle rule, `AbortIncompleteMultipartUpload`, removes.)

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, DATE, ETAG};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use storage_core::{BlobKey, BlobMeta, Body, Error, ErrorKind, PutMode, PutOptions, Result};
use storage_object_store::PartReader;
use tokio::task::JoinSet;

use crate::rest::{header_value, xml_field, Rest};

/// Tuning of one upload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub part_size: usize,
    pub max_concurrency: usize,
}

/// The content headers of a new object.
pub(crate) fn content_headers(key: &BlobKey, opts: &PutOptions) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let content_type = opts.content_type_for(key);
    headers.insert(CONTENT_TYPE, header_value("content type", &content_type)?);
    if let Some(cc) = &opts.cache_control {
        headers.insert(CACHE_CONTROL, header_value("cache-control", cc)?);
    }
    if let Some(cd) = &opts.content_disposition {
        headers.insert(
            CONTENT_DISPOSITION,
            header_value("content-disposition", cd)?,
        );
    }
    for (name, value) in &opts.metadata {
        let name =
            HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()).map_err(|_| {
                Error::without_provider(ErrorKind::InvalidInput)
                    .with_message(format!("metadata name `{name}` cannot be sent as a header"))
            })?;
        headers.insert(name, header_value("metadata value", value)?);
    }
    Ok(headers)
}

/// The header that carries `mode`'s condition, if any.
pub(crate) fn condition(mode: &PutMode) -> Result<Option<(HeaderName, HeaderValue)>> {
    Ok(match mode {
        PutMode::Overwrite => None,
        PutMode::Create => Some((http::header::IF_NONE_MATCH, HeaderValue::from_static("*"))),
        PutMode::IfMatch(etag) => Some((http::header::IF_MATCH, header_value("etag", etag)?)),
    })
}

/// Reads a failed condition as the caller asked it: S3 answers a `Create`
/// that found the object with 412 (or 409 while a concurrent one is in
/// flight), an `IfMatch` on a missing object with 404.
pub(crate) fn condition_error(mode: &PutMode, err: Error) -> Error {
    let kind = match (mode, err.kind()) {
        (PutMode::Create, ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists) => {
            ErrorKind::AlreadyExists
        }
        (
            PutMode::IfMatch(_),
            ErrorKind::NotFound | ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed,
        ) => ErrorKind::PreconditionFailed,
        _ => return err,
    };
    Error::without_provider(kind).with_message(err.message().unwrap_or_default().to_string())
}

/// The new object's properties: its etag and the answer's time, and what
/// was sent (which is what S3 stores and a `HEAD` returns).
fn meta_from(
    key: &BlobKey,
    opts: &PutOptions,
    size: u64,
    etag: String,
    answer: &HeaderMap,
) -> BlobMeta {
    let when = answer
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .unwrap_or_else(SystemTime::now);
    let mut meta = BlobMeta::new(key.clone(), size, etag, when, opts.content_type_for(key));
    meta.cache_control = opts.cache_control.clone();
    meta.content_disposition = opts.content_disposition.clone();
    meta.metadata = opts.metadata.clone();
    meta
}

/// Uploads `body` as `key`, all or nothing.
pub(crate) async fn upload(
    rest: &Rest,
    key: &BlobKey,
    body: Body,
    opts: &PutOptions,
    tuning: Tuning,
) -> Result<BlobMeta> {
    let headers = content_headers(key, opts)?;
    let condition = condition(&opts.mode)?;
    let mut parts = PartReader::new(body, tuning.part_size);
    let (first, ended) = parts.next().await?;
    if ended {
        let size = first.len() as u64;
        let mut headers = headers;
        if let Some((name, value)) = condition {
            headers.insert(name, value);
        }
        let answer = rest
            .send(Method::PUT, &rest.object_url(key, &[]), headers, first)
            .await
            .map_err(|e| condition_error(&opts.mode, e))?;
        let etag = etag_of(&answer.headers);
        return Ok(meta_from(key, opts, size, etag, &answer.headers));
    }

    let created = rest
        .send(
            Method::POST,
            &rest.object_url(key, &[("uploads", "")]),
            headers,
            Bytes::new(),
        )
        .await?;
    let upload_id = xml_field(&created.body, "UploadId").ok_or_else(|| {
        Error::without_provider(ErrorKind::Backend)
            .with_message("CreateMultipartUpload answered without an UploadId")
    })?;
    let upload = Multipart {
        rest,
        key,
        upload_id: &upload_id,
        tuning,
        opts,
    };
    let outcome = upload.run(first, &mut parts, condition).await;
    match outcome {
        Ok(meta) => Ok(meta),
        Err(err) => {
            // Nothing was completed: abort, so no part lingers (and a
            // failed completion leaves no upload behind either).
            let abort = rest
                .send(
                    Method::DELETE,
                    &rest.object_url(key, &[("uploadId", &upload_id)]),
                    HeaderMap::new(),
                    Bytes::new(),
                )
                .await;
            if let Err(e) = abort {
                tracing::warn!(key = %key, error = %e, "aborting a failed multipart upload failed");
            }
            Err(err)
        }
    }
}

/// One multipart upload under way.
struct Multipart<'a> {
    rest: &'a Rest,
    key: &'a BlobKey,
    upload_id: &'a str,
    tuning: Tuning,
    opts: &'a PutOptions,
}

impl Multipart<'_> {
    /// Sends `first` and the rest of `parts`, then completes with
    /// `condition`.
    async fn run(
        &self,
        first: Bytes,
        parts: &mut PartReader,
        condition: Option<(HeaderName, HeaderValue)>,
    ) -> Result<BlobMeta> {
        let Multipart {
            rest,
            key,
            upload_id,
            tuning,
            opts,
        } = *self;
        let mut etags: Vec<Option<String>> = Vec::new();
        let mut in_flight: JoinSet<Result<(usize, String)>> = JoinSet::new();
        let mut size = 0u64;
        let mut next = Some(first);
        while let Some(part) = next.take() {
            while in_flight.len() >= tuning.max_concurrency.max(1) {
                record(in_flight.join_next().await, &mut etags)?;
            }
            size += part.len() as u64;
            let index = etags.len();
            etags.push(None);
            let number = (index + 1).to_string();
            let url = rest.object_url(key, &[("partNumber", &number), ("uploadId", upload_id)]);
            let rest = rest.clone();
            in_flight.spawn(async move {
                let answer = rest.send(Method::PUT, &url, HeaderMap::new(), part).await?;
                Ok((index, etag_of(&answer.headers)))
            });
            if !parts.is_done() {
                // Dropping `in_flight` on an error cancels the parts in flight.
                let (part, _) = parts.next().await?;
                if !part.is_empty() {
                    next = Some(part);
                }
            }
        }
        while let Some(done) = in_flight.join_next().await {
            record(Some(done), &mut etags)?;
        }
        let mut document = String::from("<CompleteMultipartUpload>");
        for (index, etag) in etags.iter().enumerate() {
            let etag = etag.as_deref().unwrap_or_default();
            document.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                index + 1,
                etag.replace('&', "&amp;").replace('"', "&quot;")
            ));
        }
        document.push_str("</CompleteMultipartUpload>");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        if let Some((name, value)) = condition {
            headers.insert(name, value);
        }
        let answer = rest
            .send(
                Method::POST,
                &rest.object_url(key, &[("uploadId", upload_id)]),
                headers,
                Bytes::from(document),
            )
            .await
            .map_err(|e| condition_error(&opts.mode, e))?;
        let etag = xml_field(&answer.body, "ETag").unwrap_or_default();
        Ok(meta_from(key, opts, size, etag, &answer.headers))
    }
}

/// The outcome of one part.
fn record(
    done: Option<std::result::Result<Result<(usize, String)>, tokio::task::JoinError>>,
    etags: &mut [Option<String>],
) -> Result<()> {
    match done {
        None => Ok(()),
        Some(Ok(Ok((index, etag)))) => {
            etags[index] = Some(etag);
            Ok(())
        }
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(Error::without_provider(ErrorKind::Backend)
            .with_message(format!("uploading a part stopped: {e}"))),
    }
}

/// The `ETag` header of an answer, as S3 sent it (quoted).
pub(crate) fn etag_of(headers: &HeaderMap) -> String {
    headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
