//! Export of the manifest as infrastructure code for the control plane:
//! Terraform (azurerm provider) and Bicep. Both declare the storage account
//! (replication, access tier, versioning, soft delete, CORS), each container
//! with its access level and metadata, and the lifecycle management policy.
//! For S3 and GCS, Terraform only ([`terraform_s3`], [`terraform_gcs`]):
//! one bucket per container, with the same CORS, access, versioning and
//! lifecycle settings in the provider's terms.
//!
//! The output is deterministic (manifest order, sorted maps), so it can be
//! checked in and diffed. Resource group and location are left as inputs.

pub mod bicep;
pub mod terraform;
pub mod terraform_gcs;
pub mod terraform_s3;

use crate::manifest::LifecycleRule;

/// The prefixes *within* `bucket` a lifecycle rule applies to: `None` when
/// it does not apply to the bucket, an empty list for the whole bucket.
/// The manifest's prefixes are `container/path` (Azure's form); on S3 and
/// GCS the container is the bucket, so its name is stripped.
pub(crate) fn prefixes_in(bucket: &str, rule: &LifecycleRule) -> Option<Vec<String>> {
    if rule.prefixes.is_empty() {
        return Some(Vec::new());
    }
    let mut within = Vec::new();
    for prefix in &rule.prefixes {
        let (container, rest) = prefix.split_once('/').unwrap_or((prefix, ""));
        if container != bucket {
            continue;
        }
        if rest.is_empty() {
            return Some(Vec::new());
        }
        within.push(rest.to_string());
    }
    (!within.is_empty()).then_some(within)
}

/// An identifier for a container's resource: `-` is not allowed in Bicep
/// symbolic names and reads oddly in Terraform addresses.
pub(crate) fn ident(name: &str) -> String {
    name.replace('-', "_")
}

/// A string literal, quoted and escaped, valid in both HCL and Bicep
/// once the dialect's own interpolation marker is escaped by the caller.
pub(crate) fn escape(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
