//! Declarative provisioning for the blob-storage library.
//!
//! One manifest, `storage.toml`, names the containers an app needs, their
//! public access level, optional metadata, and the blob service's CORS rules.
//! This crate reads the live state of a backend, prints the difference
//! ([`plan`]), carries it out idempotently ([`apply`]), and exports the same
//! manifest as Terraform or Bicep for the account-level settings that only
//! the control plane can set ([`export`]).
//!
//! Nothing is ever deleted because it is missing from the manifest; deleting
//! takes the explicit `destroy --yes-really` verb and a typed confirmation.

pub mod apply;
pub mod azure;
pub mod cli;
pub mod error;
pub mod export;
pub mod gcs;
pub mod local;
pub mod manifest;
pub mod plan;
pub mod report;
pub mod s3;
pub mod validate;
pub mod vercel;
mod wire;

pub use apply::{apply, ApplyReport, Backend};
pub use error::InfraError;
pub use manifest::Manifest;
pub use plan::{Change, Plan};
