//! The local filesystem adapter: blobs as plain files under one root.
//!
//! ```text
//! <root>/objects/<key>   the bytes, browsable by hand, with their properties
//!                        (content type, cache-control, content-disposition,
//!                        user metadata, etag) in the extended attribute
//!                        `user.blobstore`
//! <root>/meta/<key>      a JSON sidecar instead, where the filesystem refuses
//!                        such attributes, and in stores written before them
//! <root>/tmp/            uploads in progress
//! <root>/locks/          lock stripes for writers
//! ```
//!
//! What a user can rely on:
//! - **Writes are atomic.** Bytes stream into `tmp/`, get their properties
//!   attached, are flushed, then renamed into place (two fsyncs per write:
//!   the file and its folder); a crash, a killed process or a dropped future
//!   leaves the old blob or the new one, never part of one. An interrupted upload
//!   leaves a file in `tmp/` only; each writer holds a lock on its file, so
//!   files whose writer died are reclaimed when the store is next opened and
//!   by puts (at most once a minute per store), and a live writer's file is
//!   never touched (see the `temp` module).
//! - **Durability is a setting** ([`Fsync`], `LOCAL_STORAGE_FSYNC`):
//!   with `always` (the default) a write that returned is on disk, flushed
//!   with `fsync`, and survives a power cut; with `never` nothing is flushed,
//!   writes stay atomic but a machine crash may undo the last seconds of
//!   them. For caches, tests and scratch stores.
//! - **Metadata always matches the bytes**, even while another process
//!   writes: they are published by the same rename, and read from the same
//!   open file (see the `attached` and `sidecar` modules). A file changed in
//!   place by hand loses its recorded properties rather than keeping an etag
//!   that no longer describes it.
//! - **`PutMode::Create` and `IfMatch` are race-free between processes**:
//!   writers of one key serialise on an `flock`.
//! - **Keys cannot escape the root**: each key segment becomes one file name
//!   below `objects/` (the key rules forbid `.`, `..` and empty segments);
//!   segments longer than 255 bytes are split reversibly.
//! - **A name cannot be both a blob and a folder** (`a` and `a/b`): a
//!   filesystem cannot hold a file and a directory of one name, so the second
//!   write fails with `Unsupported`, and
//!   [`Capabilities::file_and_folder_same_name`] is false.
//! - **Listing pages cost what the page needs**: folders are merged in key
//!   order, those before the cursor are skipped, the walk stops one entry
//!   past the page, and only the blobs returned are opened (see the `walk`
//!   module). The names of each folder a page reaches are still read whole,
//!   so millions of blobs in one folder make every page read millions of
//!   names; spread them over folders (`2024/06/…`).
//! - **Nothing under the root is followed out of it**: every path is opened
//!   one component at a time relative to its parent folder, without
//!   following symbolic links. A link anywhere under the root (in place of a
//!   blob, a folder, a sidecar or one of the fixed folders) makes reads,
//!   writes, deletes, copies and listings that reach it fail with
//!   `Forbidden`, naming the link's path; replace it with a real file or
//!   folder. The root itself may be reached through links.
//! - **Damaged properties are an error, not a silent loss of metadata**:
//!   `head`, `get` and `list` name the file (attribute or sidecar) and the
//!   fix; a put over the key repairs them. A blob with none (placed by hand)
//!   gets derived properties.
//! - I/O errors name the path below the root they hit; permission errors say
//!   to check the permissions and ownership of the root (`LOCAL_STORAGE_PATH`).
//!   The adapter needs a Unix system (`openat`, `flock`).
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

mod attached;
mod beneath;
mod config;
mod durable;
mod folders;
mod fsops;
mod layout;
mod lock;
mod props;
mod range;
mod read;
mod remove;
mod sidecar;
pub mod sign;
mod temp;
mod walk;
mod write;

#[cfg(feature = "router")]
pub mod http;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use futures::StreamExt;
use storage_core::driver::Driver;
use storage_core::{
    Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, Error, GetOptions, ListOptions,
    ListPage, Provider, PutMode, PutOptions, Result, SignOptions, SignedRequest,
};

pub use config::{
    LocalConfig, BASE_URL_VAR, DEFAULT_BASE_URL, DEFAULT_ROOT, MIN_SIGNING_KEY_BYTES, PATH_VAR,
    SIGNING_KEY_VAR,
};
pub use durable::{Fsync, FSYNC_VAR};
pub use sign::{Grant, Refusal, Signer};

use fsops::blocking;
use layout::Layout;

/// A [`BlobStore`](storage_core::BlobStore) on the local filesystem.
#[derive(Clone)]
pub struct LocalStore {
    layout: Arc<Layout>,
    signer: Arc<Signer>,
}

impl LocalStore {
    /// Opens (creating if needed) a store at `config.root`, and removes the
    /// temporary files of writers that died. Fails with
    /// `InvalidConfig { var: "LOCAL_STORAGE_PATH" }` when the root cannot be
    /// created or is not a directory, and with `Forbidden` when one of its
    /// fixed folders is a symbolic link or cannot be accessed.
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
        let layout = Layout::new(root, config.fsync);
        beneath::prepare(&layout)?;
        temp::sweep(&layout);
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
        let (layout, key) = (self.layout.clone(), key.clone());
        let props = write::props_for(&key, &opts);
        let mode = opts.mode;
        if let Some(bytes) = body.as_bytes().cloned() {
            // The whole body is at hand: one trip to the blocking pool.
            return blocking(move || {
                write::precheck(&layout, &key, &mode)?;
                let new = write::spool_bytes(&layout, &key, &bytes, props)?;
                write::commit(&layout, &key, new, &mode)
            })
            .await;
        }
        if mode != PutMode::Overwrite {
            let (layout, key, mode) = (layout.clone(), key.clone(), mode.clone());
            blocking(move || write::precheck(&layout, &key, &mode)).await?;
        }
        let tmp = write::spool(&layout, &key, body).await?;
        blocking(move || {
            let new = write::finish(&layout, tmp, props, &key)?;
            write::commit(&layout, &key, new, &mode)
        })
        .await
    }

    async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let (meta, range, contents) = {
            let (layout, key, range) = (self.layout.clone(), key.clone(), opts.range);
            blocking(move || range::open_range(&layout, &key, range)).await?
        };
        opts.check_conditions(&meta.etag)?;
        let body = match contents {
            range::Contents::Inline(bytes) if bytes.is_empty() => futures::stream::empty().boxed(),
            range::Contents::Inline(bytes) => {
                futures::stream::once(async move { Ok(bytes) }).boxed()
            }
            range::Contents::File(file, rel) => {
                let file = Arc::new(file);
                let body = range::stream_file(file.clone(), range.clone(), key, rel.clone());
                let whole = range::read_whole(file, range.clone(), key.clone(), rel);
                return Ok(Blob::new(meta, range, body).with_whole_read(whole));
            }
        };
        Ok(Blob::new(meta, range, body))
    }

    async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
        let (layout, key) = (self.layout.clone(), key.clone());
        blocking(move || read::open(&layout, &key).map(|o| o.meta)).await
    }

    async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
        let (layout, key) = (self.layout.clone(), key.clone());
        blocking(move || remove::delete(&layout, &key)).await
    }

    async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
        let layout = self.layout.clone();
        blocking(move || walk::list(&layout, &opts)).await
    }

    async fn copy_blob(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        let layout = self.layout.clone();
        let (src, dst, mode) = (from.clone(), to.clone(), opts.mode);
        blocking(move || {
            let new = write::spool_copy(&layout, &src, &dst, &mode)?;
            write::commit(&layout, &dst, new, &mode)
        })
        .await
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
