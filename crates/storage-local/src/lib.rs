//! The local filesystem adapter: blobs as plain files under one root.
//!
//! ```text
//! <root>/objects/<key>   the bytes, browsable by hand
//! <root>/meta/<key>      a JSON sidecar: content type, cache-control,
//!                        content-disposition, user metadata, etag
//! <root>/tmp/            uploads in progress
//! <root>/locks/          lock stripes for writers
//! ```
//!
//! What a user can rely on:
//! - **Writes are atomic.** Bytes stream into `tmp/`, are flushed, then
//!   renamed into place; a crash, a killed process or a dropped future leaves
//!   the old blob or the new one, never part of one. Interrupted uploads leave
//!   files in `tmp/` only, swept when a store older than an hour is opened.
//! - **Metadata always matches the bytes**, even while another process
//!   writes (see the `sidecar` module).
//! - **`PutMode::Create` and `IfMatch` are race-free between processes**:
//!   writers of one key serialise on an `flock`.
//! - **Keys cannot escape the root**: each key segment becomes one file name
//!   below `objects/` (the key rules forbid `.`, `..` and empty segments);
//!   segments longer than 255 bytes are split reversibly.
//! - **A name cannot be both a blob and a folder** (`a` and `a/b`): a
//!   filesystem cannot hold a file and a directory of one name, so the second
//!   write fails with `Unsupported`, and
//!   [`Capabilities::file_and_folder_same_name`] is false.
//! - Listing walks the prefix's folder on every page: right for development
//!   stores, slow for millions of blobs.
//! - The root is trusted: symlinks someone places inside it are followed.
//! - **Signed URLs** (see [`sign`]) are HMAC-SHA256 over method, key, expiry
//!   and constraints, keyed by `LOCAL_STORAGE_SIGNING_KEY`, rooted at
//!   `LOCAL_STORAGE_BASE_URL` (default `/blobs`). The [`http`] module's
//!   router serves them; mount it where the base URL points.
//!
//! ```
//! use storage_core::{BlobStoreExt, PutOptions};
//! use storage_local::{LocalConfig, LocalStore};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = LocalStore::new(LocalConfig::new(dir.path()))?;
//! store.put_bytes_with("notes/today.md", "# hi", PutOptions::new().metadata("author", "ada")).await?;
//! assert_eq!(store.get_bytes("notes/today.md").await?, "# hi");
//! assert!(dir.path().join("objects/notes/today.md").is_file());
//! # Ok(()) }
//! ```

mod config;
mod fsops;
mod layout;
mod lock;
mod read;
mod sidecar;
pub mod sign;
mod walk;
mod write;

#[cfg(feature = "router")]
pub mod http;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::StreamExt;
use storage_core::driver::Driver;
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, Error, GetOptions, ListOptions,
    ListPage, Provider, PutOptions, Result, SignOptions, SignedRequest,
};

pub use config::{
    LocalConfig, BASE_URL_VAR, DEFAULT_BASE_URL, DEFAULT_ROOT, MIN_SIGNING_KEY_BYTES, PATH_VAR,
    SIGNING_KEY_VAR,
};
pub use sign::{Grant, Refusal, Signer};

use fsops::{blocking, io_error, is_absent, prune_empty_parents, sync_dir};
use layout::Layout;

/// Temporary files older than this are left over from crashed uploads.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// A [`BlobStore`](storage_core::BlobStore) on the local filesystem.
#[derive(Clone)]
pub struct LocalStore {
    layout: Arc<Layout>,
    signer: Arc<Signer>,
}

impl LocalStore {
    /// Opens (creating if needed) a store at `config.root`. Fails with
    /// `InvalidConfig { var: "LOCAL_STORAGE_PATH" }` when the root cannot be
    /// created or is not a directory.
    pub fn new(config: LocalConfig) -> Result<Self> {
        let bad_root = |e: std::io::Error| {
            Error::config(
                PATH_VAR,
                format!(
                    "cannot use `{}` as the local store's root ({e}); point {PATH_VAR} at a \
                     writable directory",
                    config.root.display()
                ),
            )
        };
        create_private_dir(&config.root).map_err(bad_root)?;
        let root = config.root.canonicalize().map_err(bad_root)?;
        let layout = Layout::new(root);
        for dir in [&layout.objects, &layout.meta, &layout.tmp, &layout.locks] {
            std::fs::create_dir_all(dir).map_err(bad_root)?;
        }
        sweep_stale_temps(&layout.tmp);
        let signer = Signer::new(config.signing_key.as_ref(), &config.base_url)?;
        Ok(LocalStore {
            layout: Arc::new(layout),
            signer: Arc::new(signer),
        })
    }

