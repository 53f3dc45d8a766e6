//! Where a command reads or writes: a blob (a store URL plus a key, or a key
//! in the store the environment configures), a local file, or stdin/stdout.
//!
//! An argument with a `scheme://` is a store URL split into the store and a
//! key (or prefix):
//!
//! | argument | store | key |
//! |---|---|---|
//! | `memory://a/b` | `memory://` | `a/b` |
//! | `vercel://a/b` | `vercel://` | `a/b` |
//! | `azure://c/a/b` | `azure://c` | `a/b` |
//! | `s3://bucket/a/b` | `s3://bucket` | `a/b` |
//! | `gs://bucket/a/b` | `gs://bucket` | `a/b` |
//! | `file:///srv/blobs//a/b` | `file:///srv/blobs` | `a/b` (an explicit `//` ends the directory) |
//! | `file:///srv/blobs/a/b` | the deepest existing store directory above `a/b` (one that has `objects/` and `meta/`), else `file:///srv/blobs/a` | the rest, else `b` |
//! | `file:///srv/blobs/` | `file:///srv/blobs` | empty (a trailing `/` names the directory itself) |
//!
//! An argument without a scheme is a key in the store `BLOB_STORAGE_PROVIDER`
//! and friends configure, except where a verb takes local files (`put`'s
//! source, `get`'s destination, either side of `cp`), where it is a path and
//! `-` is stdin/stdout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use storage::BlobStore;

use crate::exit::{CliError, CliResult};

/// A blob, or a key prefix, in a store.
#[derive(Debug, Clone)]
pub struct BlobLocation {
    /// The store.
    pub store: Arc<dyn BlobStore>,
    /// The store's URL (`env` for the environment's store), for messages.
    pub store_url: String,
    /// The key or prefix; may be empty.
    pub key: String,
}

impl BlobLocation {
    /// Opens the store `arg` names and keeps its key part.
    pub fn parse(arg: &str) -> CliResult<Self> {
        if has_scheme(arg) {
            let (store_url, key) = split_url(arg)?;
            let store = storage::open(&store_url).map_err(open_error)?;
            tracing::debug!(store = %store_url, provider = %store.provider(), "opened store");
            Ok(BlobLocation {
                store,
                store_url,
                key,
            })
        } else {
            let store = storage::from_env()?;
            tracing::debug!(provider = %store.provider(), "opened the environment's store");
            Ok(BlobLocation {
                store,
                store_url: "env".to_string(),
                key: arg.to_string(),
            })
        }
    }

    /// `store-url` + `key`, the way a user would type it back.
    pub fn display(&self) -> String {
        if self.store_url == "env" {
            self.key.clone()
        } else if self.store_url.starts_with("file:") {
            format!("{}//{}", self.store_url, self.key)
        } else if self.store_url.ends_with("://") {
            format!("{}{}", self.store_url, self.key)
        } else {
            format!("{}/{}", self.store_url, self.key)
        }
    }
}

/// One side of a transfer.
#[derive(Debug)]
pub enum Endpoint {
    /// A blob in a store.
    Blob(BlobLocation),
    /// A local file.
    File(PathBuf),
    /// `-`: stdin as a source, stdout as a destination.
    Stdio,
}

impl Endpoint {
    /// A store URL, `-`, or else a local path.
    pub fn parse(arg: &str) -> CliResult<Self> {
        if arg == "-" {
            Ok(Endpoint::Stdio)
        } else if has_scheme(arg) {
            BlobLocation::parse(arg).map(Endpoint::Blob)
        } else {
            Ok(Endpoint::File(PathBuf::from(arg)))
        }
    }
}

