//! The adapter's requests on the wire: authentication, one request sent
//! under the retry policy, and the answer (status, headers and a small
//! body, or a body to stream).
//!
//! Every request goes through
//! [`RetryPolicy::run`](storage_core::retry::RetryPolicy::run) with the
//! configured policy: the per-attempt timeout bounds each attempt (the
//! whole request, body included, except a download's body, which the
//! portable layer watches chunk by chunk), and only idempotent requests are
//! sent again. Each attempt asks the credential chain for its token anew
//! (object_store caches it until shortly before it expires).

use bytes::Bytes;
use object_store::gcp::GcpCredentialProvider;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use reqwest::{Method, StatusCode};
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::error::{answer_error, request_error, tag, Op};

/// How requests are authenticated.
#[derive(Debug)]
pub(crate) enum Auth {
    /// An emulator: no credentials, as Google's SDKs do with
    /// `STORAGE_EMULATOR_HOST`.
    Anonymous,
    /// Bearer tokens from object_store's credential chain.
    Token(GcpCredentialProvider),
}

/// One request to send, possibly several times.
#[derive(Clone)]
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: &'a url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub op: Op,
    pub key: &'a str,
    pub idempotency: Idempotency,
}

impl<'a> Request<'a> {
    /// A body-less request.
    pub(crate) fn new(method: Method, url: &'a url::Url, op: Op, key: &'a str) -> Self {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            op,
            key,
            idempotency: Idempotency::Idempotent,
        }
    }
}

/// A complete answer: status, headers and (small) body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Sends the adapter's requests for one store.
#[derive(Debug)]
pub(crate) struct Rest {
    http: reqwest::Client,
    auth: Auth,
    policy: RetryPolicy,
    /// The endpoint without secrets, for timeout errors.
    endpoint: String,
}

impl Rest {
    pub(crate) fn new(policy: RetryPolicy, auth: Auth, endpoint: String) -> Result<Rest> {
        // No total timeout here: RetryPolicy::run bounds every attempt.
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Backend, Provider::Gcs)
                    .with_message(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Rest {
            http,
            auth,
            policy,
            endpoint,
        })
    }

    /// The retry and timeout policy requests are sent under.
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The endpoint, without secrets, for messages.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One attempt of `req`, outside the retry loop (for callers that run
    /// their own, as a resumable upload does); the answer read whole.
    pub(crate) async fn attempt(
        &self,
        req: Request<'_>,
        accept: fn(StatusCode) -> bool,
    ) -> Result<Answer> {
        let response = self.respond(&req, accept).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| request_error(&e, req.op, req.key))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends `req` under the retry policy; the 2xx answer, read whole
    /// inside the attempt (so a body broken on the way is retried like any
    /// other failure of an idempotent request), or the mapped error.
    pub(crate) async fn fetch(&self, req: Request<'_>) -> Result<Answer> {
        self.policy
            .run(&self.endpoint, req.idempotency, |_| {
                self.attempt(req.clone(), |s| s.is_success())
            })
            .await
            .map_err(|e| tag(e, req.key))
    }

    /// A download: the 2xx answer with its body unread, for the caller to
    /// stream. Only the wait for the answer's headers is bounded and
    /// retried here; a body that breaks or stalls later is the portable
    /// layer's to resume.
    pub(crate) async fn open(&self, req: Request<'_>) -> Result<reqwest::Response> {
        self.policy
            .run(&self.endpoint, req.idempotency, |_| {
                self.respond(&req, |s: StatusCode| s.is_success())
            })
            .await
            .map_err(|e| tag(e, req.key))
    }

    /// One attempt: the answer, body unread, if `accept` allows its
    /// status, else the mapped error.
    pub(crate) async fn respond(
        &self,
        req: &Request<'_>,
        accept: fn(StatusCode) -> bool,
    ) -> Result<reqwest::Response> {
        let mut headers = req.headers.clone();
        if req.method != Method::GET && req.method != Method::HEAD {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(req.body.len()));
        }
        self.authorize(&mut headers).await?;
        let response = self
            .http
            .request(req.method.clone(), req.url.clone())
            .headers(headers)
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| request_error(&e, req.op, req.key))?;
        let status = response.status();
        if accept(status) {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(storage_core::retry::parse_retry_after);
        // Error bodies are small JSON documents; a broken one still maps.
        let body = response.bytes().await.unwrap_or_default();
        Err(answer_error(
            status.as_u16(),
            &body,
            retry_after,
            req.op,
            req.key,
        ))
    }

    pub(crate) async fn authorize(&self, headers: &mut HeaderMap) -> Result<()> {
        let Auth::Token(provider) = &self.auth else {
            return Ok(());
        };
        let credential = provider.get_credential().await.map_err(|e| {
            Error::new(ErrorKind::Unauthorized, Provider::Gcs).with_message(format!(
                "getting an OAuth token failed: {}; check GOOGLE_APPLICATION_CREDENTIALS or \
                 GOOGLE_SERVICE_ACCOUNT_KEY, or the metadata server of this host",
                crate::error::redact_text(&e.to_string())
            ))
        })?;
        if credential.bearer.is_empty() {
            return Ok(());
        }
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", credential.bearer)).map_err(|_| {
                Error::new(ErrorKind::Unauthorized, Provider::Gcs)
                    .with_message("the credential chain returned a token that is not ASCII")
            })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// A header value from our own text; only non-visible-ASCII input fails.
pub(crate) fn header_value(value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, Provider::Gcs)
            .with_message("a header value is not visible ASCII")
    })
}
