//! The requests on the wire, shaped like the official `@vercel/blob` SDK's
//! (see `vercel-blob-protocol.md`), and the retry loop around them.
//!
//! Every API request carries `authorization: Bearer <token>`,
//! `x-api-version`, `x-vercel-blob-store-id`, a request id that stays the
//! same across retries and an attempt counter starting at 0. Reads go to the
//! blob host with the bearer token only, as the SDK's `get()` does.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response};
use serde::{Deserialize, Serialize};
use storage_core::Result;

use crate::config::VercelConfig;
use crate::error;

/// The API version the SDK 2.8 speaks.
pub(crate) const API_VERSION: &str = "12";

/// Error bodies are read up to this size; the rest is dropped.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// What stays escaped in a blob URL path: everything but unreserved
/// characters and `/`, so `?`, `#`, `%`, `\` and spaces survive URL parsers.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `encodeURIComponent`, which the SDK applies to `x-mpu-key`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The JSON every write answers with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PutResult {
    pub pathname: String,
    pub content_type: String,
    pub etag: String,
}

/// The JSON of `GET /?url=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeadResult {
    pub size: u64,
    pub uploaded_at: String,
    pub content_type: String,
    #[serde(default)]
    pub cache_control: Option<String>,
    pub etag: String,
}

/// One blob of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListedBlob {
    pub pathname: String,
    pub size: u64,
    pub uploaded_at: String,
    pub etag: String,
}

/// The JSON of `GET /?limit=…`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListResult {
    pub blobs: Vec<ListedBlob>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub folders: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MpuCreated {
    pub key: String,
    pub upload_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MpuPart {
    pub etag: String,
}

/// One part named in the completion request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
}

/// Body of `POST /signed-token`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignedTokenRequest {
    pub operations: Vec<&'static str>,
    pub valid_until: u64,
}

/// Answer of `POST /signed-token`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignedTokenResult {
    pub delegation_token: String,
    pub client_signing_token: String,
    pub valid_until: u64,
}

/// The put headers, each sent only when set (access always is).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteHeaders {
    pub content_type: Option<String>,
    pub allow_overwrite: Option<bool>,
    pub cache_control_max_age: Option<u64>,
    pub if_match: Option<String>,
}

/// The multipart upload a part or completion belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub key: String,
    pub upload_id: String,
}

/// One try of a request: the id shared by all tries and this try's number.
struct Attempt<'a> {
    id: &'a str,
    number: u32,
}

/// Whether a request may be sent again after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotent {
    Yes,
    No,
}

/// The HTTP side of a [`VercelStore`](crate::VercelStore).
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    config: VercelConfig,
}

