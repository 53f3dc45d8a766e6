//! The one part of object_store the adapter uses: its Azure credential
//! chain (workload and managed identity, service principal, Azure CLI),
//! which hands out Entra ID tokens. The client is built from an
//! [`AzureConfig`] with the one retry and timeout policy of
//! [`storage_core::retry`] translated into object_store's settings, which
//! govern the token requests.

use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
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
    // The chain's HTTPS client is rustls without a compiled-in crypto
    // provider (aws-lc-rs would need cmake); ring serves unless the
    // application installed a provider of its own.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
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

/// `sv=…&sig=…` → decoded pairs, as object_store wants them.
fn sas_pairs(sas: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(sas.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
