//! Delete Blob as the adapter's own request. A delete is idempotent, so
//! it is retried on every retryable failure, broken connections included;
//! a blob that is already gone counts as deleted, a missing container does
//! not (the store explains it).

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;
use storage_core::retry::Idempotency;
use storage_core::{BlobKey, Result};

use crate::error::{Op, ServiceAnswer};
use crate::rest::{Request, Rest};

/// Deletes the blob at `url`, `key`'s.
pub(crate) async fn delete(rest: &Rest, url: &url::Url, key: &BlobKey) -> Result<()> {
    let sent = rest
        .send(Request {
            method: Method::DELETE,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            op: Op::Delete,
            key: key.as_str(),
            idempotency: Idempotency::Idempotent,
        })
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() && !ServiceAnswer::container_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