impl Client {
    pub(crate) fn new(config: VercelConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout())
            .read_timeout(config.read_timeout())
            .build()
            .map_err(|e| error::from_transport("building the HTTP client", e))?;
        Ok(Client { http, config })
    }

    pub(crate) fn config(&self) -> &VercelConfig {
        &self.config
    }

    /// The URL of `pathname` on the blob host.
    pub(crate) fn blob_url(&self, pathname: &str) -> String {
        format!(
            "{}/{}",
            self.config.blob_host(),
            utf8_percent_encode(pathname, PATH)
        )
    }

    /// The API URL for `path` (`""`, `"/"`, `"/mpu"` …), appended as a plain
    /// string the way the SDK does.
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base())
    }

    fn request_id(&self) -> String {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        format!(
            "{}:{ms}:{:013x}",
            self.config.store_id(),
            fastrand::u64(..) >> 12
        )
    }

    fn api(&self, method: Method, path: &str, at: &Attempt<'_>) -> RequestBuilder {
        self.http
            .request(method, self.api_url(path))
            .bearer_auth(self.config.token().expose())
            .header("x-api-version", API_VERSION)
            .header("x-vercel-blob-store-id", self.config.store_id())
            .header("x-api-blob-request-id", at.id)
            .header("x-api-blob-request-attempt", at.number.to_string())
    }

    fn write_headers(&self, rb: RequestBuilder, headers: &WriteHeaders) -> RequestBuilder {
        let mut rb = rb.header("x-vercel-blob-access", self.config.access_level().as_str());
        if let Some(ct) = &headers.content_type {
            rb = rb.header("x-content-type", ct);
        }
        if let Some(allow) = headers.allow_overwrite {
            rb = rb.header("x-allow-overwrite", if allow { "1" } else { "0" });
        }
        if let Some(age) = headers.cache_control_max_age {
            rb = rb.header("x-cache-control-max-age", age.to_string());
        }
        if let Some(etag) = &headers.if_match {
            rb = rb.header("x-if-match", etag);
        }
        rb
    }

    /// Sends the request `build` makes, retrying transient failures of
    /// idempotent requests with capped, jittered exponential backoff.
    async fn send<F>(&self, operation: &str, idempotent: Idempotent, build: F) -> Result<Response>
    where
        F: Fn(&Attempt<'_>) -> RequestBuilder,
    {
        let id = self.request_id();
        let policy = self.config.retry_policy();
        let mut number = 0u32;
        loop {
            let at = Attempt { id: &id, number };
            let may_retry = idempotent == Idempotent::Yes && number < policy.max_retries;
            let err = match build(&at).send().await {
                Ok(resp) if resp.status().is_success() || resp.status().as_u16() == 304 => {
                    return Ok(resp)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = read_limited(resp).await;
                    let err = error::from_response(operation, status, &headers, &body);
                    if !(may_retry && error::is_retryable_status(status)) {
                        return Err(err);
                    }
                    err
                }
                Err(e) => {
                    if !(may_retry && error::transport_is_retryable(&e)) {
                        return Err(error::from_transport(operation, e));
                    }
                    error::from_transport(operation, e)
                }
            };
            number += 1;
            let delay = policy.delay(number);
            tracing::debug!(%err, attempt = number, ?delay, "retrying a Vercel Blob request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(operation: &str, resp: Response) -> Result<T> {
        let body = resp
            .bytes()
            .await
            .map_err(|e| error::from_transport(operation, e))?;
        serde_json::from_slice(&body).map_err(|e| error::malformed(operation, e))
    }

    /// `PUT /?pathname=` with a body held in memory, so it can be replayed
    /// when `idempotent` says a replay cannot change the outcome.
    pub(crate) async fn put(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        body: Bytes,
        idempotent: Idempotent,
    ) -> Result<PutResult> {
        let resp = self
            .send("put", idempotent, |at| {
                let rb = self
                    .api(Method::PUT, "/", at)
                    .query(&[("pathname", pathname)]);
                self.write_headers(rb, headers).body(body.clone())
            })
            .await?;
        Self::json("put", resp).await
    }

    /// `GET /?url=<pathname>`.
    pub(crate) async fn head(&self, pathname: &str) -> Result<HeadResult> {
        let resp = self
            .send("head", Idempotent::Yes, |at| {
                self.api(Method::GET, "", at).query(&[("url", pathname)])
            })
            .await?;
        Self::json("head", resp).await
    }

    /// `GET /?limit=&prefix=&cursor=&mode=folded`, each only when set.
    pub(crate) async fn list(
        &self,
        limit: usize,
        prefix: &str,
        cursor: Option<&str>,
        folded: bool,
    ) -> Result<ListResult> {
        let limit = limit.to_string();
        let mut query: Vec<(&str, &str)> = vec![("limit", &limit)];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        if folded {
            query.push(("mode", "folded"));
        }
        let resp = self
            .send("list", Idempotent::Yes, |at| {
                self.api(Method::GET, "", at).query(&query)
            })
            .await?;
        Self::json("list", resp).await
    }

    /// `POST /delete` with one blob URL.
    pub(crate) async fn delete(&self, pathname: &str) -> Result<()> {
        let body = serde_json::json!({ "urls": [self.blob_url(pathname)] }).to_string();
        self.send("delete", Idempotent::Yes, |at| {
            self.api(Method::POST, "/delete", at)
                .header("content-type", "application/json")
                .body(body.clone())
        })
        .await?;
        Ok(())
    }

    /// `PUT /?pathname=<to>&fromUrl=<blob url of from>`. Not retried: a copy
    /// that succeeded but whose answer was lost would fail a `Create` retry.
    pub(crate) async fn copy(
        &self,
        from: &str,
        to: &str,
        headers: &WriteHeaders,
    ) -> Result<PutResult> {
        let from_url = self.blob_url(from);
        let resp = self
            .send("copy", Idempotent::No, |at| {
                let rb = self
                    .api(Method::PUT, "/", at)
                    .query(&[("pathname", to), ("fromUrl", from_url.as_str())]);
                self.write_headers(rb, headers)
            })
            .await?;
        Self::json("copy", resp).await
    }

    fn mpu(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        action: &str,
        at: &Attempt<'_>,
    ) -> RequestBuilder {
        let rb = self
            .api(Method::POST, "/mpu", at)
            .query(&[("pathname", pathname)]);
        self.write_headers(rb, headers)
            .header("x-mpu-action", action)
    }

    /// `POST /mpu` with `x-mpu-action: create`.
    pub(crate) async fn mpu_create(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
    ) -> Result<Upload> {
        let resp = self
            .send("multipart create", Idempotent::Yes, |at| {
                self.mpu(pathname, headers, "create", at)
            })
            .await?;
        let created: MpuCreated = Self::json("multipart create", resp).await?;
        Ok(Upload {
            key: created.key,
            upload_id: created.upload_id,
        })
    }

    /// `POST /mpu` with `x-mpu-action: upload`; parts are replayable.
    pub(crate) async fn mpu_upload(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        upload: &Upload,
        part_number: u32,
        body: Bytes,
    ) -> Result<CompletedPart> {
        let key = utf8_percent_encode(&upload.key, URI_COMPONENT).to_string();
        let resp = self
            .send("multipart upload", Idempotent::Yes, |at| {
                self.mpu(pathname, headers, "upload", at)
                    .header("x-mpu-key", &key)
                    .header("x-mpu-upload-id", &upload.upload_id)
                    .header("x-mpu-part-number", part_number.to_string())
                    .body(body.clone())
            })
            .await?;
        let part: MpuPart = Self::json("multipart upload", resp).await?;
        Ok(CompletedPart {
            part_number,
            etag: part.etag,
        })
    }

    /// `POST /mpu` with `x-mpu-action: complete`. Not retried: the upload is
    /// gone once completed, so a retry after a lost answer would fail.
    pub(crate) async fn mpu_complete(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        upload: &Upload,
        parts: &[CompletedPart],
    ) -> Result<PutResult> {
        let key = utf8_percent_encode(&upload.key, URI_COMPONENT).to_string();
        let body =
            serde_json::to_string(parts).map_err(|e| error::malformed("multipart complete", e))?;
        let resp = self
            .send("multipart complete", Idempotent::No, |at| {
                self.mpu(pathname, headers, "complete", at)
                    .header("content-type", "application/json")
                    .header("x-mpu-upload-id", &upload.upload_id)
                    .header("x-mpu-key", &key)
                    .body(body.clone())
            })
            .await?;
        Self::json("multipart complete", resp).await
    }

    /// `POST /signed-token`.
    pub(crate) async fn signed_token(&self, req: &SignedTokenRequest) -> Result<SignedTokenResult> {
        let body = serde_json::to_string(req).map_err(|e| error::malformed("signed-token", e))?;
        let resp = self
            .send("signed-token", Idempotent::Yes, |at| {
                self.api(Method::POST, "/signed-token", at)
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        Self::json("signed-token", resp).await
    }

    /// `GET <blob url>` with an optional `Range`, answered before the body
    /// is read so it can be streamed.
    pub(crate) async fn read(&self, pathname: &str, range: Option<&str>) -> Result<Response> {
        let url = self.blob_url(pathname);
        self.send("get", Idempotent::Yes, |_| {
            let rb = self
                .http
                .get(&url)
                .bearer_auth(self.config.token().expose())
                // Compression would weaken the etag and hide the length.
                .header("accept-encoding", "identity");
            match range {
                Some(r) => rb.header("range", r),
                None => rb,
            }
        })
        .await
    }
}

/// Reads at most [`ERROR_BODY_LIMIT`] bytes of an error answer.
async fn read_limited(resp: Response) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    body
}

/// A header's text value.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
