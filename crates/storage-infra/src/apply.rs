//! Carrying out a plan, and the [`Backend`] trait each provider implements.
//!
//! `apply` always re-reads the live state and re-plans first, so it acts on
//! what is true now, not on a stale printed plan; with nothing to change it
//! sends no request that changes anything. Changes are made in plan order
//! and the first failure stops the run: later changes may depend on earlier
//! ones (metadata on a created container), and the [`ApplyReport`] then
//! says exactly what was done, what failed, and what was not attempted.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::Result;
use crate::manifest::Manifest;
use crate::plan::{Change, Plan};

/// A provider that can be planned against and changed.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Reads the live state and returns the plan that brings it to `manifest`.
    async fn plan(&self, manifest: &Manifest) -> Result<Plan>;

    /// Makes one planned change.
    async fn apply_change(&self, change: &Change) -> Result<()>;

    /// Deletes the manifest's containers (only those), for `destroy`.
    /// Returns what was deleted; a container already gone is not an error.
    async fn destroy(&self, manifest: &Manifest) -> Result<Vec<String>>;
}

/// The outcome of `apply`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    /// The plan that was carried out.
    pub plan: Plan,
    /// Changes made, in order.
    pub done: Vec<Change>,
    /// The change that failed, and why.
    pub failed: Option<Failed>,
    /// Changes not attempted because an earlier one failed.
    pub not_attempted: Vec<Change>,
}

/// A change that failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    /// The change.
    pub change: Change,
    /// Why.
    pub error: String,
}

impl ApplyReport {
    /// Whether every planned change was made.
    pub fn succeeded(&self) -> bool {
        self.failed.is_none()
    }
}

/// Plans against `backend` and carries out the plan.
pub async fn apply(backend: &dyn Backend, manifest: &Manifest) -> Result<ApplyReport> {
    let plan = backend.plan(manifest).await?;
    let mut report = ApplyReport {
        plan: plan.clone(),
        ..ApplyReport::default()
    };
    let mut changes = plan.changes.into_iter();
    for change in changes.by_ref() {
        match backend.apply_change(&change).await {
            Ok(()) => report.done.push(change),
            Err(e) => {
                report.failed = Some(Failed {
                    change,
                    error: e.to_string(),
                });
                break;
            }
        }
    }
    report.not_attempted = changes.collect();
    Ok(report)
}
