//! Running filesystem work off the async threads, and the mapping of its
//! failures to `storage_core::Error`.

use std::io;
use std::path::Path;

use storage_core::{Error, ErrorKind, Provider, Result};

use crate::config::PATH_VAR;

/// Runs filesystem work off the async threads. Once started it runs to the
/// end even if the caller's future is dropped, so a commit is never cut in
/// half by a cancelled request.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::new(ErrorKind::Backend, Provider::Local)
            .with_message("a filesystem task failed to complete")
            .with_source(e)
    })?
}

/// Tags `err` with `key`, unless the operation has none (a listing, opening
/// the store).
pub(crate) fn keyed(err: Error, key: &str) -> Error {
    if key.is_empty() {
        err
    } else {
        err.with_key(key)
    }
}

/// Names `rel` (relative to the root) in a message.
pub(crate) fn place(rel: &Path) -> String {
    if rel.as_os_str().is_empty() {
        "the store root".to_string()
    } else {
        format!("`{}` under the store root", rel.display())
    }
}

/// An I/O failure at `rel` (relative to the root) while `doing` something
/// to `key`. Permission errors say where and what to check: on local disk
/// they come from file modes and ownership, not from credentials.
pub(crate) fn io_error(e: io::Error, rel: &Path, key: &str, doing: &str) -> Error {
    let at = place(rel);
    let (kind, message) = match e.kind() {
        io::ErrorKind::PermissionDenied => (
            ErrorKind::Forbidden,
            format!(
                "{doing}: cannot access {at} ({e}); check the permissions and ownership of the \
                 store root ({PATH_VAR}) and of everything below it: this process must be able \
                 to read and write all of it"
            ),
        ),
        io::ErrorKind::ReadOnlyFilesystem => (
            ErrorKind::Forbidden,
            format!(
                "{doing}: {at} is on a read-only filesystem ({e}); point {PATH_VAR} at a \
                 writable directory"
            ),
        ),
        _ => (ErrorKind::Backend, format!("{doing} ({at}): {e}")),
    };
    keyed(
        Error::new(kind, Provider::Local)
            .with_message(message)
            .with_source(e),
        key,
    )
}

/// The error for keys a filesystem cannot hold side by side.
pub(crate) fn folder_conflict(key: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported {
            op: "a blob and a folder with the same name",
        },
        Provider::Local,
    )
    .with_key(key)
    .with_message(
        "on local disk a name cannot be both a blob and a folder: `a` and `a/b` cannot \
         both exist; rename one of them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tests run as root here, where mode bits stop nothing, so the mapping is
    // checked on the error a real failed open returns, as the store sees it.
    #[test]
    fn permission_errors_name_the_path_and_the_root_setting() {
        let denied = io::Error::from_raw_os_error(13);
        assert_eq!(denied.kind(), io::ErrorKind::PermissionDenied);
        let err = io_error(denied, Path::new("objects/a/b"), "a/b", "opening a file");
        assert_eq!(err.kind(), &ErrorKind::Forbidden);
        let text = err.to_string();
        assert!(
            text.contains("`objects/a/b` under the store root"),
            "{text}"
        );
        assert!(text.contains("permissions and ownership"), "{text}");
        assert!(text.contains(PATH_VAR), "{text}");
        assert!(!text.contains("credentials"), "{text}");
    }

    #[test]
    fn other_errors_are_backend_errors_that_name_the_path() {
        let err = io_error(
            io::Error::from_raw_os_error(5),
            Path::new("meta/x"),
            "x",
            "reading the sidecar",
        );
        assert_eq!(err.kind(), &ErrorKind::Backend);
        assert!(err.to_string().contains("`meta/x`"), "{err}");
    }
}
