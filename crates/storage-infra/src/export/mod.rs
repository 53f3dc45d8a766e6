//! Export of the manifest as infrastructure code for the control plane:
//! Terraform (azurerm provider) and Bicep. Both declare the storage account
//! (replication, access tier, versioning, soft delete, CORS), each container
//! with its access level and metadata, and the lifecycle management policy.
//!
//! The output is deterministic (manifest order, sorted maps), so it can be
//! checked in and diffed. Resource group and location are left as inputs.

pub mod bicep;
pub mod terraform;

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
