//! Writing a blob: stream to a temporary file, then commit under the key's lock.
//!
//! The commit checks the write mode against the current version, writes the
//! sidecar, renames the data into place and flushes both directories. A crash
//! or a dropped future at any point leaves the old blob or the new one, never
//! a partial file: until the rename, the new bytes exist only in `tmp/`.

use futures::StreamExt;
use storage_core::{
    BlobKey, BlobMeta, Body, Error, ErrorKind, Provider, PutMode, PutOptions, Result,
};
use tokio::io::AsyncWriteExt;

use crate::fsops::{blocking, folder_conflict, io_error, is_absent, sync_dir, TempFile};
use crate::layout::Layout;
use crate::lock::KeyLock;
use crate::read;
use crate::sidecar::{Identity, Props, Sidecar};

/// Streams `body` to a temporary file, flushed to disk.
pub(crate) async fn spool(layout: &Layout, key: &BlobKey, body: Body) -> Result<TempFile> {
    let tmp = TempFile::new(layout.temp("put"));
    let mut file = tokio::fs::File::create(tmp.path())
        .await
        .map_err(|e| io_error(e, key.as_str(), "creating the temporary file"))?;
    let mut stream = body.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.with_provider(Provider::Local).with_key(key.as_str()))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error(e, key.as_str(), "writing the temporary file"))?;
    }
    file.flush()
        .await
        .map_err(|e| io_error(e, key.as_str(), "writing the temporary file"))?;
    file.sync_all()
        .await
        .map_err(|e| io_error(e, key.as_str(), "flushing the temporary file"))?;
    Ok(tmp)
}

/// Fails early, before a body is read, when the mode already cannot hold.
/// The commit checks again under the lock; this only saves a wasted upload.
pub(crate) fn precheck(layout: &Layout, key: &BlobKey, mode: &PutMode) -> Result<()> {
    if *mode == PutMode::Overwrite {
        return Ok(());
    }
    let current = match read::open(layout, key) {
        Ok(opened) => Some(opened.props),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    check_mode(key, mode, current.as_ref())
}

pub(crate) fn check_mode(key: &BlobKey, mode: &PutMode, current: Option<&Props>) -> Result<()> {
    match (mode, current) {
        (PutMode::Overwrite, _) | (PutMode::Create, None) => Ok(()),
        (PutMode::Create, Some(_)) => Err(Error::new(ErrorKind::AlreadyExists, Provider::Local)
            .with_key(key.as_str())
            .with_message("PutMode::Create refuses to replace an existing blob")),
        (PutMode::IfMatch(etag), Some(p)) if &p.etag == etag => Ok(()),
        (PutMode::IfMatch(etag), _) => {
            Err(Error::new(ErrorKind::PreconditionFailed, Provider::Local)
                .with_key(key.as_str())
                .with_message(format!("the blob's etag is not {etag}")))
        }
    }
}

/// Properties of a new version written with `opts`.
pub(crate) fn props_for(key: &BlobKey, opts: &PutOptions) -> Props {
    Props {
        etag: Props::new_etag(),
        content_type: opts.content_type_for(key),
        cache_control: opts.cache_control.clone(),
        content_disposition: opts.content_disposition.clone(),
        metadata: opts.metadata.clone(),
    }
}

/// Makes the spooled file the blob under `key`, if `mode` still holds.
pub(crate) async fn commit(
    layout: Layout,
    key: BlobKey,
    data: TempFile,
    props: Props,
    mode: PutMode,
) -> Result<BlobMeta> {
    blocking(move || commit_blocking(&layout, &key, data, props, &mode)).await
}

fn commit_blocking(
    layout: &Layout,
    key: &BlobKey,
    data: TempFile,
    props: Props,
    mode: &PutMode,
) -> Result<BlobMeta> {
    let k = key.as_str();
    let object = layout.object(k);
    let sidecar_path = layout.sidecar(k);
    let _lock = KeyLock::acquire(&layout.lock(k))
        .map_err(|e| io_error(e, k, "taking the key's write lock"))?;

    let current = match std::fs::symlink_metadata(&object) {
        Ok(stat) if stat.is_file() => Some(Identity::of(&stat)),
        // A folder left empty by an interrupted delete is no blob; any other
        // folder here holds blobs below this key.
        Ok(stat) if stat.is_dir() => match std::fs::remove_dir(&object) {
            Ok(()) => None,
            Err(_) => return Err(folder_conflict(k)),
        },
        Ok(_) => None,
        Err(e) if is_absent(&e) => None,
        Err(e) => return Err(io_error(e, k, "reading the current version")),
    };
    let sidecar = Sidecar::read(&sidecar_path);
    let current = current.map(|id| {
        let props = sidecar
            .find(id)
            .cloned()
            .unwrap_or_else(|| Props::derived(key, id));
        (id, props)
    });
    check_mode(key, mode, current.as_ref().map(|(_, p)| p))?;

    let stat =
        std::fs::metadata(data.path()).map_err(|e| io_error(e, k, "reading the new version"))?;
    let identity = Identity::of(&stat);
    let next = sidecar.successor(current, (identity, props.clone()));
    let sidecar_tmp = TempFile::new(layout.temp("meta"));
    next.write_to(sidecar_tmp.path())
        .map_err(|e| io_error(e, k, "writing the sidecar"))?;
    crate::fsops::ensure_parent(&object, k)?;
    sidecar_tmp.rename_to(&sidecar_path, k)?;
    data.rename_to(&object, k)?;
    for path in [&sidecar_path, &object] {
        if let Some(dir) = path.parent() {
            sync_dir(dir);
        }
    }
    Ok(props.into_meta(key, identity))
}
