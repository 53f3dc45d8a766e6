//! The adapter's requests on the wire: authentication, one request sent
//! under the retry policy, and the answer (headers, a small body, or a
//! body to stream).
//!
//! [`Authorizer`] is public so `storage-infra`'s management calls
//! authenticate exactly as the adapter does: Shared Key with the
//! [`shared_key`](crate::shared_key) signer for an account key, the SAS
//! appended to the query for a SAS, and a bearer token from object_store's
//! credential chain (managed or workload identity, Azure CLI) otherwise.
//!
//! Every request of the adapter goes through
//! [`RetryPolicy::run`](storage_core::retry::RetryPolicy::run) with the
//! configured policy: the per-attempt timeout bounds each attempt (the
//! whole request, body included, except a download's body, which the
//! portable layer watches chunk by chunk), and only idempotent requests are
//! sent again. Each attempt is dated and signed anew.

use std::sync::Arc;

use bytes::Bytes;
use object_store::azure::{AzureCredential, AzureCredentialProvider, MicrosoftAzure};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use reqwest::Method;
use storage_core::redact::Secret;
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::config::{AzureConfig, AzureCredentials};
use crate::error::{answer_error, request_error, tag, Op};
use crate::shared_key::SharedKey;

/// The service version sent, the one object_store's requests carry, so
/// both kinds of request see the same service behaviour.
pub const VERSION: &str = "2023-11-03";

#[derive(Debug)]
enum Auth {
    SharedKey(SharedKey),
    Sas(Secret<String>),
    Token(AzureCredentialProvider),
}

/// Authenticates requests to one storage account as its configuration
/// says. `Debug` shows no secret.
///
/// ```
/// use reqwest::header::HeaderMap;
/// use storage_azure::{rest::Authorizer, AzureConfig};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let config = AzureConfig::from_lookup(|var| {
///     (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| "UseDevelopmentStorage=true".to_string())
/// })?;
/// let auth = Authorizer::new(&config)?;
/// let mut url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/c?restype=container")
///     .expect("url");
/// let mut headers = HeaderMap::new();
/// auth.authorize(&reqwest::Method::GET, &mut url, &mut headers).await?;
/// assert!(headers.contains_key("authorization") && headers.contains_key("x-ms-date"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Authorizer {
    auth: Auth,
}

impl Authorizer {
    /// An authorizer for the account `config` names. For the token chain
    /// this sets up object_store's credential provider (no request yet).
    pub fn new(config: &AzureConfig) -> Result<Authorizer> {
        Self::with_token_source(config, || {
            let store = crate::client::build(config)?;
            Ok(Arc::clone(store.credentials()))
        })
    }

    /// An authorizer sharing `store`'s credential provider (and so its
    /// token cache) when `config` uses the token chain.
    pub(crate) fn for_store(config: &AzureConfig, store: &MicrosoftAzure) -> Result<Authorizer> {
        Self::with_token_source(config, || Ok(Arc::clone(store.credentials())))
    }

    fn with_token_source(
        config: &AzureConfig,
        tokens: impl FnOnce() -> Result<AzureCredentialProvider>,
    ) -> Result<Authorizer> {
        let auth = match config.credentials() {
            AzureCredentials::AccountKey(key) => {
                Auth::SharedKey(SharedKey::new(config.account(), key.expose())?)
            }
            AzureCredentials::Sas(sas) => Auth::Sas(Secret::new(
                sas.expose().trim_start_matches('?').to_string(),
            )),
            AzureCredentials::TokenChain(_) => Auth::Token(tokens()?),
        };
        Ok(Authorizer { auth })
    }

    /// Makes a request ready to send: sets `x-ms-date` and `x-ms-version`
    /// (unless present), then signs it with Shared Key, appends the SAS to
    /// `url`, or adds a bearer token. Call it last, once per attempt, with
    /// every other header (`Content-Length` included) already in `headers`.
    pub async fn authorize(
        &self,
        method: &Method,
        url: &mut url::Url,
        headers: &mut HeaderMap,
    ) -> Result<()> {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        headers.insert("x-ms-date", header_value(&date)?);
        headers
            .entry("x-ms-version")
            .or_insert(HeaderValue::from_static(VERSION));
        match &self.auth {
            Auth::SharedKey(key) => key.sign(method.as_str(), url, headers),
            Auth::Sas(sas) => {
                let joined = match url.query() {
                    Some(q) if !q.is_empty() => format!("{q}&{}", sas.expose()),
                    _ => sas.expose().clone(),
                };
                url.set_query(Some(&joined));
            }
            Auth::Token(provider) => {
                let credential = provider.get_credential().await.map_err(|e| {
                    Error::new(ErrorKind::Unauthorized, Provider::Azure).with_message(format!(
                        "getting an Entra ID token failed: {}",
                        crate::error::redact_text(&e.to_string())
                    ))
                })?;
                match credential.as_ref() {
                    AzureCredential::BearerToken(token) => {
                        let mut value = header_value(&format!("Bearer {token}"))?;
                        value.set_sensitive(true);
                        headers.insert(AUTHORIZATION, value);
                    }
                    _ => {
                        return Err(Error::new(ErrorKind::Unauthorized, Provider::Azure)
                            .with_message("the credential chain returned no bearer token"))
                    }
                }
            }
        }
        Ok(())
    }
}

