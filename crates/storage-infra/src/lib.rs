//! Declarative provisioning for the blob-storage library.
//!
//! One manifest, `storage.toml`, names the containers an app needs, their
//! public access level, optional metadata, and the blob service's CORS rules.
//! This crate reads the live state of a backend, prints the difference
//! ([`plan`]), carries it out idempotently ([`apply`]), and exports the same
//! manifest as Terraform or Bicep for the account-level settings that only
//! the control plane can set ([`export`]).
//!
//! Backends: Azure ([`azure`], the data-plane REST API), S3 ([`s3`], one
//! bucket per container with its CORS rules and public access block), GCS
//! ([`gcs`], one bucket per container with CORS, labels, uniform access and
//! public access prevention), local directories ([`local`]) and Vercel
//! Blob ([`vercel`], verified only). `export` writes azurerm or Bicep, or
//! for S3 and GCS the hashicorp/aws and hashicorp/google resources.
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
