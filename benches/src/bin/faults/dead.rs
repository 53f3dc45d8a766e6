//! How long a dead backend takes to fail, with the default policy: one
//! that accepts connections and never answers (every request hangs at the
//! proxy), and one that refuses them (nothing listens on the port).

use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::azure::{AzureConfig, AzureStore};
use storage::retry::RetryPolicy;
use storage::vercel::{VercelConfig, VercelStore};
use storage::{BlobStore, BlobStoreExt, ErrorKind, ListOptions};
use storage_testkit::fault_proxy::FaultPlan;

use crate::rigs;

/// One operation against a dead backend.
#[derive(Debug, Clone)]
pub struct Death {
    /// `azure` or `vercel`.
    pub provider: &'static str,
    /// `hangs` or `refuses connections`.
    pub backend: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// Until it returned.
    pub elapsed: Duration,
    /// The error kind, `Debug`-printed; `succeeded` if it did not fail.
    pub kind: String,
    /// The error's text.
    pub message: String,
}

/// Every operation at once against `store`.
async fn time_all(
    provider: &'static str,
    backend: &'static str,
    store: Arc<dyn BlobStore>,
) -> Vec<Death> {
    let ops: [(&'static str, _); 4] = [("put 1 KiB", 0), ("get", 1), ("head", 2), ("list", 3)];
    let runs = ops.map(|(operation, which)| {
        let store = store.clone();
        async move {
            let started = Instant::now();
            let outcome = match which {
                0 => store
                    .put_bytes("dead/a.bin", vec![7u8; 1024])
                    .await
                    .map(|_| ()),
                1 => store.get_bytes("dead/a.bin").await.map(|_| ()),
                2 => store.head_key("dead/a.bin").await.map(|_| ()),
                _ => store.list(ListOptions::new()).await.map(|_| ()),
            };
            let (kind, message) = match outcome {
                Ok(()) => ("succeeded".to_string(), String::new()),
                Err(e) => (kind_name(e.kind()), e.to_string()),
            };
            Death {
                provider,
                backend,
                operation,
                elapsed: started.elapsed(),
                kind,
                message,
            }
        }
    });
    futures::future::join_all(runs).await
}

fn kind_name(kind: &ErrorKind) -> String {
    let text = format!("{kind:?}");
    text.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A loopback port with nothing listening.
fn closed_port() -> Result<u16, String> {
    storage_testkit::server_process::free_port()
}

/// Both kinds of dead backend on `provider`.
pub async fn run(provider: &str) -> Result<Vec<Death>, String> {
    let policy = RetryPolicy::default();
    let mut deaths = Vec::new();
    match provider {
        "azure" => {
            let rig = rigs::azure(FaultPlan::hang_all(), policy.clone()).await?;
            deaths.extend(time_all("azure", "hangs", rig.store.clone()).await);
            let port = closed_port()?;
            let cs = format!(
                "DefaultEndpointsProtocol=http;AccountName={a};AccountKey={k};BlobEndpoint=http://127.0.0.1:{port}/{a};",
                a = storage_testkit::azurite::ACCOUNT,
                k = storage_testkit::azurite::ACCOUNT_KEY,
            );
            let config = AzureConfig::from_lookup(|var| {
                (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone())
            })
            .map_err(|e| e.to_string())?;
            let store = AzureStore::new(config.with_retry(policy)).map_err(|e| e.to_string())?;
            deaths.extend(time_all("azure", "refuses connections", Arc::new(store)).await);
        }
        _ => {
            let rig = rigs::vercel(|_| FaultPlan::hang_all(), policy.clone()).await?;
            deaths.extend(time_all("vercel", "hangs", rig.store.clone()).await);
            let port = closed_port()?;
            let base = format!("http://127.0.0.1:{port}");
            let config = VercelConfig::new("vercel_blob_rw_deadstore_0123456789abcdef")
                .and_then(|c| c.api_url(&base))
                .and_then(|c| c.blob_host_url(&format!("{base}/_blob/private")))
                .map_err(|e| e.to_string())?;
            let store = VercelStore::new(config.retry(policy)).map_err(|e| e.to_string())?;
            deaths.extend(time_all("vercel", "refuses connections", Arc::new(store)).await);
        }
    }
    Ok(deaths)
}
