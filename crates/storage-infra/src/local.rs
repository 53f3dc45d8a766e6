//! The local filesystem backend: the root directory (`LOCAL_STORAGE_PATH`)
//! and one directory per container, each readable by its owner only (0700),
//! since blobs on disk are protected by nothing else.
//!
//! Access levels, metadata and CORS have no meaning on disk: public reads
//! and browser uploads go through the signed-URL router, which enforces
//! them per request. `plan` says so in its notes.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::apply::Backend;
use crate::error::{InfraError, Result};
use crate::manifest::Manifest;
use crate::plan::{Change, Plan};

/// The mode every directory gets.
pub const MODE: u32 = 0o700;

/// Provisions directories under a root.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// A backend rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check(&self, path: &Path, changes: &mut Vec<Change>) -> Result<bool> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mode = mode_of(&meta);
                if mode & 0o777 != MODE {
                    changes.push(Change::RestrictPermissions {
                        path: path.display().to_string(),
                        from: format!("{:04o}", mode & 0o777),
                    });
                }
                Ok(true)
            }
            Ok(_) => Err(InfraError::backend(
                "checking the local store",
                format!("{} exists and is not a directory", path.display()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(InfraError::backend(
                "checking the local store",
                format!("{}: {e}", path.display()),
            )),
        }
    }
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    MODE
}

fn create_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(MODE);
    }
    match builder.create(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }?;
    // The umask may have cleared bits of MODE (never added any); set it
    // exactly so the next plan sees 0700.
    restrict(path)
}

fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(MODE))?;
    }
    let _ = path;
    Ok(())
}

#[async_trait]
impl Backend for LocalBackend {
    async fn plan(&self, manifest: &Manifest) -> Result<Plan> {
        let mut changes = Vec::new();
        let root_exists = self.check(&self.root, &mut changes)?;
        if !root_exists {
            changes.push(Change::CreateRoot {
                path: self.root.display().to_string(),
            });
        }
        for spec in &manifest.containers {
            let dir = self.root.join(spec.name());
            if !root_exists || !self.check(&dir, &mut changes)? {
                changes.push(Change::CreateContainer {
                    name: spec.name().to_string(),
                    access: spec.access,
                    metadata: Default::default(),
                });
            }
        }
        let mut notes = vec![
            "local: access levels are enforced by the signed-URL router, not on disk".to_string(),
        ];
        if manifest.containers.iter().any(|c| c.metadata.is_some()) {
            notes.push("local: container metadata is not stored on disk; ignored".into());
        }
        if manifest.cors.is_some() {
            notes.push(
                "local: CORS is configured on the app that mounts the router, not here".into(),
            );
        }
        Ok(Plan {
            provider: "local".into(),
            target: self.root.display().to_string(),
            changes,
            notes,
        })
    }

    async fn apply_change(&self, change: &Change) -> Result<()> {
        let (op, result) = match change {
            Change::CreateRoot { path } => {
                let path = PathBuf::from(path);
                // Parents are created as the user's umask says; only the
                // store's own directories are ours to restrict.
                let parents = match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => {
                        std::fs::create_dir_all(parent)
                    }
                    _ => Ok(()),
                };
                (
                    "creating the root",
                    parents.and_then(|()| create_dir(&path)),
                )
            }
            Change::CreateContainer { name, .. } => (
                "creating a container directory",
                create_dir(&self.root.join(name)),
            ),
            Change::RestrictPermissions { path, .. } => {
                ("restricting permissions", restrict(Path::new(path)))
            }
            Change::SetAccess { .. }
            | Change::SetMetadata { .. }
            | Change::SetCors { .. }
            | Change::SetBucketCors { .. }
            | Change::SetPublicAccessBlock { .. }
            | Change::SetBucketProtection { .. } => return Ok(()),
        };
        result.map_err(|e| InfraError::backend(op, e.to_string()))
    }

    async fn destroy(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for spec in &manifest.containers {
            let dir = self.root.join(spec.name());
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => deleted.push(spec.name().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(InfraError::backend(
                        format!("deleting {}", dir.display()),
                        e.to_string(),
                    ))
                }
            }
        }
        Ok(deleted)
    }
}
