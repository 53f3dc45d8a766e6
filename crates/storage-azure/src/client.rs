//! The one part of object_store the adapter uses: its Azure credential
//! chain (workload and managed identity, service principal, Azure CLI),
//! which hands out Entra ID tokens. The client is built from an
//! [`AzureConfig`] with the one retry and timeout policy of
//! [`storage_core::retry`] translated into object_store's settings, which
//! govern the token requests.

use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use storage_core::retry::RetryPolicy;
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::config::{AzureConfig, AzureCredentials};
use crate::error::redact_text;

/// object_store's retry settings for `policy`.
pub(crate) fn retry_config(policy: &RetryPolicy) -> RetryConfig {
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

/// The object_store client for `config`, kept for its credential chain.
pub(crate) fn build(config: &AzureConfig) -> Result<MicrosoftAzure> {
    let policy = config.retry_policy();
    let options = ClientOptions::new()
        .with_allow_http(config.endpoint().starts_with("http://"))
        .with_connect_timeout(policy.connect_timeout)
        .with_timeout(policy.attempt_timeout);
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(config.account())
        .with_container_name(config.container())
        .with_endpoint(config.endpoint().to_string())
        .with_client_options(options)
        .with_http_connector(TokenHttp::new(policy)?)
        .with_retry(retry_config(policy));
    builder = match config.credentials() {
        AzureCredentials::AccountKey(key) => builder.with_access_key(key.expose().clone()),
        AzureCredentials::Sas(sas) => builder.with_sas_authorization(sas_pairs(sas.expose())),
        AzureCredentials::TokenChain(identity) => identity.configure(builder),
    };
    builder.build().map_err(|e| {
        Error::new(
            ErrorKind::InvalidConfig {
                var: "AZURE_STORAGE_*".into(),
            },
            Provider::Azure,
        )
        .with_message(format!(
            "cannot build the Azure client: {}",
            redact_text(&e.to_string())
        ))
    })
}

/// The chain's HTTP client: the adapter's own reqwest (rustls with ring),
/// so object_store brings no HTTP stack, TLS library or crypto provider of
/// its own into the application. The chain's requests (token endpoints,
/// the instance metadata service, the user-delegation key) are small, so
/// answers are read whole.
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
                Error::new(ErrorKind::Backend, Provider::Azure)
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
    // Without the URL: it may carry a secret in its query.
    HttpError::new(kind, e.without_url())
}

/// `sv=…&sig=…` → decoded pairs, as object_store wants them.
fn sas_pairs(sas: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(sas.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
