//! The quick start, unchanged, on every cloud provider's emulator: only
//! `BLOB_STORAGE_PROVIDER` and that provider's variables differ, as the
//! README promises. The variables go through `StorageConfig::from_lookup`,
//! the reader `from_env()` uses, so tests running side by side do not
//! share the process environment.

use std::collections::HashMap;

use storage::{BlobStoreExt, Provider, StorageConfig};
use storage_testkit::azurite::Azurite;
use storage_testkit::gcs_emulator::GcsEmulator;
use storage_testkit::moto::{self, Moto};

async fn run_quickstart(provider: Provider, vars: &[(&str, String)]) {
    let mut env: HashMap<&str, String> = vars.iter().cloned().collect();
    env.insert("BLOB_STORAGE_PROVIDER", provider.to_string());
    let store = StorageConfig::from_lookup(|var| env.get(var).cloned())
        .and_then(storage::from_config)
        .unwrap_or_else(|e| panic!("{provider}: {e}"));
    assert_eq!(store.provider(), provider);
    examples::quickstart::run(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("the quick start on {provider}: {e}"));
    assert!(!store
        .exists("quickstart/greeting.txt")
        .await
        .expect("exists"));
}

#[tokio::test]
async fn quickstart_runs_on_s3() {
    let moto = tokio::task::spawn_blocking(Moto::shared)
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = moto.fresh_bucket().await.unwrap_or_else(|e| panic!("{e}"));
    let vars = [
        ("S3_BUCKET", bucket),
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("AWS_REGION", moto::REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", moto::ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", moto::SECRET_ACCESS_KEY.to_string()),
    ];
    run_quickstart(Provider::S3, &vars).await;
}

#[tokio::test]
async fn quickstart_runs_on_gcs() {
    let emulator = tokio::task::spawn_blocking(GcsEmulator::shared)
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = emulator
        .fresh_bucket()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = [
        ("GCS_BUCKET", bucket),
        ("STORAGE_EMULATOR_HOST", emulator.url().to_string()),
    ];
    run_quickstart(Provider::Gcs, &vars).await;
}

#[tokio::test]
async fn quickstart_runs_on_azure() {
    let azurite = tokio::task::spawn_blocking(Azurite::shared)
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{e}"));
    let container = azurite
        .fresh_container()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = [
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            azurite.connection_string(),
        ),
        ("AZURE_STORAGE_CONTAINER_NAME", container),
    ];
    run_quickstart(Provider::Azure, &vars).await;
}
