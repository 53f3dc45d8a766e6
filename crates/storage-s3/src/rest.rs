//! The adapter's own S3 requests, for what object_store's API cannot say:
//! a multipart upload whose completion carries a condition (`If-None-Match`,
//! `If-Match`), its content headers and user metadata, and a server-side
//! copy with a condition on the destination.
//!
//! Each request is signed with object_store's SigV4 signer
//! ([`AwsAuthorizer`]) and the credentials of its chain, with the body's
//! SHA-256 as the payload hash, and sent through the same [`HttpClient`]
//! as object_store's own requests, so the one retry policy applies (the
//! request's idempotency is read from it there: a conditional completion
//! or copy is never replayed). Answers are small XML documents, read whole.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::{HttpClient, HttpRequestBody};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use storage_core::{BlobKey, Error, ErrorKind, Result};
use storage_object_store::{answer_error, map_error};

/// Everything but S3's unreserved characters is encoded in a key's
/// segments, as SigV4's canonical URI wants (and as object_store does).
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Signs and sends the adapter's own requests.
#[derive(Debug, Clone)]
pub(crate) struct Rest {
    s3: AmazonS3,
    http: HttpClient,
    bucket_url: String,
    region: String,
}

impl Rest {
    pub(crate) fn new(s3: AmazonS3, http: HttpClient, bucket_url: &str, region: &str) -> Rest {
        Rest {
            s3,
            http,
            bucket_url: bucket_url.trim_end_matches('/').to_string(),
            region: region.to_string(),
        }
    }

    /// `<bucket url>/<key>?<query>`, the key's segments encoded.
    pub(crate) fn object_url(&self, key: &BlobKey, query: &[(&str, &str)]) -> String {
        let path: Vec<String> = key
            .as_str()
            .split('/')
            .map(|segment| utf8_percent_encode(segment, KEY_SEGMENT).to_string())
            .collect();
        let mut url = format!("{}/{}", self.bucket_url, path.join("/"));
        if !query.is_empty() {
            let pairs: Vec<String> = query
                .iter()
                .map(|(k, v)| match *v {
                    // `?uploads`: a flag, not a pair.
                    "" => k.to_string(),
                    v => format!("{k}={}", utf8_percent_encode(v, KEY_SEGMENT)),
                })
                .collect();
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        url
    }

    /// Sends one signed request; a non-2xx answer (or S3's 200 that holds
    /// an `<Error>` document, which completions and copies may answer) is
    /// mapped to an error.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer> {
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(map_error)?;
        let digest = Sha256::digest(&body);
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| {
                Error::without_provider(ErrorKind::InvalidInput)
                    .with_message(format!("cannot build the request: {e}"))
            })?;
        request.headers_mut().extend(headers);
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, Some(&digest))
            .map_err(map_error)?;
        let response = self.http.execute(request).await.map_err(|e| {
            map_error(object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().bytes().await.map_err(|e| {
            map_error(object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
        })?;
        let text = || String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(answer_error(status.as_u16(), &text()));
        }
        if status == StatusCode::OK && body.starts_with(b"<?xml") && text().contains("<Error>") {
            return Err(answer_error(500, &text()).with_retryable(true));
        }
        Ok(Answer { headers, body })
    }
}

/// The text of the first `<name>…</name>` in an XML answer.
pub(crate) fn xml_field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(unescape(body[start..start + len].trim())).filter(|s| !s.is_empty())
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `value` as a header value, or `InvalidInput` naming what it was.
pub(crate) fn header_value(what: &str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        Error::without_provider(ErrorKind::InvalidInput)
            .with_message(format!("the {what} cannot be sent as an HTTP header"))
    })
}
