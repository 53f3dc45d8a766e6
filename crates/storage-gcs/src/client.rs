//! The one part of object_store the adapter uses: its Google credential
//! chain (service-account tokens, `gcloud` user credentials, the metadata
//! server), which hands out OAuth bearer tokens. Its token requests go
//! through the workspace's one object_store connector ([`PolicyHttp`]:
//! our reqwest with rustls and ring, under the one retry policy of
//! [`storage_core::retry`]), so object_store brings no HTTP or TLS stack
//! of its own and retries nothing itself.

use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorageBuilder};
use storage_core::{Error, ErrorKind, Provider, Result};
use storage_object_store::{client_options, no_retries, redact_text, PolicyHttp};

use crate::config::{GcsConfig, GcsCredentials, APPLICATION_CREDENTIALS, SERVICE_ACCOUNT_KEY};

/// The credential provider `config` asks for. No request is made yet.
pub(crate) fn credentials(config: &GcsConfig) -> Result<GcpCredentialProvider> {
    let policy = config.retry_policy();
    let http = PolicyHttp::new(policy).map_err(|e| e.with_provider(Provider::Gcs))?;
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(config.bucket())
        .with_client_options(client_options(
            policy,
            config.endpoint().starts_with("http://"),
        ))
        .with_http_connector(http)
        .with_retry(no_retries());
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
