//! Presigned URLs: SigV4 query signing by object_store's signer
//! (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature` in the query), for `GET`,
//! `PUT` and `DELETE` on one key.
//!
//! - The expiry is at most 7 days (S3's bound, checked before signing by
//!   the portable layer); URLs signed with temporary credentials stop
//!   working when the session does, whatever their expiry.
//! - A `PUT` signed with a content type (or content-disposition) binds it:
//!   the header is part of the signature, listed in
//!   [`SignedRequest::headers`], and an upload sent with another value is
//!   refused by S3 (`SignatureDoesNotMatch`).
//! - A `GET` signed with a content-disposition asks S3 to serve it
//!   (`response-content-disposition`, signed into the query).
//! - S3 cannot bound an upload's size through a presigned `PUT` (only a
//!   `POST` policy can), so `max_size` is not supported.

use std::time::SystemTime;

use http::{HeaderName, HeaderValue, Method};
use object_store::aws::AmazonS3;
use object_store::signer::{SignedUrlOptions, Signer};
use storage_core::{BlobKey, Result, SignMethod, SignOptions, SignedRequest};
use storage_object_store::map_error;

use crate::read::path;
use crate::rest::header_value;

/// A presigned request for `opts.method` on `key`.
pub(crate) async fn sign(
    s3: &AmazonS3,
    key: &BlobKey,
    opts: &SignOptions,
) -> Result<SignedRequest> {
    let method = match opts.method {
        SignMethod::Get => Method::GET,
        SignMethod::Put => Method::PUT,
        SignMethod::Delete => Method::DELETE,
    };
    let mut options = SignedUrlOptions::default();
    let mut headers = Vec::new();
    if opts.method == SignMethod::Put {
        let mut bind = |name: HeaderName, value: &str| -> Result<()> {
            let header: HeaderValue = header_value(name.as_str(), value)?;
            options = std::mem::take(&mut options).with_signed_header(name.clone(), header);
            headers.push((name.as_str().to_string(), value.to_string()));
            Ok(())
        };
        if let Some(ct) = &opts.content_type {
            bind(http::header::CONTENT_TYPE, ct)?;
        }
        if let Some(cd) = &opts.content_disposition {
            bind(http::header::CONTENT_DISPOSITION, cd)?;
        }
    } else if let (SignMethod::Get, Some(cd)) = (opts.method, &opts.content_disposition) {
        options = options.with_query([("response-content-disposition", cd.as_str())]);
    }
    let now = SystemTime::now();
    let url = s3
        .signed_url_opts(method, &path(key)?, opts.expires_in, &options)
        .await
        .map_err(map_error)?;
    Ok(SignedRequest::new(
        opts.method,
        url.to_string(),
        headers,
        now + opts.expires_in,
    ))
}
