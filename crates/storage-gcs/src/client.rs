//! The one part of object_store the adapter uses: its Google credential
//! chain (service-account tokens, `gcloud` user credentials, the metadata
//! server), which hands out OAuth bearer tokens. Its token requests go out
//! on the adapter's own reqwest (rustls with ring), so object_store brings
//! no HTTP stack, TLS library or crypto provider of its own.

use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};
use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorageBuilder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use storage_core::retry::RetryPolicy;
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::config::{GcsConfig, GcsCredentials, APPLICATION_CREDENTIALS, SERVICE_ACCOUNT_KEY};
use crate::error::redact_text;

/// object_store's retry settings for `policy` (they govern token requests).
fn retry_config(policy: &RetryPolicy) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: policy.base_delay,
            max_backoff: policy.max_delay,
            base: 2.0,
        },
        max_retries: policy.max_retries as usize,
        retry_timeout: policy.deadline,
    }
}

/// The credential provider `config` asks for.
pub(crate) fn credentials(config: &GcsConfig) -> Result<GcpCredentialProvider> {
    let policy = config.retry_policy();
    let options = ClientOptions::new()
        .with_connect_timeout(policy.connect_timeout)
        .with_timeout(policy.attempt_timeout);
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(config.bucket())
        .with_client_options(options)
        .with_http_connector(TokenHttp::new(policy)?)
        .with_retry(retry_config(policy));
    let var = match config.credentials() {
        GcsCredentials::ServiceAccount(key) => {
            builder = builder.with_service_account_key(key.json());
            SERVICE_ACCOUNT_KEY
        }
        GcsCredentials::AuthorizedUser(path) => {
            builder = builder.with_application_credentials(path.clone());
            APPLICATION_CREDENTIALS
        }
        GcsCredentials::ApplicationDefault => APPLICATION_CREDENTIALS,
    };
    let store = builder.build().map_err(|e| {
        Error::new(ErrorKind::InvalidConfig { var: var.into() }, Provider::Gcs).with_message(
            format!(
                "cannot set up Google credentials: {}",
                redact_text(&e.to_string())
            ),
        )
    })?;
    Ok(std::sync::Arc::clone(store.credentials()))
}

/// The chain's HTTP client. Its requests (token endpoint, metadata server)
/// are small, so answers are read whole.
#[derive(Debug, Clone)]
struct TokenHttp {
    http: reqwest::Client,
}

impl TokenHttp {
    fn new(policy: &RetryPolicy) -> Result<TokenHttp> {
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.attempt_timeout)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Backend, Provider::Gcs)
                    .with_message(format!("cannot build the HTTP client for tokens: {e}"))
            })?;
        Ok(TokenHttp { http })
    }
}

impl HttpConnector for TokenHttp {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl HttpService for TokenHttp {
    async fn call(&self, request: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let Some(body) = body.as_bytes().cloned() else {
            return Err(HttpError::new(
                HttpErrorKind::Request,
                std::io::Error::other("the credential chain sent a streamed body"),
            ));
        };
        let answer = self
            .http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(transport)?;
        let mut response = HttpResponse::new(HttpResponseBody::from(bytes));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

fn transport(e: reqwest::Error) -> HttpError {
    let kind = if e.is_timeout() {
        HttpErrorKind::Timeout
    } else if e.is_connect() {
        HttpErrorKind::Connect
    } else {
        HttpErrorKind::Request
    };
    HttpError::new(kind, e.without_url())
}
