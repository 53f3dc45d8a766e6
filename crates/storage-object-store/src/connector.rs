//! object_store's HTTP client, made of the workspace's reqwest and run
//! under the one [`RetryPolicy`].
//!
//! Every request object_store sends (data calls, credential and token
//! requests alike) goes through [`PolicyHttp::call`], which:
//! - decides from the request whether it may be replayed
//!   ([`idempotency()`](crate::idempotency()));
//! - sends it with [`RetryPolicy::run`]: the statuses and transport errors
//!   the policy retries are retried, with its backoff or the server's
//!   `Retry-After`; each attempt gets the policy's per-attempt timeout until
//!   the answer's head arrives, and the connection the connect timeout;
//! - resends the same request on a retry: object_store's bodies are shared
//!   buffers, so a replay costs no copy, and a SigV4 or Shared Key
//!   signature stays valid for minutes;
//! - reads short answers whole within the attempt (so a body cut short is
//!   retried too), and streams long ones (object downloads), bounding the
//!   wait for each next chunk by the per-attempt timeout (a download that
//!   stalls fails, and the portable layer resumes it).
//!
//! The last answer of a request that ran out of retries is handed to
//! object_store as it came, so its status reaches
//! [`map_error`](crate::map_error); a request that got no answer fails with
//! the policy's own error (`Timeout` naming the endpoint, or `Transport`),
//! which `map_error` finds again inside object_store's error.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpResponseBody, HttpService,
};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use storage_core::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use storage_core::{Error, ErrorKind, Result};

use crate::error::error_chain;
use crate::idempotency::idempotency;

/// object_store's retry settings when [`PolicyHttp`] retries: none, so no
/// request is ever retried twice over.
pub fn no_retries() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 0,
        retry_timeout: Duration::from_secs(0),
    }
}

/// object_store's client options for `policy`: its timeouts (object_store
/// passes them to the connector, which takes them from the policy anyway)
/// and whether plain `http://` is allowed (emulators, private endpoints).
pub fn client_options(policy: &RetryPolicy, allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(policy.connect_timeout)
        .with_timeout(policy.attempt_timeout)
}

/// object_store's HTTP client and its connector: our reqwest 0.12 under
/// the one retry policy. See the [module docs](self).
///
/// ```
/// use object_store::client::HttpConnector;
/// use storage_core::retry::RetryPolicy;
/// let http = storage_object_store::PolicyHttp::new(&RetryPolicy::default())?;
/// assert!(format!("{http:?}").contains("PolicyHttp"));
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PolicyHttp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    policy: RetryPolicy,
}

impl PolicyHttp {
    /// A client with `policy`'s connect timeout and per-chunk read timeout.
    pub fn new(policy: &RetryPolicy) -> Result<PolicyHttp> {
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .read_timeout(policy.attempt_timeout)
            .build()
            .map_err(|e| {
                Error::without_provider(ErrorKind::Backend)
                    .with_message(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(PolicyHttp {
            inner: Arc::new(Inner {
                http,
                policy: policy.clone(),
            }),
        })
    }

    /// The policy every request runs under.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    async fn attempt(
        &self,
        endpoint: &str,
        method: &Method,
        uri: &str,
        headers: &HeaderMap,
        body: HttpRequestBody,
    ) -> Result<HttpResponse> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), uri)
            .headers(headers.clone());
        // A streamed body has no length of its own on the wire; S3 refuses
        // a chunked PUT, so say the length object_store knows.
        if !headers.contains_key(CONTENT_LENGTH) && !matches!(*method, Method::GET | Method::HEAD) {
            request = request.header(CONTENT_LENGTH, body.content_length());
        }
        let request = match body.as_bytes() {
            Some(bytes) => request.body(bytes.clone()),
            None => request.body(reqwest::Body::wrap(body)),
        };
        let answer = request
            .send()
            .await
            .map_err(|e| self.no_answer(endpoint, e))?;
        let status = answer.status();
        if is_retryable_status(status.as_u16()) {
            return Err(self.retryable_answer(endpoint, answer).await);
        }
        if read_whole(method, uri, answer.content_length()) {
            let mut response = HttpResponse::new(HttpResponseBody::from(Bytes::new()));
            *response.status_mut() = status;
            *response.headers_mut() = answer.headers().clone();
            let body = answer
                .bytes()
                .await
                .map_err(|e| self.no_answer(endpoint, e))?;
            *response.body_mut() = HttpResponseBody::from(body);
            return Ok(response);
        }
        let answer = http::Response::<reqwest::Body>::from(answer);
        let (parts, body) = answer.into_parts();
        let body = HttpResponseBody::new(body.map_err(body_broke));
        Ok(HttpResponse::from_parts(parts, body))
    }

    async fn retryable_answer(&self, endpoint: &str, answer: reqwest::Response) -> Error {
        let status = answer.status();
        let headers = answer.headers().clone();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = match answer.bytes().await {
            Ok(body) => body,
            Err(e) => return self.no_answer(endpoint, e),
        };
        let kind = match status {
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited { retry_after },
            StatusCode::REQUEST_TIMEOUT => ErrorKind::Timeout,
            _ => ErrorKind::Backend,
        };
        let mut err = Error::without_provider(kind)
            .with_message(format!("the service answered HTTP {status}"))
            .with_retryable(true)
            .with_source(RetryableAnswer {
                status,
                headers,
                body,
            });
        if let Some(wait) = retry_after {
            err = err.with_retry_after(wait);
        }
        err
    }

    /// A request that got no answer: a timeout (reqwest's read timeout is
    /// the policy's per-attempt bound, so it reads as the policy's own
    /// timeout, naming the endpoint), a refused or broken connection. The URL
    /// is left out (it may carry a signature).
    fn no_answer(&self, endpoint: &str, e: reqwest::Error) -> Error {
        let connect = e.is_connect();
        let timeout = e.is_timeout();
        let e = e.without_url();
        let err = if timeout {
            self.inner.policy.attempt_timed_out(endpoint)
        } else {
            Error::without_provider(ErrorKind::Transport)
                .with_message(format!("{}: talking to {endpoint}", error_chain(&e)))
        };
        err.with_source(NoAnswer { connect, source: e })
    }
}

