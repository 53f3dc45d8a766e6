//! Vercel Blob: stores are created in Vercel's dashboard, not through an
//! API, so there is nothing to create here. `plan` and `apply` verify that
//! the token (`BLOB_READ_WRITE_TOKEN`) is accepted and the store answers, by
//! a `head` of a probe key that should not exist: `NotFound` proves both.

use async_trait::async_trait;
use storage_core::{BlobKey, BlobStore, ErrorKind};
use storage_vercel::{VercelConfig, VercelStore};

use crate::apply::Backend;
use crate::error::{InfraError, Result};
use crate::manifest::Manifest;
use crate::plan::{Change, Plan};

/// The key probed; its absence is the expected answer.
pub const PROBE_KEY: &str = ".storage-infra/probe";

/// Verifies a Vercel Blob store.
#[derive(Debug)]
pub struct VercelBackend {
    store: VercelStore,
}

impl VercelBackend {
    /// A backend for the store `config` names.
    pub fn new(config: VercelConfig) -> Result<VercelBackend> {
        Ok(VercelBackend {
            store: VercelStore::new(config)?,
        })
    }

    /// Checks the token and store with one read-only request.
    pub async fn verify(&self) -> Result<()> {
        let key = BlobKey::new(PROBE_KEY)?;
        match self.store.head(&key).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound) => Ok(()),
            Err(e) => Err(InfraError::backend(
                "verifying the Vercel Blob token and store",
                e.to_string(),
            )),
        }
    }
}

#[async_trait]
impl Backend for VercelBackend {
    async fn plan(&self, manifest: &Manifest) -> Result<Plan> {
        self.verify().await?;
        let mut notes = vec![format!(
            "vercel: the token is accepted and store `{}` answers; Vercel Blob stores are \
             created in the Vercel dashboard, so there is nothing to create",
            self.store.config().store_id()
        )];
        if !manifest.containers.is_empty() {
            notes.push(
                "vercel: a store has no containers; container names become key prefixes and \
                 access is the store's (public or private)"
                    .into(),
            );
        }
        if manifest.cors.is_some() {
            notes.push("vercel: CORS is managed by Vercel and not configurable".into());
        }
        Ok(Plan {
            provider: "vercel".into(),
            target: format!("store {}", self.store.config().store_id()),
            changes: Vec::new(),
            notes,
        })
    }

    async fn apply_change(&self, _change: &Change) -> Result<()> {
        Ok(())
    }

    async fn destroy(&self, _manifest: &Manifest) -> Result<Vec<String>> {
        Err(InfraError::Usage(
            "Vercel Blob stores are deleted in the Vercel dashboard, not by storage-infra".into(),
        ))
    }
}
