//! Blob contents and metadata, in memory or in a directory.
//!
//! Bodies are first *staged* (streamed into memory or a temporary file while
//! being hashed and size-checked) and only then *committed* under the index
//! lock, so the overwrite and `ifMatch` rules are checked atomically and a
//! half-received body is never visible. On disk every write goes to a
//! temporary file in `<dir>/tmp` and is renamed into place.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::pathname::Access;

/// Where blobs live.
#[derive(Debug, Clone, Default)]
pub enum StorageConfig {
    /// Everything in memory, gone at shutdown.
    #[default]
    InMemory,
    /// Contents and metadata under this directory, kept across restarts.
    Directory(PathBuf),
}

/// What the emulator knows about a stored blob.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlobMeta {
    /// The blob's pathname (its key).
    pub pathname: String,
    /// Public or private.
    pub access: Access,
    /// Content type served on reads.
    pub content_type: String,
    /// `max-age` of the served `cache-control`.
    pub cache_control_max_age: u64,
    /// Size in bytes.
    pub size: u64,
    /// Quoted entity tag.
    pub etag: String,
    /// Upload time, milliseconds since the Unix epoch.
    pub uploaded_at_ms: u64,
}

impl BlobMeta {
    /// Upload time as a `SystemTime`.
    pub fn uploaded_at(&self) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_millis(self.uploaded_at_ms)
    }
}

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    /// Held in memory.
    Memory(Bytes),
    /// A file on disk; replaced by rename, so an open handle stays valid.
    File(PathBuf),
}

#[derive(Debug)]
enum StagedData {
    Memory(Bytes),
    File(tempfile::TempPath),
}

/// A fully received, hashed body that is not yet visible to readers.
#[derive(Debug)]
pub struct Staged {
    data: StagedData,
    /// Size in bytes.
    pub size: u64,
    /// Quoted entity tag of the content.
    pub etag: String,
}

/// What a commit is about to replace, offered to the caller's rule check.
pub type Existing<'a> = Option<&'a BlobMeta>;

/// The blob store.
#[derive(Debug)]
pub struct Storage {
    dir: Option<PathBuf>,
    index: tokio::sync::Mutex<BTreeMap<String, (BlobMeta, Content)>>,
}

