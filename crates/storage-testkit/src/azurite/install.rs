//! Installing the pinned Azurite from `azurite/package-lock.json`.

use std::path::{Path, PathBuf};

/// The folder holding `package.json`, `package-lock.json` and `node_modules`.
pub(crate) fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("azurite")
}

/// The `azurite-blob` launcher script, installing it first if needed.
pub(crate) fn ensure_installed() -> Result<PathBuf, String> {
    let dir = package_dir();
    crate::node::npm_ci(&dir).map_err(|why| format!("cannot install Azurite: {why}"))?;
    let bin = dir.join("node_modules").join(".bin").join("azurite-blob");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "`npm ci` succeeded but {} is missing",
            bin.display()
        ))
    }
}