/// A header value from our own text; only non-ASCII input fails.
pub(crate) fn header_value(value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, Provider::Azure)
            .with_message("a header value is not visible ASCII")
    })
}

/// One request to send, possibly several times.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: &'a url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub op: Op,
    pub key: &'a str,
    pub idempotency: Idempotency,
}

/// Sends the adapter's own requests for one store.
#[derive(Debug)]
pub(crate) struct Rest {
    http: reqwest::Client,
    auth: Authorizer,
    policy: RetryPolicy,
    /// The endpoint without secrets, for timeout errors.
    endpoint: String,
}

impl Rest {
    /// The sender for `config`, sharing `store`'s credentials.
    pub(crate) fn new(config: &AzureConfig, store: &MicrosoftAzure) -> Result<Rest> {
        let policy = config.retry_policy().clone();
        // No total timeout here: RetryPolicy::run bounds every attempt.
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Backend, Provider::Azure)
                    .with_message(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Rest {
            http,
            auth: Authorizer::for_store(config, store)?,
            policy,
            endpoint: storage_core::redact::redact_url(config.endpoint()),
        })
    }

    /// The retry and timeout policy requests are sent under.
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// `url` as the source of a copy: a copy request authenticates only
    /// its destination, so a SAS must ride on the source URL too.
    pub(crate) fn copy_source(&self, url: &url::Url) -> url::Url {
        let mut source = url.clone();
        if let Auth::Sas(sas) = &self.auth.auth {
            let joined = match source.query() {
                Some(q) if !q.is_empty() => format!("{q}&{}", sas.expose()),
                _ => sas.expose().clone(),
            };
            source.set_query(Some(&joined));
        }
        source
    }

    /// Sends `req` under the retry policy; a 2xx answer's headers, or the
    /// mapped error (tagged with the key).
    pub(crate) async fn send(&self, req: Request<'_>) -> Result<HeaderMap> {
        self.fetch(req).await.map(|(headers, _)| headers)
    }

    /// [`Rest::send`], keeping the answer's (small) body too. The body is
    /// read inside the attempt, so a connection broken while it arrives is
    /// retried like any other failure of an idempotent request.
    pub(crate) async fn fetch(&self, req: Request<'_>) -> Result<(HeaderMap, Bytes)> {
        self.policy
            .run(&self.endpoint, req.idempotency, |_| async {
                let response = self.respond(&req).await?;
                let headers = response.headers().clone();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| request_error(&e, req.op, req.key))?;
                Ok((headers, body))
            })
            .await
            .map_err(|e| tag(e, req.key))
    }

    /// [`Rest::send`] for a download: the 2xx answer with its body unread,
    /// for the caller to stream. Only the wait for the answer's headers is
    /// bounded and retried here; a body that breaks or stalls later is the
    /// portable layer's to resume.
    pub(crate) async fn open(&self, req: Request<'_>) -> Result<reqwest::Response> {
        self.policy
            .run(&self.endpoint, req.idempotency, |_| self.respond(&req))
            .await
            .map_err(|e| tag(e, req.key))
    }

    /// One attempt: the answer if it is a 2xx, else the mapped error.
    async fn respond(&self, req: &Request<'_>) -> Result<reqwest::Response> {
        let mut url = req.url.clone();
        let mut headers = req.headers.clone();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(req.body.len()));
        self.auth
            .authorize(&req.method, &mut url, &mut headers)
            .await?;
        let response = self
            .http
            .request(req.method.clone(), url)
            .headers(headers)
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| request_error(&e, req.op, req.key))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(storage_core::retry::parse_retry_after);
        // The code is in a header on every answer (HEAD included), so the
        // XML body is not needed; it is read only to free the connection.
        let code = headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let _ = response.bytes().await;
        Err(answer_error(
            status.as_u16(),
            code,
            retry_after,
            req.op,
            req.key,
        ))
    }
}

/// `Last-Modified` of an answer.
pub(crate) fn last_modified(headers: &HeaderMap) -> Option<std::time::SystemTime> {
    headers
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
}

/// `ETag` of an answer.
pub(crate) fn etag(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
