//! The npm packages tests drive (the official Vercel SDK, Azurite,
//! Playwright), installed from their lockfiles on first use.
//!
//! Several test binaries may start at once, so installs are serialised by a
//! file lock. A marker holding the lockfile's hash is written into
//! `node_modules` only after `npm ci` succeeds, so an interrupted install or
//! a changed lockfile is installed again. Tests that need Node never pass
//! silently without it.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

/// Written into `node_modules` after a complete install.
const MARKER: &str = ".storage-testkit-installed";

/// Runs `npm ci` in `dir` (which holds `package.json` and
/// `package-lock.json`) unless its `node_modules` already matches the
/// lockfile. The error says what is missing or what npm said.
pub fn npm_ci(dir: &Path) -> Result<(), String> {
    require("node", dir)?;
    require("npm", dir)?;
    let lockfile = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("cannot read {}/package-lock.json: {e}", dir.display()))?;
    let wanted = hex::encode(Sha256::digest(&lockfile));
    let marker = dir.join("node_modules").join(MARKER);
    let installed = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if installed() {
        return Ok(());
    }
    let lock_path = dir.join(".npm-install.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another test binary may have installed while this one waited.
    if installed() {
        return Ok(());
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run `npm ci` in {}: {e}", dir.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`npm ci` failed in {} ({}); the npm registry must be reachable on first run.\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&marker, wanted).map_err(|e| format!("cannot write {}: {e}", marker.display()))
}

/// [`npm_ci`] for tests: panics with the reason when it fails.
pub fn ensure_npm_packages(dir: &Path) {
    if let Err(why) = npm_ci(dir) {
        panic!("{why}");
    }
}

fn require(tool: &str, dir: &Path) -> Result<(), String> {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        Ok(())
    } else {
        Err(format!(
            "`{tool}` is not on the PATH, and the tests in {} need it: install Node.js 20 or \
             later (with npm)",
            dir.display()
        ))
    }
}
