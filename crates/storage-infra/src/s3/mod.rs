//! Amazon S3 (and S3-compatible stores; tested on moto) through the bucket
//! API: one bucket per manifest container.
//!
//! The account, region, endpoint and credentials come from the same
//! configuration as `storage-s3` ([`S3Config::from_lookup`]: `AWS_REGION`,
//! `AWS_ENDPOINT_URL_S3`, a key pair or the credential chain). Its
//! `S3_BUCKET` is not needed: the manifest names the buckets.
//!
//! What each container becomes:
//!
//! - a bucket, created in `AWS_REGION` (with a `LocationConstraint`
//!   outside us-east-1);
//! - the manifest's CORS rules on **each** bucket (S3 keeps CORS per
//!   bucket, Azure per account). `OPTIONS` is dropped from the methods:
//!   S3 answers preflights itself and refuses `OPTIONS` as an allowed
//!   method. `MERGE` and `PATCH` are refused (S3 has neither);
//! - `access = "private"`: a public access block with all four switches on;
//! - `access = "blob"` or `"container"`: a block with the ACL switches on
//!   and the policy switches off, so that a bucket policy may grant
//!   anonymous reads. `apply` writes no bucket policy (S3 keeps one policy
//!   document per bucket, and writing ours would replace statements it did
//!   not write); `export --format terraform --provider s3` declares it
//!   (`aws_s3_bucket_policy`). The plan says so.
//!
//! Container metadata has no S3 equivalent on a bucket (tags are billing
//! labels, not metadata); the plan notes it and the Terraform export maps
//! it to `tags`. `destroy` empties each bucket (current objects) and
//! deletes it.

pub mod client;
pub mod model;

use async_trait::async_trait;
use storage_s3::S3Config;

use crate::apply::Backend;
use crate::error::{InfraError, Result};
use crate::manifest::{Access, CorsMethod, Manifest};
use crate::plan::{Change, CorsRule, Plan, PublicAccessBlock};
use client::{BucketState, S3Client};

/// Provisions S3 buckets.
#[derive(Debug)]
pub struct S3Backend {
    client: S3Client,
}

/// The public access block a container's access level asks for.
pub fn public_access_block_for(access: Access) -> PublicAccessBlock {
    match access {
        Access::Private => PublicAccessBlock::ALL,
        Access::Blob | Access::Container => PublicAccessBlock::POLICY_ONLY,
    }
}

/// The manifest's CORS rules as S3 stores them, or why S3 cannot: `None`
/// when the manifest does not manage CORS.
pub fn s3_cors_rules(manifest: &Manifest) -> Result<Option<Vec<CorsRule>>> {
    let Some(specs) = &manifest.cors else {
        return Ok(None);
    };
    let mut rules = Vec::new();
    for spec in specs {
        if let Some(bad) = spec
            .methods
            .iter()
            .find(|m| matches!(m, CorsMethod::Merge | CorsMethod::Patch))
        {
            return Err(InfraError::Usage(format!(
                "a [[cors]] rule allows {}, which S3 cannot allow (it accepts GET, PUT, HEAD, \
                 POST and DELETE); remove it from storage.toml for the s3 provider",
                bad.as_str()
            )));
        }
        let mut rule = CorsRule::from_spec(spec);
        rule.methods.retain(|m| m != "OPTIONS");
        rules.push(rule);
    }
    Ok(Some(rules))
}

impl S3Backend {
    /// A backend for the account and region `config` names.
    pub fn new(config: &S3Config) -> Result<S3Backend> {
        Ok(S3Backend {
            client: S3Client::new(config)?,
        })
    }

    /// The wire client, for reading state back.
    pub fn client(&self) -> &S3Client {
        &self.client
    }
}

