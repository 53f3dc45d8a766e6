//! The one part of object_store the adapter uses: its Azure credential
//! chain (workload and managed identity, service principal, Azure CLI),
//! which hands out Entra ID tokens. The client is built from an
//! [`AzureConfig`]; its token requests go through the workspace's one
//! object_store connector ([`PolicyHttp`]: our reqwest with rustls and
//! ring, under the one retry policy of [`storage_core::retry`]), so
//! object_store brings no HTTP or TLS stack of its own and retries nothing
//! itself.

use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use storage_core::{Error, ErrorKind, Provider, Result};
use storage_object_store::{client_options, no_retries, PolicyHttp};

use crate::config::{AzureConfig, AzureCredentials};
use crate::error::redact_text;

/// The object_store client for `config`, kept for its credential chain.
pub(crate) fn build(config: &AzureConfig) -> Result<MicrosoftAzure> {
    let policy = config.retry_policy();
    let options = client_options(policy, config.endpoint().starts_with("http://"));
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(config.account())
        .with_container_name(config.container())
        .with_endpoint(config.endpoint().to_string())
        .with_client_options(options)
        .with_http_connector(PolicyHttp::new(policy).map_err(|e| e.with_provider(Provider::Azure))?)
        .with_retry(no_retries());
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
