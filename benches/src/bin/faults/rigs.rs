//! A provider behind the fault proxy: the store whose requests cross it,
//! a store straight to the backend (to seed and to check what landed), and
//! the proxies, so the survey can count what the backend saw.

use std::sync::Arc;

use storage::azure::{AzureConfig, AzureStore};
use storage::retry::RetryPolicy;
use storage::vercel::{Access, VercelConfig, VercelStore};
use storage::BlobStore;
use storage_testkit::azurite::Azurite;
use storage_testkit::fault_proxy::{FaultPlan, FaultProxy};
use vercel_blob_emulator::{Emulator, RunningEmulator};

/// One provider behind its proxies.
pub struct Rig {
    /// `azure` or `vercel`.
    pub name: &'static str,
    /// Through the proxies, with the default policy.
    pub store: Arc<dyn BlobStore>,
    /// Straight to the backend.
    pub direct: Arc<dyn BlobStore>,
    /// Every proxy in front of the backend (Vercel has one for its API
    /// and one for its blob host).
    pub proxies: Vec<FaultProxy>,
    _emulator: Option<RunningEmulator>,
}

/// Azurite behind one proxy, with a fresh container.
pub async fn azure(plan: FaultPlan, policy: RetryPolicy) -> Result<Rig, String> {
    let azurite = Azurite::shared().map_err(|e| e.to_string())?;
    let container = azurite.fresh_container().await.map_err(|e| e.to_string())?;
    let (proxy, proxied) = azurite
        .behind_proxy(plan)
        .await
        .map_err(|e| e.to_string())?;
    let config = |cs: String| {
        let container = container.clone();
        AzureConfig::from_lookup(move |var| match var {
            "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
            "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
            _ => None,
        })
        .map_err(|e| e.to_string())
    };
    let store = AzureStore::new(config(proxied)?.with_retry(policy)).map_err(|e| e.to_string())?;
    let direct =
        AzureStore::new(config(azurite.connection_string())?).map_err(|e| e.to_string())?;
    Ok(Rig {
        name: "azure",
        store: Arc::new(store),
        direct: Arc::new(direct),
        proxies: vec![proxy],
        _emulator: None,
    })
}

/// A fresh Vercel emulator with one proxy before its API and one before its
/// blob host.
pub async fn vercel(plan: impl Fn(u64) -> FaultPlan, policy: RetryPolicy) -> Result<Rig, String> {
    let emulator = Emulator::builder()
        .start()
        .await
        .map_err(|e| format!("the Vercel Blob emulator did not start: {e}"))?;
    let token = emulator.rw_token().expose().to_string();
    let upstream = emulator.addr();
    let api = FaultProxy::start(upstream, plan(0))
        .await
        .map_err(|e| format!("API proxy: {e}"))?;
    let host = FaultProxy::start(upstream, plan(1))
        .await
        .map_err(|e| format!("blob host proxy: {e}"))?;
    let access = Access::Private.as_str();
    let config = |api_url: &str, host_url: &str| {
        VercelConfig::new(token.clone())
            .and_then(|c| c.api_url(api_url))
            .and_then(|c| c.blob_host_url(&format!("{host_url}/{access}")))
            .map_err(|e| e.to_string())
    };
    // The blob host lives on the emulator's port under a path prefix; the
    // same prefix on a proxy's port reaches it through that proxy.
    let proxied_host = emulator
        .blob_host_url()
        .replacen(&emulator.api_url(), &host.url(), 1);
    let store = VercelStore::new(config(&api.url(), &proxied_host)?.retry(policy))
        .map_err(|e| e.to_string())?;
    let direct = VercelStore::new(config(&emulator.api_url(), &emulator.blob_host_url())?)
        .map_err(|e| e.to_string())?;
    Ok(Rig {
        name: "vercel",
        store: Arc::new(store),
        direct: Arc::new(direct),
        proxies: vec![api, host],
        _emulator: Some(emulator),
    })
}
