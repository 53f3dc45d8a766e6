//! Stores on the shared Azurite, each on a container of its own.

#![allow(dead_code)]

use storage_azure::{AzureConfig, AzureStore};
use storage_testkit::azurite::Azurite;

/// The shared Azurite, or a panic that says why there is none.
pub async fn azurite() -> &'static Azurite {
    match tokio::task::spawn_blocking(Azurite::shared).await {
        Ok(Ok(azurite)) => azurite,
        Ok(Err(e)) => panic!("{e}"),
        Err(e) => panic!("starting Azurite panicked: {e}"),
    }
}

/// Settings for a fresh, empty container on Azurite.
pub async fn fresh_config() -> AzureConfig {
    let azurite = azurite().await;
    let container = azurite
        .fresh_container()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cs = azurite.connection_string();
    AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("Azurite configuration: {e}"))
}

/// A store on a fresh, empty container.
pub async fn fresh_store() -> AzureStore {
    AzureStore::new(fresh_config().await).unwrap_or_else(|e| panic!("AzureStore::new: {e}"))
}
