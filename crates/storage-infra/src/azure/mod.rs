//! Azure Blob Storage through the data-plane REST API (works on Azurite).
//!
//! The account comes from the same configuration as `storage-azure`
//! ([`AzureConfig::from_lookup`]): a connection string, an account name and
//! key, a SAS, or an identity from object_store's credential chain. CORS is
//! a property of the account's blob service, so `plan` compares the whole
//! rule list, not one container's.
//!
//! Account-level settings (replication, tier, versioning, soft delete,
//! lifecycle) need the control plane; `export` writes them as Terraform or
//! Bicep instead.

pub mod client;
pub mod model;

use async_trait::async_trait;
use storage_azure::AzureConfig;

use crate::apply::Backend;
use crate::error::Result;
use crate::manifest::Manifest;
use crate::plan::{diff, Change, LiveState, Plan};
use client::AzureClient;

/// Provisions an Azure storage account.
#[derive(Debug)]
pub struct AzureBackend {
    client: AzureClient,
}

impl AzureBackend {
    /// A backend for the account `config` names.
    pub fn new(config: &AzureConfig) -> Result<AzureBackend> {
        Ok(AzureBackend {
            client: AzureClient::new(config)?,
        })
    }

    /// The wire client, for reading state back.
    pub fn client(&self) -> &AzureClient {
        &self.client
    }

    /// Reads what the manifest names: its containers, and CORS when managed.
    pub async fn read(&self, manifest: &Manifest) -> Result<LiveState> {
        let mut live = LiveState::default();
        for spec in &manifest.containers {
            if let Some(container) = self.client.get_container(spec.name()).await? {
                live.containers.insert(spec.name().to_string(), container);
            }
        }
        if manifest.cors.is_some() {
            live.cors = Some(self.client.get_cors().await?);
        }
        Ok(live)
    }
}

#[async_trait]
impl Backend for AzureBackend {
    async fn plan(&self, manifest: &Manifest) -> Result<Plan> {
        let live = self.read(manifest).await?;
        let mut notes = Vec::new();
        if manifest.cors.is_none() {
            notes.push("the manifest has no `cors` entry: live CORS rules are left alone".into());
        }
        if manifest.account.is_some() {
            notes.push(
                "[account] settings need the control plane: use `export --format terraform` or \
                 `--format bicep`"
                    .into(),
            );
        }
        Ok(Plan {
            provider: "azure".into(),
            target: self.client.endpoint().to_string(),
            changes: diff(manifest, &live),
            notes,
        })
    }

    async fn apply_change(&self, change: &Change) -> Result<()> {
        match change {
            Change::CreateContainer {
                name,
                access,
                metadata,
            } => self.client.create_container(name, *access, metadata).await,
            Change::SetAccess { name, to, .. } => self.client.set_access(name, *to).await,
            Change::SetMetadata { name, to, .. } => self.client.set_metadata(name, to).await,
            Change::SetCors { to, .. } => self.client.set_cors(to).await,
            // Planned by other backends only.
            Change::CreateRoot { .. }
            | Change::RestrictPermissions { .. }
            | Change::SetBucketCors { .. }
            | Change::SetPublicAccessBlock { .. }
            | Change::SetBucketProtection { .. } => Ok(()),
        }
    }

    async fn destroy(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for spec in &manifest.containers {
            if self.client.delete_container(spec.name()).await? {
                deleted.push(spec.name().to_string());
            }
        }
        Ok(deleted)
    }
}