fn etag_of(hasher: Sha256) -> String {
    let digest = hex::encode(hasher.finalize());
    format!("\"{}\"", &digest[..32])
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn key_file(dir: &Path, pathname: &str) -> PathBuf {
    let name = hex::encode(Sha256::digest(pathname.as_bytes()));
    dir.join("blobs").join(name)
}

impl Storage {
    /// Opens the store, loading an existing directory's index.
    pub fn open(config: &StorageConfig) -> std::io::Result<Self> {
        let mut index = BTreeMap::new();
        let dir = match config {
            StorageConfig::InMemory => None,
            StorageConfig::Directory(dir) => {
                std::fs::create_dir_all(dir.join("blobs"))?;
                std::fs::create_dir_all(dir.join("tmp"))?;
                for entry in std::fs::read_dir(dir.join("blobs"))? {
                    let path = entry?.path();
                    if path.extension().and_then(|e| e.to_str()) != Some("json") {
                        continue;
                    }
                    // A sidecar that cannot be read is skipped, not fatal: one
                    // damaged blob must not take the whole store down.
                    let Ok(raw) = std::fs::read(&path) else {
                        continue;
                    };
                    let Ok(meta) = serde_json::from_slice::<BlobMeta>(&raw) else {
                        tracing::warn!(path = %path.display(), "skipping unreadable blob metadata");
                        continue;
                    };
                    let data = path.with_extension("bin");
                    if data.is_file() {
                        index.insert(meta.pathname.clone(), (meta, Content::File(data)));
                    }
                }
                Some(dir.clone())
            }
        };
        Ok(Self {
            dir,
            index: tokio::sync::Mutex::new(index),
        })
    }

    /// Receives a body, refusing it with `too_large` once it passes `limit`.
    pub async fn stage<S, E>(
        &self,
        mut body: S,
        limit: u64,
        too_large: ApiError,
    ) -> ApiResult<Staged>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        match &self.dir {
            None => {
                let mut buf = BytesMut::new();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk
                        .map_err(|e| ApiError::bad_request(format!("failed to read body: {e}")))?;
                    size += chunk.len() as u64;
                    if size > limit {
                        return Err(too_large);
                    }
                    hasher.update(&chunk);
                    buf.extend_from_slice(&chunk);
                }
                Ok(Staged {
                    data: StagedData::Memory(buf.freeze()),
                    size,
                    etag: etag_of(hasher),
                })
            }
            Some(dir) => {
                let temp = tempfile::NamedTempFile::new_in(dir.join("tmp"))?;
                let (std_file, path) = temp.into_parts();
                let mut file = tokio::fs::File::from_std(std_file);
                while let Some(chunk) = body.next().await {
                    let chunk = chunk
                        .map_err(|e| ApiError::bad_request(format!("failed to read body: {e}")))?;
                    size += chunk.len() as u64;
                    if size > limit {
                        return Err(too_large);
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk).await?;
                }
                file.flush().await?;
                file.sync_all().await?;
                Ok(Staged {
                    data: StagedData::File(path),
                    size,
                    etag: etag_of(hasher),
                })
            }
        }
    }

    /// Joins multipart parts, in the given order, into one staged body.
    pub async fn concat(&self, parts: &[Arc<Staged>]) -> ApiResult<Staged> {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        match &self.dir {
            None => {
                let mut buf = BytesMut::new();
                for part in parts {
                    if let StagedData::Memory(bytes) = &part.data {
                        hasher.update(bytes);
                        buf.extend_from_slice(bytes);
                        size += bytes.len() as u64;
                    }
                }
                Ok(Staged {
                    data: StagedData::Memory(buf.freeze()),
                    size,
                    etag: etag_of(hasher),
                })
            }
            Some(dir) => {
                let temp = tempfile::NamedTempFile::new_in(dir.join("tmp"))?;
                let (std_file, path) = temp.into_parts();
                let mut out = tokio::fs::File::from_std(std_file);
                for part in parts {
                    if let StagedData::File(p) = &part.data {
                        let mut input = tokio::fs::File::open(p).await?;
                        let mut buf = vec![0u8; 256 * 1024];
                        loop {
                            let n = tokio::io::AsyncReadExt::read(&mut input, &mut buf).await?;
                            if n == 0 {
                                break;
                            }
                            hasher.update(&buf[..n]);
                            out.write_all(&buf[..n]).await?;
                            size += n as u64;
                        }
                    }
                }
                out.flush().await?;
                out.sync_all().await?;
                Ok(Staged {
                    data: StagedData::File(path),
                    size,
                    etag: etag_of(hasher),
                })
            }
        }
    }

    /// Looks a blob up.
    pub async fn get(&self, pathname: &str) -> Option<(BlobMeta, Content)> {
        self.index.lock().await.get(pathname).cloned()
    }

    /// A snapshot of every blob's metadata, sorted by pathname.
    pub async fn list(&self) -> Vec<BlobMeta> {
        self.index
            .lock()
            .await
            .values()
            .map(|(m, _)| m.clone())
            .collect()
    }

    fn write_meta(dir: &Path, meta: &BlobMeta) -> std::io::Result<()> {
        let target = key_file(dir, &meta.pathname).with_extension("json");
        let mut temp = tempfile::NamedTempFile::new_in(dir.join("tmp"))?;
        let raw = serde_json::to_vec(meta).map_err(std::io::Error::other)?;
        temp.write_all(&raw)?;
        temp.as_file().sync_all()?;
        temp.persist(target).map_err(|e| e.error)?;
        Ok(())
    }

    /// Makes a staged body visible as `meta.pathname`, after `check` accepted
    /// whatever blob currently has that pathname.
    pub async fn commit(
        &self,
        mut meta: BlobMeta,
        staged: Staged,
        check: impl FnOnce(Existing<'_>) -> ApiResult<()>,
    ) -> ApiResult<BlobMeta> {
        let mut index = self.index.lock().await;
        check(index.get(&meta.pathname).map(|(m, _)| m))?;
        meta.size = staged.size;
        meta.etag = staged.etag;
        let content = match (staged.data, &self.dir) {
            (StagedData::Memory(bytes), _) => Content::Memory(bytes),
            (StagedData::File(temp), Some(dir)) => {
                let target = key_file(dir, &meta.pathname).with_extension("bin");
                temp.persist(&target).map_err(|e| ApiError::from(e.error))?;
                Self::write_meta(dir, &meta)?;
                Content::File(target)
            }
            (StagedData::File(_), None) => {
                return Err(ApiError::internal(
                    "file staged without a storage directory",
                ))
            }
        };
        index.insert(meta.pathname.clone(), (meta.clone(), content));
        Ok(meta)
    }

    /// Copies (or, with `remove_source`, moves) a blob to `meta.pathname`.
    pub async fn copy(
        &self,
        from: &str,
        mut meta: BlobMeta,
        remove_source: bool,
        check: impl FnOnce(Existing<'_>) -> ApiResult<()>,
    ) -> ApiResult<BlobMeta> {
        let mut index = self.index.lock().await;
        let (source, content) = index.get(from).cloned().ok_or_else(ApiError::not_found)?;
        check(index.get(&meta.pathname).map(|(m, _)| m))?;
        meta.size = source.size;
        meta.etag = source.etag.clone();
        let new_content = match (&content, &self.dir) {
            (Content::Memory(bytes), _) => Content::Memory(bytes.clone()),
            (Content::File(src), Some(dir)) => {
                let target = key_file(dir, &meta.pathname).with_extension("bin");
                if from != meta.pathname {
                    let temp = tempfile::NamedTempFile::new_in(dir.join("tmp"))?;
                    let temp_path = temp.into_temp_path();
                    std::fs::copy(src, &temp_path)?;
                    temp_path
                        .persist(&target)
                        .map_err(|e| ApiError::from(e.error))?;
                }
                Self::write_meta(dir, &meta)?;
                Content::File(target)
            }
            (Content::File(_), None) => {
                return Err(ApiError::internal(
                    "file content without a storage directory",
                ))
            }
        };
        if remove_source && from != meta.pathname {
            index.remove(from);
            if let Some(dir) = &self.dir {
                Self::remove_files(dir, from);
            }
        }
        index.insert(meta.pathname.clone(), (meta.clone(), new_content));
        Ok(meta)
    }

    fn remove_files(dir: &Path, pathname: &str) {
        let base = key_file(dir, pathname);
        for ext in ["json", "bin"] {
            if let Err(err) = std::fs::remove_file(base.with_extension(ext)) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(%err, "failed to remove blob file");
                }
            }
        }
    }

    /// Deletes a blob if `check` accepts it; deleting a missing blob is not an error.
    pub async fn delete(
        &self,
        pathname: &str,
        check: impl FnOnce(Existing<'_>) -> ApiResult<()>,
    ) -> ApiResult<()> {
        let mut index = self.index.lock().await;
        check(index.get(pathname).map(|(m, _)| m))?;
        if index.remove(pathname).is_some() {
            if let Some(dir) = &self.dir {
                // Metadata first: a crash in between leaves an orphan data file,
                // never a listed blob without contents.
                Self::remove_files(dir, pathname);
            }
        }
        Ok(())
    }
}