#[async_trait]
impl Backend for S3Backend {
    async fn plan(&self, manifest: &Manifest) -> Result<Plan> {
        let cors = s3_cors_rules(manifest)?;
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        for spec in &manifest.containers {
            let name = spec.name().to_string();
            let want_block = public_access_block_for(spec.access);
            match self.client.head_bucket(&name).await? {
                BucketState::Missing => {
                    changes.push(Change::CreateContainer {
                        name: name.clone(),
                        access: spec.access,
                        metadata: Default::default(),
                    });
                    if let Some(to) = cors.clone().filter(|r| !r.is_empty()) {
                        changes.push(Change::SetBucketCors {
                            name: name.clone(),
                            from: Vec::new(),
                            to,
                        });
                    }
                    changes.push(Change::SetPublicAccessBlock {
                        name: name.clone(),
                        from: None,
                        to: want_block,
                    });
                }
                BucketState::Exists { region } => {
                    if let Some(region) = region.filter(|r| r != self.client.region()) {
                        notes.push(format!(
                            "bucket `{name}` is in region {region}, not {}",
                            self.client.region()
                        ));
                    }
                    if let Some(want) = &cors {
                        let have = self.client.get_cors(&name).await?;
                        if have != *want {
                            changes.push(Change::SetBucketCors {
                                name: name.clone(),
                                from: have,
                                to: want.clone(),
                            });
                        }
                    }
                    let have = self.client.get_public_access_block(&name).await?;
                    if have != Some(want_block) {
                        changes.push(Change::SetPublicAccessBlock {
                            name: name.clone(),
                            from: have,
                            to: want_block,
                        });
                    }
                }
            }
            if spec.access != Access::Private {
                notes.push(format!(
                    "bucket `{name}` is public ({}): apply leaves bucket policies to it, but \
                     writes none, since a bucket has one policy document and ours would replace \
                     statements it did not write; grant anonymous s3:GetObject{} in a bucket \
                     policy (`export --format terraform --provider s3` declares one)",
                    spec.access,
                    if spec.access == Access::Container {
                        " and s3:ListBucket"
                    } else {
                        ""
                    }
                ));
            }
            if spec.metadata().is_some_and(|m| !m.is_empty()) {
                notes.push(format!(
                    "bucket `{name}`: S3 buckets have no metadata, so it is not applied (the \
                     Terraform export writes it as tags)"
                ));
            }
        }
        if manifest.cors.is_none() {
            notes.push("the manifest has no `cors` entry: live CORS rules are left alone".into());
        } else if manifest
            .cors
            .iter()
            .flatten()
            .any(|r| r.methods.contains(&CorsMethod::Options))
        {
            notes.push(
                "OPTIONS is not sent as an allowed method: S3 answers CORS preflights itself"
                    .into(),
            );
        }
        if manifest.account.is_some() {
            notes.push(
                "[account] settings (versioning, lifecycle) are not applied: use `export \
                 --format terraform --provider s3`"
                    .into(),
            );
        }
        Ok(Plan {
            provider: "s3".into(),
            target: format!(
                "{} (region {})",
                self.client.endpoint(),
                self.client.region()
            ),
            changes,
            notes,
        })
    }

    async fn apply_change(&self, change: &Change) -> Result<()> {
        match change {
            Change::CreateContainer { name, .. } => self.client.create_bucket(name).await,
            Change::SetBucketCors { name, to, .. } => self.client.set_cors(name, to).await,
            Change::SetPublicAccessBlock { name, to, .. } => {
                self.client.set_public_access_block(name, to).await
            }
            // Planned by other backends only.
            Change::CreateRoot { .. }
            | Change::RestrictPermissions { .. }
            | Change::SetAccess { .. }
            | Change::SetMetadata { .. }
            | Change::SetCors { .. }
            | Change::SetBucketProtection { .. } => Ok(()),
        }
    }

    async fn destroy(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for spec in &manifest.containers {
            if self.client.delete_bucket(spec.name()).await? {
                deleted.push(spec.name().to_string());
            }
        }
        Ok(deleted)
    }
}