    /// The store's root directory (absolute).
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// The signer behind [`BlobStore::signed_url`](storage_core::BlobStore::signed_url), which the router uses to
    /// verify requests.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Where the bytes of `key` live on disk.
    pub fn path_of(&self, key: &BlobKey) -> std::path::PathBuf {
        self.layout.object(key.as_str())
    }
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

fn sweep_stale_temps(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_TEMP);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[async_trait]
impl Driver for LocalStore {
    fn provider(&self) -> Provider {
        Provider::Local
    }

    fn supports(&self) -> Capabilities {
        let mut caps = Capabilities::all();
        caps.file_and_folder_same_name = false;
        caps
    }

    async fn write_blob(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let layout = (*self.layout).clone();
        {
            let (layout, key, mode) = (layout.clone(), key.clone(), opts.mode.clone());
            blocking(move || write::precheck(&layout, &key, &mode)).await?;
        }
        let data = write::spool(&layout, key, body).await?;
        let props = write::props_for(key, &opts);
        write::commit(layout, key.clone(), data, props, opts.mode).await
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let (meta, range, contents) = {
            let (layout, key, range) = (self.layout.clone(), key.clone(), opts.range);
            blocking(move || read::open_range(&layout, &key, range)).await?
        };
        opts.check_conditions(&meta.etag)?;
        let body = match contents {
            read::Contents::Inline(bytes) if bytes.is_empty() => futures::stream::empty().boxed(),
            read::Contents::Inline(bytes) => {
                futures::stream::once(async move { Ok(bytes) }).boxed()
            }
            read::Contents::File(file) => read::stream_file(file, range.end - range.start, key),
        };
        Ok(Blob::new(meta, range, body))
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        let (layout, key) = (self.layout.clone(), key.clone());
        blocking(move || read::open(&layout, &key).map(|o| o.meta)).await
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        let (layout, key) = (self.layout.clone(), key.clone());
        blocking(move || {
            let k = key.as_str();
            let _lock = lock::KeyLock::acquire(&layout.lock(k))
                .map_err(|e| io_error(e, k, "taking the key's write lock"))?;
            let object = layout.object(k);
            match std::fs::symlink_metadata(&object) {
                Ok(stat) if stat.is_dir() => return Ok(()),
                Ok(_) => match std::fs::remove_file(&object) {
                    Ok(()) => {}
                    Err(e) if is_absent(&e) => {}
                    Err(e) => return Err(io_error(e, k, "deleting the blob")),
                },
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(io_error(e, k, "deleting the blob")),
            }
            let sidecar = layout.sidecar(k);
            let _ = std::fs::remove_file(&sidecar);
            if let Some(dir) = object.parent() {
                sync_dir(dir);
            }
            prune_empty_parents(&object, &layout.objects);
            prune_empty_parents(&sidecar, &layout.meta);
            Ok(())
        })
        .await
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        let layout = self.layout.clone();
        blocking(move || walk::list(&layout, &opts)).await
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        let layout = (*self.layout).clone();
        let (src, dst, mode) = (from.clone(), to.clone(), opts.mode.clone());
        let (data, mut props) = blocking(move || {
            let opened = read::open(&layout, &src)?;
            write::precheck(&layout, &dst, &mode)?;
            let tmp = fsops::TempFile::new(layout.temp("copy"));
            let mut out = std::fs::File::create(tmp.path())
                .map_err(|e| io_error(e, dst.as_str(), "creating the temporary file"))?;
            let mut source = opened.file;
            std::io::copy(&mut source, &mut out)
                .and_then(|_| out.sync_all())
                .map_err(|e| io_error(e, dst.as_str(), "copying the bytes"))?;
            Ok((tmp, opened.props))
        })
        .await?;
        props.etag = sidecar::Props::new_etag();
        write::commit((*self.layout).clone(), to.clone(), data, props, opts.mode).await
    }

    async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        self.signer.sign(key, &opts, SystemTime::now())
    }
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.layout.root)
            .finish()
    }
}