/// Whether `arg` starts with `scheme://`.
pub fn has_scheme(arg: &str) -> bool {
    arg.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// An `open` failure on a malformed URL is the user's to fix: exit 2.
fn open_error(err: storage::Error) -> CliError {
    match err.kind() {
        storage::ErrorKind::InvalidInput => CliError::usage(err.to_string()),
        _ => err.into(),
    }
}

/// Splits a URL into the store URL and the key (see the module docs).
pub fn split_url(arg: &str) -> CliResult<(String, String)> {
    let Some((scheme, rest)) = arg.split_once("://") else {
        return Err(CliError::usage(format!("`{arg}` is not a store URL")));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => Ok(("memory://".into(), rest.into())),
        "vercel" => Ok(("vercel://".into(), rest.into())),
        scheme @ ("azure" | "s3" | "gs") => Ok(match rest.split_once('/') {
            Some((bucket, key)) => (format!("{scheme}://{bucket}"), key.into()),
            None => (format!("{scheme}://{rest}"), String::new()),
        }),
        "file" => split_file(rest),
        other => Err(CliError::usage(format!(
            "unknown scheme `{other}://`; use file:///dir/key, memory://key, azure://container/key, \
             s3://bucket/key, gs://bucket/key or vercel://pathname"
        ))),
    }
}

fn split_file(rest: &str) -> CliResult<(String, String)> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(CliError::usage(
            "a file URL needs an absolute path: file:///srv/blobs/key (three slashes)",
        ));
    }
    let url = |root: &str, key: &str| (format!("file://{root}"), key.to_string());
    if let Some(i) = path[1..].find("//") {
        let root = &path[..i + 1];
        return Ok(url(root, &path[i + 3..]));
    }
    let mut candidate = path.trim_end_matches('/');
    while !candidate.is_empty() {
        if is_store_root(Path::new(candidate)) {
            let key = path[candidate.len()..].trim_start_matches('/');
            return Ok(url(candidate, key));
        }
        match candidate.rfind('/') {
            Some(i) => candidate = &candidate[..i],
            None => break,
        }
    }
    if path.ends_with('/') || path.len() <= 1 {
        return Ok(url(path.trim_end_matches('/'), ""));
    }
    let i = path.rfind('/').unwrap_or(0);
    let root = if i == 0 { "/" } else { &path[..i] };
    Ok(url(root, &path[i + 1..]))
}

/// A directory the local adapter has opened before.
fn is_store_root(dir: &Path) -> bool {
    dir.join("objects").is_dir() && dir.join("meta").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_by_scheme() {
        let cases = [
            ("memory://a/b", ("memory://", "a/b")),
            ("vercel://a/b", ("vercel://", "a/b")),
            ("azure://c/a/b", ("azure://c", "a/b")),
            ("azure://c", ("azure://c", "")),
            ("s3://b/a/b", ("s3://b", "a/b")),
            ("gs://b/a/b", ("gs://b", "a/b")),
            ("S3://b", ("s3://b", "")),
            ("file:///no/such/root//a/b", ("file:///no/such/root", "a/b")),
            ("file:///no/such/root/", ("file:///no/such/root", "")),
            ("file:///no/such/root/k", ("file:///no/such/root", "k")),
        ];
        for (arg, (store, key)) in cases {
            let (s, k) = split_url(arg).expect(arg);
            assert_eq!((s.as_str(), k.as_str()), (store, key), "{arg}");
        }
    }

    #[test]
    fn finds_an_existing_store_root_above_a_nested_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("objects")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("meta")).expect("mkdir");
        let root = dir.path().display().to_string();
        let (store, key) = split_url(&format!("file://{root}/a/b/c.txt")).expect("split");
        assert_eq!(store, format!("file://{root}"));
        assert_eq!(key, "a/b/c.txt");
    }

    #[test]
    fn refuses_relative_file_urls_and_unknown_schemes() {
        assert!(split_url("file://rel/x").is_err());
        assert!(split_url("ftp://b/k").is_err());
        assert!(has_scheme("memory://"));
        assert!(!has_scheme("./a://b"));
        assert!(!has_scheme("plain/key"));
    }
}
