//! Errors that say what to do, from what the store knows of its own
//! configuration: which container, which credentials, which endpoint and
//! which variable set them.
//!
//! [`crate::error`] maps the service's answer to a kind; this adds the
//! advice the kind alone cannot give:
//! - a missing container is `InvalidConfig { var: AZURE_STORAGE_CONTAINER_NAME }`
//!   (not "blob not found"), naming the container and `blobctl infra apply`;
//! - a refused signature is `Unauthorized`, pointing at the account key or
//!   the SAS and the variable they came from;
//! - an unreachable or silent endpoint names the endpoint and the variables
//!   that point there.

use storage_core::{Error, ErrorKind, Provider};

use crate::config::{AzureConfig, AzureCredentials};
use crate::error::ServiceAnswer;

/// Where the credentials and the endpoint of `config` were set.
fn settings_vars(config: &AzureConfig) -> &'static str {
    if config.is_emulator() {
        "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_USE_EMULATOR / AZURITE_BLOB_STORAGE_URL"
    } else {
        "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_ACCOUNT_KEY"
    }
}

/// `err` with the advice `config` allows.
pub(crate) fn explain(config: &AzureConfig, err: Error) -> Error {
    // Only the service's answers (or their absence) are explained, once.
    let Some(answer) = ServiceAnswer::of(&err) else {
        return err;
    };
    let code = answer.code.clone();
    let endpoint = storage_core::redact::redact_url(config.endpoint());
    match (err.kind().clone(), code.as_deref()) {
        (ErrorKind::NotFound, Some("ContainerNotFound")) => Error::new(
            ErrorKind::InvalidConfig {
                var: crate::config::CONTAINER_NAME.into(),
            },
            Provider::Azure,
        )
        .with_message(format!(
            "container `{}` does not exist in account `{}` (service code ContainerNotFound); \
             create it with `blobctl infra apply` (storage.toml) or point \
             AZURE_STORAGE_CONTAINER_NAME at an existing container",
            config.container(),
            config.account()
        ))
        .with_source(err),
        (ErrorKind::Unauthorized | ErrorKind::Forbidden, code) => {
            let code = code
                .map(|c| format!(" (service code {c})"))
                .unwrap_or_default();
            match config.credentials() {
                // An account key may do anything, so a refusal means the
                // signature did not verify: the key is wrong.
                AzureCredentials::AccountKey(_) => {
                    Error::new(ErrorKind::Unauthorized, Provider::Azure)
                        .with_message(format!(
                            "the account key of `{}` was rejected{code}; check \
                             AZURE_STORAGE_ACCOUNT_KEY or the AccountKey in \
                             AZURE_STORAGE_CONNECTION_STRING (copy it again from the portal's \
                             Access keys); if the key is right, the account's network rules \
                             may refuse this client",
                            config.account()
                        ))
                        .with_source(err)
                }
                AzureCredentials::Sas(_) => Error::new(err.kind().clone(), Provider::Azure)
                    .with_message(format!(
                        "the shared access signature was refused{code}; check that the \
                         SharedAccessSignature in AZURE_STORAGE_CONNECTION_STRING has not \
                         expired and grants this operation (sp=) on container `{}`",
                        config.container()
                    ))
                    .with_source(err),
                AzureCredentials::TokenChain(_) => Error::new(err.kind().clone(), Provider::Azure)
                    .with_message(format!(
                        "the Entra ID identity was refused{code}; give it the `Storage Blob \
                         Data Contributor` role on account `{}` (or set \
                         AZURE_STORAGE_ACCOUNT_KEY)",
                        config.account()
                    ))
                    .with_source(err),
            }
        }
        (ErrorKind::Transport | ErrorKind::Timeout, _) => {
            let what = err.message().unwrap_or("the request failed").to_string();
            let bounds = if err.kind() == &ErrorKind::Timeout {
                "; BLOB_STORAGE_ATTEMPT_TIMEOUT and BLOB_STORAGE_DEADLINE bound the wait"
            } else {
                ""
            };
            Error::new(err.kind().clone(), Provider::Azure)
                .with_message(format!(
                    "{what}; talking to {endpoint}: check that it is up and reachable \
                     (set by {}){bounds}",
                    settings_vars(config)
                ))
                .with_source(err)
        }
        _ => err,
    }
}
