//! The diff: desired state (the manifest) against live state (what a
//! backend reports), as an ordered list of [`Change`]s.
//!
//! Only additive or corrective changes are ever planned. A container that
//! exists live but not in the manifest is left alone: deleting is never
//! implied by a missing entry (see `destroy`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::manifest::{Access, CorsRuleSpec, Manifest};

/// A CORS rule in canonical form, comparable with what a backend reports:
/// origins and methods sorted, header names lower-cased and sorted (HTTP
/// header names are case-insensitive, and the order within a rule is
/// irrelevant; the order of rules is kept, since the first match wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorsRule {
    /// Allowed origins.
    pub origins: Vec<String>,
    /// Allowed methods, upper case.
    pub methods: Vec<String>,
    /// Allowed request headers.
    pub allowed_headers: Vec<String>,
    /// Exposed response headers.
    pub exposed_headers: Vec<String>,
    /// Preflight cache lifetime.
    pub max_age_secs: u32,
}

impl CorsRule {
    /// A rule from its parts, canonicalised.
    pub fn new(
        origins: impl IntoIterator<Item = String>,
        methods: impl IntoIterator<Item = String>,
        allowed_headers: impl IntoIterator<Item = String>,
        exposed_headers: impl IntoIterator<Item = String>,
        max_age_secs: u32,
    ) -> CorsRule {
        let clean = |items: Vec<String>, lower: bool| {
            let mut items: Vec<String> = items
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(|s| if lower { s.to_ascii_lowercase() } else { s })
                .collect();
            items.sort();
            items.dedup();
            items
        };
        CorsRule {
            origins: clean(origins.into_iter().collect(), false),
            methods: clean(
                methods
                    .into_iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect(),
                false,
            ),
            allowed_headers: clean(allowed_headers.into_iter().collect(), true),
            exposed_headers: clean(exposed_headers.into_iter().collect(), true),
            max_age_secs,
        }
    }

    /// The canonical form of a manifest rule.
    pub fn from_spec(spec: &CorsRuleSpec) -> CorsRule {
        CorsRule::new(
            spec.origins.iter().map(|o| o.get_ref().clone()),
            spec.methods.iter().map(|m| m.as_str().to_string()),
            spec.allowed_headers.iter().cloned(),
            spec.exposed_headers.iter().cloned(),
            spec.max_age_secs,
        )
    }
}

/// S3's four public access block switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Ignore public ACLs already set.
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that grant public access.
    pub block_public_policy: bool,
    /// Ignore a public bucket policy already set.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Everything blocked: what a private container gets.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// ACLs blocked, bucket policies allowed: what a public container gets,
    /// since anonymous read on S3 is granted by a bucket policy (ACLs are
    /// a legacy that new buckets disable).
    pub const POLICY_ONLY: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: false,
        restrict_public_buckets: false,
    };
}

impl fmt::Display for PublicAccessBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PublicAccessBlock::ALL {
            return f.write_str("all blocked");
        }
        let on = |b: bool| if b { "on" } else { "off" };
        write!(
            f,
            "BlockPublicAcls {}, IgnorePublicAcls {}, BlockPublicPolicy {}, RestrictPublicBuckets {}",
            on(self.block_public_acls),
            on(self.ignore_public_acls),
            on(self.block_public_policy),
            on(self.restrict_public_buckets)
        )
    }
}

/// A GCS bucket's access protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketProtection {
    /// Uniform bucket-level access (IAM only, object ACLs off).
    pub uniform_access: bool,
    /// Public access prevention: `enforced` or `inherited`.
    pub public_access_prevention: String,
}

impl fmt::Display for BucketProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "uniform access {}, public access prevention {}",
            if self.uniform_access { "on" } else { "off" },
            self.public_access_prevention
        )
    }
}

/// What a backend reports about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveContainer {
    /// Its public access level.
    pub access: Access,
    /// Its metadata.
    pub metadata: BTreeMap<String, String>,
}

