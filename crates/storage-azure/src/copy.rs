//! Copy Blob within the container, as the adapter's own request, with the
//! write condition on it: `If-None-Match: *` for `Create`, `If-Match` for
//! `IfMatch`. The service copies bytes, content headers and metadata; the
//! destination's properties are read back with one `HEAD`, after waiting
//! out a copy the service reports as still pending.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use reqwest::Method;
use storage_core::retry::Idempotency;
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, PutMode, Result};

use crate::error::{Op, ServiceAnswer};
use crate::read;
use crate::rest::{header_value, Request, Rest};

/// How often a pending copy is looked at.
const POLL: Duration = Duration::from_millis(200);

/// Copies `from` (at `from_url`) to `to` (at `to_url`) if `mode` holds.
pub(crate) async fn copy(
    rest: &Rest,
    (from, from_url): (&BlobKey, &url::Url),
    (to, to_url): (&BlobKey, &url::Url),
    mode: &PutMode,
) -> Result<BlobMeta> {
    let mut headers = HeaderMap::new();
    let mut value = header_value(rest.copy_source(from_url).as_str())?;
    // The source URL may carry the SAS the store authenticates with.
    value.set_sensitive(true);
    headers.insert("x-ms-copy-source", value);
    let (op, idempotency) = match mode {
        PutMode::Overwrite => (Op::Copy, Idempotency::Idempotent),
        PutMode::Create => {
            headers.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
            (Op::WriteCreate, Idempotency::NotIdempotent)
        }
        PutMode::IfMatch(etag) => {
            headers.insert(IF_MATCH, header_value(etag)?);
            (Op::WriteIfMatch, Idempotency::NotIdempotent)
        }
    };
    let sent = rest
        .send(Request {
            method: Method::PUT,
            url: to_url,
            headers,
            body: Bytes::new(),
            op,
            key: to.as_str(),
            idempotency,
        })
        .await;
    let answer = match sent {
        Ok(headers) => headers,
        // The destination's conditions answer 409/412; a 404 is the source.
        Err(e) if is_404(&e) && !ServiceAnswer::container_missing(&e) => {
            return Err(Error::new(ErrorKind::NotFound, Provider::Azure)
                .with_key(from.as_str())
                .with_message("copy failed: the source blob does not exist")
                .with_source(e))
        }
        Err(e) => return Err(e),
    };
    let mut status = copy_status(&answer);
    let started = Instant::now();
    loop {
        match status.as_deref() {
            None | Some("success") => return read::stat(rest, to_url, to).await,
            Some("pending") if started.elapsed() < rest.policy().deadline => {
                tokio::time::sleep(POLL).await;
                status = copy_status(&read::head(rest, to_url, to).await?);
            }
            Some("pending") => {
                return Err(Error::new(ErrorKind::Timeout, Provider::Azure)
                    .with_key(to.as_str())
                    .with_message(format!(
                        "copy did not finish within {:.0?}; the service is still copying, \
                         look again later or raise BLOB_STORAGE_DEADLINE",
                        started.elapsed()
                    )))
            }
            Some(other) => {
                return Err(Error::new(ErrorKind::Backend, Provider::Azure)
                    .with_key(to.as_str())
                    .with_message(format!(
                        "copy failed: the service reports the copy as {other} after {:.0?}",
                        started.elapsed()
                    )))
            }
        }
    }
}

fn is_404(err: &Error) -> bool {
    ServiceAnswer::of(err).is_some_and(|a| a.status == Some(404))
}

fn copy_status(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-ms-copy-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
}
