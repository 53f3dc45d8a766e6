//! Requests on the wire to the blob service data plane: container
//! properties, create, ACL (public access), metadata, delete, and blob
//! service properties (CORS). Authenticated by `storage-azure`'s own
//! [`Authorizer`] (its one Shared Key signer for an account key, the SAS
//! appended for a SAS, a bearer token from object_store's credential chain
//! otherwise), so provisioning and the adapter never sign differently.
//!
//! Requests go through the one retry and timeout policy of
//! [`storage_core::retry`] (the `BLOB_STORAGE_*` variables, as for the
//! adapter): reads and idempotent writes are retried on 5xx (not 501), 429
//! and transport errors with jittered backoff and `Retry-After`; `create
//! container` is sent once (the plan re-reads what exists on the next run).

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use storage_azure::rest::Authorizer;
use storage_azure::AzureConfig;
use storage_core::redact::redact_url;
use storage_core::retry::{is_retryable_status, parse_retry_after, Idempotency, RetryPolicy};
use storage_core::{Error, ErrorKind, Provider};

use super::model;
use crate::error::{InfraError, Result};
use crate::manifest::Access;
use crate::plan::{CorsRule, LiveContainer};

/// The service version sent; old enough for Azurite, new enough for
/// everything used here.
const VERSION: &str = "2021-08-06";

/// A data-plane client for one storage account.
pub struct AzureClient {
    http: reqwest::Client,
    endpoint: String,
    /// `endpoint` without anything secret, for timeout errors.
    endpoint_for_errors: String,
    auth: Authorizer,
    policy: RetryPolicy,
}

