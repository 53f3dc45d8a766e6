//! Building the object_store Azure client from an [`AzureConfig`]: endpoint,
//! credentials, HTTP timeouts and retry policy.
//!
//! object_store retries idempotent requests on connection errors, timeouts,
//! 429 and 5xx with capped exponential backoff and jitter; the limits here
//! keep a dead endpoint from stalling a caller for minutes (object_store's
//! own default gives up only after 3 minutes).

use std::time::Duration;

use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::config::{AzureConfig, AzureCredentials};
use crate::error::redact_text;

/// Retries after the first attempt of an idempotent request.
const MAX_RETRIES: usize = 4;
/// Total time spent retrying one request.
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(8),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: RETRY_TIMEOUT,
    }
}

/// The object_store client for `config`.
pub(crate) fn build(config: &AzureConfig) -> Result<MicrosoftAzure> {
    let options = ClientOptions::new()
        .with_allow_http(config.endpoint().starts_with("http://"))
        .with_connect_timeout(Duration::from_secs(10))
        // A whole request, body included; object_store resumes interrupted
        // downloads with ranged requests, and upload parts are bounded.
        .with_timeout(Duration::from_secs(120));
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(config.account())
        .with_container_name(config.container())
        .with_endpoint(config.endpoint().to_string())
        .with_client_options(options)
        .with_retry(retry_config());
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

/// `sv=…&sig=…` → decoded pairs, as object_store wants them.
fn sas_pairs(sas: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(sas.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
