//! A folder under the root the process may not enter gives an error that
//! names the folder and says to check the root's permissions and ownership,
//! not a hint about credentials.
//!
//! Mode bits do not stop root, so when the tests run as root the checks run
//! in a copy of this test binary started as `nobody`; otherwise they run
//! in-process. Either way the error comes from a real failed `openat`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use storage_core::{BlobStoreExt, ErrorKind};
use storage_local::{LocalConfig, LocalStore, PATH_VAR};

const CHILD_ENV: &str = "PERMISSIONS_CHILD_ROOT";
const NOBODY: u32 = 65534;
/// Printed by the child once its checks passed, so a child that ran no
/// test at all cannot pass for one that did.
const MARKER: &str = "permission checks passed as nobody";

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[track_caller]
fn assert_denied<T: std::fmt::Debug>(result: storage_core::Result<T>, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), &ErrorKind::Forbidden, "{what}: {err}");
    let text = err.to_string();
    assert!(
        text.contains("`objects/private` under the store root"),
        "{what}: {text}"
    );
    assert!(text.contains("permissions and ownership"), "{what}: {text}");
    assert!(text.contains(PATH_VAR), "{what}: {text}");
    assert!(!text.contains("credentials"), "{what}: {text}");
}

/// The checks, run by a process that may not enter `objects/private`.
fn check(root: &Path) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = LocalStore::new(LocalConfig::new(root)).expect("open the store");
    assert_denied(rt.block_on(store.get_bytes("private/x")), "get");
    assert_denied(rt.block_on(store.put_bytes("private/y", "y")), "put");
    assert_eq!(
        rt.block_on(store.get_bytes("public/z"))
            .expect("get elsewhere"),
        "z"
    );
}

#[test]
fn an_unreadable_folder_names_itself_and_the_root_setting() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        check(Path::new(&root));
        println!("{MARKER}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = LocalStore::new(LocalConfig::new(&root)).expect("open");
    let root = store.root().to_path_buf();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(store.put_bytes("private/x", "x")).expect("put");
    rt.block_on(store.put_bytes("public/z", "z")).expect("put");

    let as_root = std::fs::metadata(dir.path()).expect("stat").uid() == 0;
    if as_root {
        // Everything open to `nobody` but the one folder, which root keeps.
        chmod(dir.path(), 0o755);
        chmod(&root, 0o755);
        // `meta/public` exists only where a blob keeps a sidecar (a
        // filesystem without user extended attributes).
        for sub in [
            "objects",
            "meta",
            "tmp",
            "locks",
            "objects/public",
            "meta/public",
        ] {
            if root.join(sub).exists() {
                chmod(&root.join(sub), 0o777);
            }
        }
        for stripe in std::fs::read_dir(root.join("locks"))
            .expect("locks")
            .flatten()
        {
            chmod(&stripe.path(), 0o666);
        }
        chmod(&root.join("objects/private"), 0o700);
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "an_unreadable_folder_names_itself_and_the_root_setting",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, &root)
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("start the checks as nobody");
        assert!(
            out.status.success(),
            "the checks failed as nobody ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(MARKER),
            "the child ran no checks: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        chmod(&root.join("objects/private"), 0o000);
        check(&root);
        chmod(&root.join("objects/private"), 0o700);
    }
}
