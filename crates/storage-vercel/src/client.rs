//! The requests on the wire, shaped like the official `@vercel/blob` SDK's
//! (see `vercel-blob-protocol.md`), and the retry loop around them.
//!
//! Requests go through the one retry and timeout policy of
//! [`storage_core::retry`]: transient failures of idempotent requests are
//! sent again, each attempt is bounded, and the operation has a deadline.
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
use storage_core::retry::Idempotency;
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

/// The HTTP side of a [`VercelStore`](crate::VercelStore).
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    config: VercelConfig,
}

impl Client {
    pub(crate) fn new(config: VercelConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.retry_policy().connect_timeout)
            .build()
            .map_err(|e| error::from_transport("building the HTTP client", "nowhere yet", e))?;
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

    /// Where API requests go, for messages: scheme, host and port.
    pub(crate) fn api_endpoint(&self) -> String {
        endpoint_of(self.config.api_base())
    }

    /// Where reads go, for messages.
    pub(crate) fn blob_endpoint(&self) -> String {
        endpoint_of(&self.config.blob_host())
    }

    /// Sends the request `build` makes under the retry policy and returns
    /// the answer with its body unread (for streamed reads): an answer that
    /// is not a success becomes the matching error, and transient failures
    /// of idempotent requests are sent again with the same request id and
    /// the next attempt number.
    async fn send<F>(
        &self,
        operation: &str,
        endpoint: &str,
        idempotency: Idempotency,
        build: F,
    ) -> Result<Response>
    where
        F: Fn(&Attempt<'_>) -> RequestBuilder,
    {
        self.exchange(operation, endpoint, idempotency, build, |resp| async move {
            Ok(resp)
        })
        .await
    }

    /// Like [`send`](Self::send), reading the JSON answer inside the same
    /// attempt, so an answer cut off mid-body is retried like any other
    /// broken connection.
    async fn send_json<T, F>(
        &self,
        operation: &str,
        idempotency: Idempotency,
        build: F,
    ) -> Result<T>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&Attempt<'_>) -> RequestBuilder,
    {
        let endpoint = self.api_endpoint();
        let endpoint = endpoint.as_str();
        self.exchange(operation, endpoint, idempotency, build, |resp| async move {
            let body = resp
                .bytes()
                .await
                .map_err(|e| error::from_transport(operation, endpoint, e))?;
            serde_json::from_slice(&body).map_err(|e| error::malformed(operation, e))
        })
        .await
    }

    /// The retried attempt shared by [`send`](Self::send) and
    /// [`send_json`](Self::send_json); `endpoint` (the API or the blob
    /// host) is what errors name.
    async fn exchange<T, F, R, Fut>(
        &self,
        operation: &str,
        endpoint: &str,
        idempotency: Idempotency,
        build: F,
        finish: R,
    ) -> Result<T>
    where
        F: Fn(&Attempt<'_>) -> RequestBuilder,
        R: Fn(Response) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let id = self.request_id();
        let finish = &finish;
        self.config
            .retry_policy()
            .run(endpoint, idempotency, |number| {
                let request = build(&Attempt { id: &id, number });
                async move {
                    match request.send().await {
                        Ok(resp) if resp.status().is_success() || resp.status().as_u16() == 304 => {
                            finish(resp).await
                        }
                        Ok(resp) => {
                            let status = resp.status();
                            let headers = resp.headers().clone();
                            let body = read_limited(resp).await;
                            Err(error::from_response(operation, status, &headers, &body))
                        }
                        Err(e) => Err(error::from_transport(operation, endpoint, e)),
                    }
                }
            })
            .await
    }

    /// `PUT /?pathname=` with a body held in memory, so it can be replayed
    /// when `idempotency` says a replay cannot change the outcome.
    pub(crate) async fn put(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        body: Bytes,
        idempotency: Idempotency,
    ) -> Result<PutResult> {
        self.send_json("put", idempotency, |at| {
            let rb = self
                .api(Method::PUT, "/", at)
                .query(&[("pathname", pathname)]);
            self.write_headers(rb, headers).body(body.clone())
        })
        .await
    }

    /// `GET /?url=<pathname>`.
    pub(crate) async fn head(&self, pathname: &str) -> Result<HeadResult> {
        self.send_json("head", Idempotency::Idempotent, |at| {
            self.api(Method::GET, "", at).query(&[("url", pathname)])
        })
        .await
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
        self.send_json("list", Idempotency::Idempotent, |at| {
            self.api(Method::GET, "", at).query(&query)
        })
        .await
    }

    /// `POST /delete` with the blob URLs of `pathnames` (at most 1,000).
    pub(crate) async fn delete(&self, pathnames: &[&str]) -> Result<()> {
        let urls: Vec<String> = pathnames.iter().map(|p| self.blob_url(p)).collect();
        let body = serde_json::json!({ "urls": urls }).to_string();
        self.send(
            "delete",
            &self.api_endpoint(),
            Idempotency::Idempotent,
            |at| {
                self.api(Method::POST, "/delete", at)
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
        )
        .await?;
        Ok(())
    }

    /// `PUT /?pathname=<to>&fromUrl=<blob url of from>`. An overwriting copy
    /// is repeated like an overwriting put (the same source lands again); a
    /// `Create` or `IfMatch` copy is not, since one that succeeded but whose
    /// answer was lost would fail its own retry.
    pub(crate) async fn copy(
        &self,
        from: &str,
        to: &str,
        headers: &WriteHeaders,
        idempotency: Idempotency,
    ) -> Result<PutResult> {
        let from_url = self.blob_url(from);
        self.send_json("copy", idempotency, |at| {
            let rb = self
                .api(Method::PUT, "/", at)
                .query(&[("pathname", to), ("fromUrl", from_url.as_str())]);
            self.write_headers(rb, headers)
        })
        .await
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
        let created: MpuCreated = self
            .send_json("multipart create", Idempotency::Idempotent, |at| {
                self.mpu(pathname, headers, "create", at)
            })
            .await?;
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
        let part: MpuPart = self
            .send_json("multipart upload", Idempotency::Idempotent, |at| {
                self.mpu(pathname, headers, "upload", at)
                    .header("x-mpu-key", &key)
                    .header("x-mpu-upload-id", &upload.upload_id)
                    .header("x-mpu-part-number", part_number.to_string())
                    .body(body.clone())
            })
            .await?;
        Ok(CompletedPart {
            part_number,
            etag: part.etag,
        })
    }

    /// `POST /mpu` with `x-mpu-action: complete`. An overwriting completion
    /// is retried; the upload is gone once completed, so when a retry finds
    /// it missing, an earlier attempt whose answer was lost completed it,
    /// and this returns `None` for the caller to confirm.
    pub(crate) async fn mpu_complete(
        &self,
        pathname: &str,
        headers: &WriteHeaders,
        upload: &Upload,
        parts: &[CompletedPart],
        idempotency: Idempotency,
    ) -> Result<Option<PutResult>> {
        let key = utf8_percent_encode(&upload.key, URI_COMPONENT).to_string();
        let body =
            serde_json::to_string(parts).map_err(|e| error::malformed("multipart complete", e))?;
        let retried = std::sync::atomic::AtomicBool::new(false);
        let sent: Result<PutResult> = self
            .send_json("multipart complete", idempotency, |at| {
                if at.number > 0 {
                    retried.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                self.mpu(pathname, headers, "complete", at)
                    .header("content-type", "application/json")
                    .header("x-mpu-upload-id", &upload.upload_id)
                    .header("x-mpu-key", &key)
                    .body(body.clone())
            })
            .await;
        match sent {
            Ok(result) => Ok(Some(result)),
            Err(e) if e.is_not_found() && retried.load(std::sync::atomic::Ordering::Relaxed) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /signed-token`.
    pub(crate) async fn signed_token(&self, req: &SignedTokenRequest) -> Result<SignedTokenResult> {
        let body = serde_json::to_string(req).map_err(|e| error::malformed("signed-token", e))?;
        self.send_json("signed-token", Idempotency::Idempotent, |at| {
            self.api(Method::POST, "/signed-token", at)
                .header("content-type", "application/json")
                .body(body.clone())
        })
        .await
    }

    /// `GET <blob url>` with an optional `Range` and conditions, answered
    /// before the body is read so it can be streamed.
    pub(crate) async fn read(
        &self,
        pathname: &str,
        range: Option<&str>,
        if_match: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Response> {
        let url = self.blob_url(pathname);
        self.send(
            "get",
            &self.blob_endpoint(),
            Idempotency::Idempotent,
            |_| {
                let mut rb = self
                    .http
                    .get(&url)
                    .bearer_auth(self.config.token().expose())
                    // Compression would weaken the etag and hide the length.
                    .header("accept-encoding", "identity");
                for (name, value) in [
                    ("range", range),
                    ("if-match", if_match),
                    ("if-none-match", if_none_match),
                ] {
                    if let Some(value) = value {
                        rb = rb.header(name, value);
                    }
                }
                rb
            },
        )
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

/// The scheme, host and port of `url`: what an error may name.
fn endpoint_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
            (Some(host), None) => format!("{}://{host}", u.scheme()),
            _ => "the configured endpoint".to_string(),
        },
        Err(_) => "the configured endpoint".to_string(),
    }
}

/// A header's text value.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