/// What a backend reports, restricted to what the manifest names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveState {
    /// Containers that exist, by name.
    pub containers: BTreeMap<String, LiveContainer>,
    /// The live CORS rules, when the backend has CORS.
    pub cors: Option<Vec<CorsRule>>,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// Create the root directory (local).
    CreateRoot {
        /// The directory.
        path: String,
    },
    /// Create a container with its access level and metadata.
    CreateContainer {
        /// Container name.
        name: String,
        /// Access level to create it with.
        access: Access,
        /// Metadata to create it with.
        metadata: BTreeMap<String, String>,
    },
    /// Change a container's public access level.
    SetAccess {
        /// Container name.
        name: String,
        /// Live level.
        from: Access,
        /// Desired level.
        to: Access,
    },
    /// Replace a container's metadata.
    SetMetadata {
        /// Container name.
        name: String,
        /// Live metadata.
        from: BTreeMap<String, String>,
        /// Desired metadata.
        to: BTreeMap<String, String>,
    },
    /// Replace the service's CORS rules.
    SetCors {
        /// Live rules.
        from: Vec<CorsRule>,
        /// Desired rules.
        to: Vec<CorsRule>,
    },
    /// Replace one bucket's CORS rules (S3 and GCS, where CORS belongs to
    /// each bucket rather than to the account).
    SetBucketCors {
        /// Bucket name.
        name: String,
        /// Live rules.
        from: Vec<CorsRule>,
        /// Desired rules.
        to: Vec<CorsRule>,
    },
    /// Set a bucket's public access block (S3).
    SetPublicAccessBlock {
        /// Bucket name.
        name: String,
        /// The live block; `None` when the bucket has none.
        from: Option<PublicAccessBlock>,
        /// The desired block.
        to: PublicAccessBlock,
    },
    /// Set a bucket's uniform bucket-level access and public access
    /// prevention (GCS).
    SetBucketProtection {
        /// Bucket name.
        name: String,
        /// The live settings.
        from: BucketProtection,
        /// The desired settings.
        to: BucketProtection,
    },
    /// Restrict a directory to its owner (local).
    RestrictPermissions {
        /// The directory.
        path: String,
        /// The live mode, octal.
        from: String,
    },
}

impl Change {
    /// One line for humans, secrets-free.
    pub fn describe(&self) -> String {
        match self {
            Change::CreateRoot { path } => format!("create root directory {path} (mode 0700)"),
            Change::CreateContainer {
                name,
                access,
                metadata,
            } => {
                let mut s = format!("create container `{name}` (access: {access})");
                if !metadata.is_empty() {
                    s.push_str(&format!(" with metadata {}", show_map(metadata)));
                }
                s
            }
            Change::SetAccess { name, from, to } => {
                format!("change access of `{name}`: {from} -> {to}")
            }
            Change::SetMetadata { name, from, to } => format!(
                "update metadata of `{name}`: {} -> {}",
                show_map(from),
                show_map(to)
            ),
            Change::SetCors { from, to } => format!(
                "set CORS: {} rule(s) -> {} rule(s): {}",
                from.len(),
                to.len(),
                to.iter().map(show_rule).collect::<Vec<_>>().join("; ")
            ),
            Change::SetBucketCors { name, from, to } => format!(
                "set CORS of bucket `{name}`: {} rule(s) -> {} rule(s): {}",
                from.len(),
                to.len(),
                to.iter().map(show_rule).collect::<Vec<_>>().join("; ")
            ),
            Change::SetPublicAccessBlock { name, from, to } => format!(
                "set the public access block of bucket `{name}`: {} -> {to}",
                from.map_or_else(|| "none".to_string(), |b| b.to_string())
            ),
            Change::SetBucketProtection { name, from, to } => {
                format!("set access protection of bucket `{name}`: {from} -> {to}")
            }
            Change::RestrictPermissions { path, from } => {
                format!("restrict permissions of {path}: {from} -> 0700")
            }
        }
    }
}

fn show_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}

fn show_rule(rule: &CorsRule) -> String {
    format!(
        "origins [{}] methods [{}] headers [{}] exposed [{}] max-age {}s",
        rule.origins.join(", "),
        rule.methods.join(", "),
        rule.allowed_headers.join(", "),
        rule.exposed_headers.join(", "),
        rule.max_age_secs
    )
}

/// The changes that bring `live` to what `manifest` wants, for a backend
/// that has containers, access levels, metadata and CORS (Azure).
pub fn diff(manifest: &Manifest, live: &LiveState) -> Vec<Change> {
    let mut changes = Vec::new();
    for spec in &manifest.containers {
        let name = spec.name().to_string();
        match live.containers.get(&name) {
            None => changes.push(Change::CreateContainer {
                name,
                access: spec.access,
                metadata: spec.metadata().cloned().unwrap_or_default(),
            }),
            Some(current) => {
                if current.access != spec.access {
                    changes.push(Change::SetAccess {
                        name: name.clone(),
                        from: current.access,
                        to: spec.access,
                    });
                }
                if let Some(want) = spec.metadata() {
                    if *want != current.metadata {
                        changes.push(Change::SetMetadata {
                            name,
                            from: current.metadata.clone(),
                            to: want.clone(),
                        });
                    }
                }
            }
        }
    }
    if let Some(want) = manifest.cors_rules() {
        let have = live.cors.clone().unwrap_or_default();
        if want != have {
            changes.push(Change::SetCors {
                from: have,
                to: want,
            });
        }
    }
    changes
}

/// A plan: the target, the changes, and notes the user must read (such as
/// what a backend cannot do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Provider name (`azure`, `local`, `vercel`).
    pub provider: String,
    /// What was inspected (account endpoint, root directory, store id).
    pub target: String,
    /// The changes, in the order `apply` makes them.
    pub changes: Vec<Change>,
    /// Notes for the user.
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