impl std::fmt::Debug for AzureClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl AzureClient {
    /// A client for the account `config` names (its container is ignored).
    pub fn new(config: &AzureConfig) -> Result<AzureClient> {
        let auth = Authorizer::new(config).map_err(|e| InfraError::Usage(e.to_string()))?;
        let policy = config.retry_policy().clone();
        // No total timeout: the policy bounds every attempt.
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(|e| InfraError::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(AzureClient {
            http,
            endpoint: config.endpoint().trim_end_matches('/').to_string(),
            endpoint_for_errors: redact_url(config.endpoint()),
            auth,
            policy,
        })
    }

    /// The account endpoint, for reports.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    // One private call site per REST operation; a request-builder type
    // would add more code than it saves here.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        op: &str,
        method: Method,
        container: &str,
        query: &[(&str, &str)],
        extra: HeaderMap,
        body: Option<(String, &str)>,
        retry: bool,
    ) -> Result<Reply> {
        let idempotency = if retry {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        // A retryable status is an error to the policy, but once retries
        // run out its reply is what `check` turns into the report.
        let last_reply = Mutex::new(None);
        let outcome = self
            .policy
            .run(&self.endpoint_for_errors, idempotency, |_| async {
                *last_reply.lock().expect("reply lock") = None;
                let reply = self
                    .send_once(
                        method.clone(),
                        container,
                        query,
                        extra.clone(),
                        body.clone(),
                    )
                    .await
                    .map_err(|e| {
                        Error::new(ErrorKind::Transport, Provider::Azure).with_message(e)
                    })?;
                if !is_retryable_status(reply.status.as_u16()) {
                    return Ok(reply);
                }
                let retry_after = reply
                    .headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                let err = Error::new(ErrorKind::RateLimited { retry_after }, Provider::Azure)
                    .with_message(format!("the service answered {}", reply.status));
                *last_reply.lock().expect("reply lock") = Some(reply);
                Err(err)
            })
            .await;
        match outcome {
            Ok(reply) => Ok(reply),
            Err(err) => match last_reply.into_inner().expect("reply lock") {
                Some(reply) => Ok(reply),
                None => Err(InfraError::backend(op, err.to_string())),
            },
        }
    }

    async fn send_once(
        &self,
        method: Method,
        container: &str,
        query: &[(&str, &str)],
        extra: HeaderMap,
        body: Option<(String, &str)>,
    ) -> std::result::Result<Reply, String> {
        let mut url = url::Url::parse(&format!("{}/{container}", self.endpoint))
            .map_err(|e| format!("bad endpoint URL: {e}"))?;
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let mut headers = extra;
        headers.insert("x-ms-version", HeaderValue::from_static(VERSION));
        let (bytes, length) = match &body {
            Some((text, content_type)) => {
                headers.insert("content-type", header(content_type)?);
                (text.clone().into_bytes(), text.len())
            }
            None => (Vec::new(), 0),
        };
        headers.insert("content-length", header(&length.to_string())?);
        self.auth
            .authorize(&method, &mut url, &mut headers)
            .await
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .request(method, url)
            .headers(headers)
            .body(bytes)
            .send()
            .await
            // without_url: the URL may carry a SAS signature.
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// A container's access level and metadata, or `None` when it does not exist.
    pub async fn get_container(&self, name: &str) -> Result<Option<LiveContainer>> {
        let op = format!("reading container `{name}`");
        let reply = self
            .send(
                &op,
                Method::GET,
                name,
                &[("restype", "container")],
                HeaderMap::new(),
                None,
                true,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check(&op, &reply)?;
        let mut metadata = BTreeMap::new();
        for (key, value) in &reply.headers {
            if let Some(meta) = key.as_str().strip_prefix("x-ms-meta-") {
                metadata.insert(
                    meta.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                );
            }
        }
        Ok(Some(LiveContainer {
            access: access_of(&reply.headers),
            metadata,
        }))
    }

    /// Creates a container.
    pub async fn create_container(
        &self,
        name: &str,
        access: Access,
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        let op = format!("creating container `{name}`");
        let mut headers = meta_headers(metadata).map_err(|e| InfraError::backend(&op, e))?;
        if let Some(value) = access_header(access) {
            headers.insert("x-ms-blob-public-access", HeaderValue::from_static(value));
        }
        let reply = self
            .send(
                &op,
                Method::PUT,
                name,
                &[("restype", "container")],
                headers,
                None,
                false,
            )
            .await?;
        check(&op, &reply)
    }

    /// Sets a container's public access, keeping its stored access policies:
    /// `Set Container ACL` replaces both, so the current policies are read
    /// first and sent back unchanged.
    pub async fn set_access(&self, name: &str, access: Access) -> Result<()> {
        let op = format!("changing the access level of `{name}`");
        let acl_query = [("restype", "container"), ("comp", "acl")];
        let current = self
            .send(
                &op,
                Method::GET,
                name,
                &acl_query,
                HeaderMap::new(),
                None,
                true,
            )
            .await?;
        check(&op, &current)?;
        let policies = current.body.trim_start_matches('\u{feff}').trim();
        let policies = if policies.is_empty() {
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><SignedIdentifiers />".to_string()
        } else {
            policies.to_string()
        };
        let mut headers = HeaderMap::new();
        if let Some(value) = access_header(access) {
            headers.insert("x-ms-blob-public-access", HeaderValue::from_static(value));
        }
        let reply = self
            .send(
                &op,
                Method::PUT,
                name,
                &acl_query,
                headers,
                Some((policies, "application/xml")),
                true,
            )
            .await?;
        check(&op, &reply)
    }

    /// Replaces a container's metadata.
    pub async fn set_metadata(
        &self,
        name: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        let op = format!("updating the metadata of `{name}`");
        let headers = meta_headers(metadata).map_err(|e| InfraError::backend(&op, e))?;
        let reply = self
            .send(
                &op,
                Method::PUT,
                name,
                &[("restype", "container"), ("comp", "metadata")],
                headers,
                None,
                true,
            )
            .await?;
        check(&op, &reply)
    }

    /// Deletes a container; `false` when it did not exist.
    pub async fn delete_container(&self, name: &str) -> Result<bool> {
        let op = format!("deleting container `{name}`");
        let reply = self
            .send(
                &op,
                Method::DELETE,
                name,
                &[("restype", "container")],
                HeaderMap::new(),
                None,
                true,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(&op, &reply).map(|()| true)
    }

    /// The blob service's CORS rules.
    pub async fn get_cors(&self) -> Result<Vec<CorsRule>> {
        let op = "reading the blob service properties (CORS)";
        let reply = self
            .send(
                op,
                Method::GET,
                "",
                &[("restype", "service"), ("comp", "properties")],
                HeaderMap::new(),
                None,
                true,
            )
            .await?;
        check(op, &reply)?;
        model::parse_cors(&reply.body).map_err(|e| InfraError::backend(op, e))
    }

    /// Replaces the blob service's CORS rules, leaving its other properties alone.
    pub async fn set_cors(&self, rules: &[CorsRule]) -> Result<()> {
        let op = "setting the blob service CORS rules";
        let reply = self
            .send(
                op,
                Method::PUT,
                "",
                &[("restype", "service"), ("comp", "properties")],
                HeaderMap::new(),
                Some((model::cors_body(rules), "application/xml")),
                true,
            )
            .await?;
        check(op, &reply)
    }
}

fn header(value: &str) -> std::result::Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| "a header value is not valid ASCII".to_string())
}

fn meta_headers(metadata: &BTreeMap<String, String>) -> std::result::Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (key, value) in metadata {
        let name = HeaderName::from_bytes(format!("x-ms-meta-{key}").as_bytes())
            .map_err(|_| format!("metadata name `{key}` cannot be sent as a header"))?;
        headers.insert(name, header(value)?);
    }
    Ok(headers)
}

fn access_header(access: Access) -> Option<&'static str> {
    match access {
        // Absent means private; Azure refuses an explicit "private" value.
        Access::Private => None,
        Access::Blob => Some("blob"),
        Access::Container => Some("container"),
    }
}

fn access_of(headers: &HeaderMap) -> Access {
    match headers.get("x-ms-blob-public-access").map(|v| v.as_bytes()) {
        Some(b"blob") => Access::Blob,
        Some(b"container") => Access::Container,
        _ => Access::Private,
    }
}

fn check(op: &str, reply: &Reply) -> Result<()> {
    if reply.status.is_success() {
        return Ok(());
    }
    let detail = model::error_summary(&reply.body)
        .or_else(|| {
            reply
                .headers
                .get("x-ms-error-code")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        })
        .unwrap_or_default();
    let hint = match reply.status {
        StatusCode::FORBIDDEN => {
            " (check the account key, or that the SAS or identity may do this)"
        }
        _ => "",
    };
    Err(InfraError::backend(
        op,
        format!("HTTP {} {detail}{hint}", reply.status),
    ))
}