impl HttpConnector for PolicyHttp {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl HttpService for PolicyHttp {
    async fn call(&self, request: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
        let replay = idempotency(&request);
        let endpoint = endpoint_of(request.uri());
        let (parts, body) = request.into_parts();
        let uri = parts.uri.to_string();
        let outcome = self
            .inner
            .policy
            .run(&endpoint, replay, |_| {
                self.attempt(&endpoint, &parts.method, &uri, &parts.headers, body.clone())
            })
            .await;
        match outcome {
            Ok(response) => Ok(response),
            Err(err) => match RetryableAnswer::within(&err) {
                Some(answer) => Ok(answer.response()),
                None => Err(HttpError::new(http_kind(&err), err)),
            },
        }
    }
}

/// Answers up to this size are read whole inside the attempt.
const READ_WHOLE_LIMIT: u64 = 4 << 20;

/// Whether an answer is read whole before it is handed on, so that a
/// connection broken in the middle of its body is retried like one broken
/// before it: every short answer (listings, XML and JSON documents, token
/// answers, small objects), and any answer of unknown length except to a
/// plain `GET` of an object. Large downloads stream; the portable layer
/// resumes those.
fn read_whole(method: &Method, uri: &str, length: Option<u64>) -> bool {
    match length {
        Some(length) => length <= READ_WHOLE_LIMIT,
        None => *method != Method::GET || uri.contains('?'),
    }
}

/// Scheme, host and port of `uri`: where a request went, for messages (no
/// user info, path or query, which may carry secrets).
fn endpoint_of(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("(no host)");
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// An answer the policy may retry (a 503, a 429 …), read whole (such
/// answers are short error documents) so it can be handed on if it is the
/// last one.
#[derive(Debug, Clone)]
struct RetryableAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl std::fmt::Display for RetryableAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the service answered HTTP {}", self.status)
    }
}

impl std::error::Error for RetryableAnswer {}

impl RetryableAnswer {
    /// The answer somewhere in `err`'s sources (the deadline wraps the last
    /// attempt's error).
    fn within(err: &Error) -> Option<&RetryableAnswer> {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = source {
            if let Some(answer) = e.downcast_ref::<RetryableAnswer>() {
                return Some(answer);
            }
            source = e.source();
        }
        None
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::new(HttpResponseBody::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Why a request got no answer, kept so object_store learns the
/// [`HttpErrorKind`].
#[derive(Debug)]
struct NoAnswer {
    connect: bool,
    source: reqwest::Error,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for NoAnswer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn http_kind(err: &Error) -> HttpErrorKind {
    let connect = std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<NoAnswer>())
        .is_some_and(|n| n.connect);
    match err.kind() {
        ErrorKind::Timeout => HttpErrorKind::Timeout,
        _ if connect => HttpErrorKind::Connect,
        _ => HttpErrorKind::Interrupted,
    }
}

/// A response body that stopped arriving: a stall past the per-attempt
/// timeout, or a broken connection.
fn body_broke(e: reqwest::Error) -> HttpError {
    let kind = if e.is_timeout() {
        HttpErrorKind::Timeout
    } else {
        HttpErrorKind::Interrupted
    };
    HttpError::new(kind, e.without_url())
}
