//! The manifest, `storage.toml`: the single source of truth for containers,
//! their access level and metadata, the blob service's CORS rules, and (for
//! `export` only) account-level settings.
//!
//! Parsing is strict: unknown keys are errors (a typo such as `acess` must
//! not silently fall back to a default), and every error names the file and
//! line. [`Manifest::parse`] also runs the semantic checks of
//! [`crate::validate`], so a `Manifest` value is always valid.
//!
//! ```
//! let manifest = storage_infra::manifest::Manifest::parse(r#"
//! [[container]]
//! name = "recordings"
//! access = "private"
//!
//! [[cors]]
//! origins = ["https://app.example.com"]
//! methods = ["GET", "PUT"]
//! "#, "storage.toml")?;
//! assert_eq!(manifest.containers[0].name(), "recordings");
//! # Ok::<(), storage_infra::manifest::ManifestError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A parsed and validated manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `[[container]]` entries, in file order.
    #[serde(default, rename = "container")]
    pub containers: Vec<ContainerSpec>,
    /// `[[cors]]` rules, in file order (Azure applies the first that matches).
    /// `None` (no `cors` key at all) leaves the live CORS rules alone;
    /// `cors = []` removes them.
    #[serde(default)]
    pub cors: Option<Vec<CorsRuleSpec>>,
    /// `[account]`: settings only `export` uses.
    #[serde(default)]
    pub account: Option<AccountSettings>,
}

/// One `[[container]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// The container name (checked against Azure's rules).
    pub name: Spanned<String>,
    /// Anonymous read access; `private` when omitted, the safe default.
    #[serde(default)]
    pub access: Access,
    /// Container metadata. `None` leaves the live metadata alone; a table
    /// (even an empty one) makes it exactly this.
    #[serde(default)]
    pub metadata: Option<Spanned<BTreeMap<String, String>>>,
}

impl ContainerSpec {
    /// The container name.
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// The desired metadata, if the manifest manages it.
    pub fn metadata(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.as_ref().map(|m| m.get_ref())
    }
}

/// A container's anonymous (public) read access, as Azure names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// No anonymous access.
    #[default]
    Private,
    /// Anonymous read of blobs, no listing.
    Blob,
    /// Anonymous read and listing.
    Container,
}

impl Access {
    /// The manifest spelling (`private`, `blob`, `container`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Private => "private",
            Access::Blob => "blob",
            Access::Container => "container",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[cors]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsRuleSpec {
    /// Allowed origins: `*` or `scheme://host[:port]`.
    pub origins: Vec<Spanned<String>>,
    /// Allowed methods.
    pub methods: Vec<CorsMethod>,
    /// Request headers the browser may send (`x-ms-meta-*` style prefixes allowed).
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers the page may read.
    #[serde(default)]
    pub exposed_headers: Vec<String>,
    /// How long a browser may cache the preflight answer.
    #[serde(default)]
    pub max_age_secs: u32,
    #[serde(skip)]
    pub(crate) span: Range<usize>,
}

/// An HTTP method a CORS rule may allow (the set Azure accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum CorsMethod {
    Delete,
    Get,
    Head,
    Merge,
    Options,
    Patch,
    Post,
    Put,
}

impl CorsMethod {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CorsMethod::Delete => "DELETE",
            CorsMethod::Get => "GET",
            CorsMethod::Head => "HEAD",
            CorsMethod::Merge => "MERGE",
            CorsMethod::Options => "OPTIONS",
            CorsMethod::Patch => "PATCH",
            CorsMethod::Post => "POST",
            CorsMethod::Put => "PUT",
        }
    }
}

/// `[account]`: settings that need the control plane, used by `export` only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// The storage account name (3-24 lowercase letters and digits);
    /// exported as a variable when omitted.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// Replication, `LRS` when omitted.
    #[serde(default)]
    pub replication: Replication,
    /// Default access tier, `Hot` when omitted.
    #[serde(default)]
    pub access_tier: AccessTier,
    /// Blob versioning.
    #[serde(default)]
    pub versioning: bool,
    /// Days deleted blobs are kept (1-365); no soft delete when omitted.
    #[serde(default)]
    pub soft_delete_days: Option<Spanned<u32>>,
    /// `[[account.lifecycle]]` rules.
    #[serde(default)]
    pub lifecycle: Vec<LifecycleRule>,
}

/// Account replication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs, clippy::upper_case_acronyms)]
pub enum Replication {
    #[default]
    LRS,
    ZRS,
    GRS,
    RAGRS,
    GZRS,
    RAGZRS,
}

impl Replication {
    /// The name Terraform's `account_replication_type` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Replication::LRS => "LRS",
            Replication::ZRS => "ZRS",
            Replication::GRS => "GRS",
            Replication::RAGRS => "RAGRS",
            Replication::GZRS => "GZRS",
            Replication::RAGZRS => "RAGZRS",
        }
    }

    /// The SKU name Bicep takes (`Standard_RAGRS`, …).
    pub fn sku(self) -> String {
        format!("Standard_{}", self.as_str())
    }
}

/// The account's default access tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum AccessTier {
    #[default]
    Hot,
    Cool,
    Cold,
}

impl AccessTier {
    /// The tier as Azure spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTier::Hot => "Hot",
            AccessTier::Cool => "Cool",
            AccessTier::Cold => "Cold",
        }
    }
}

/// One `[[account.lifecycle]]` rule: tier down, then delete, by age.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRule {
    /// Rule name (letters and digits).
    pub name: Spanned<String>,
    /// Blob name prefixes the rule applies to (`container/path`); all blobs when empty.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Move to the cool tier this many days after the last modification.
    #[serde(default)]
    pub cool_after_days: Option<u32>,
    /// Move to the archive tier this many days after the last modification.
    #[serde(default)]
    pub archive_after_days: Option<u32>,
    /// Delete this many days after the last modification.
    #[serde(default)]
    pub delete_after_days: Option<u32>,
}

/// Why a manifest was refused: the file, the line when known, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The file name as given.
    pub path: String,
    /// 1-based line of the offending entry, when known.
    pub line: Option<usize>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Parses and validates `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &str) -> Result<Manifest, ManifestError> {
        let mut manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError {
            path: path.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            // toml's Display repeats the source snippet; the message alone
            // plus our line number reads better on one line.
            message: e.message().trim().to_string(),
        })?;
        manifest.locate_cors_rules(text);
        crate::validate::validate(&manifest).map_err(|e| ManifestError {
            path: path.to_string(),
            line: e.span.map(|s| line_of(text, s.start)),
            message: e.message,
        })?;
        Ok(manifest)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Manifest, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: shown.clone(),
            line: None,
            message: format!("cannot read the manifest: {e}"),
        })?;
        Manifest::parse(&text, &shown)
    }

    /// A rule has no span of its own (serde cannot give a table one inside
    /// an array of tables), so errors about a whole rule point at its first
    /// origin, which every rule must have.
    fn locate_cors_rules(&mut self, _text: &str) {
        for rule in self.cors.iter_mut().flatten() {
            if let Some(first) = rule.origins.first() {
                rule.span = first.span();
            }
        }
    }

    /// The desired CORS rules in their wire form, if the manifest manages CORS.
    pub fn cors_rules(&self) -> Option<Vec<crate::plan::CorsRule>> {
        self.cors
            .as_ref()
            .map(|rules| rules.iter().map(crate::plan::CorsRule::from_spec).collect())
    }
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
