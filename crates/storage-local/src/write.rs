//! Writing a blob: stream to a temporary file, then commit under the key's lock.
//!
//! The commit checks the write mode against the current version, writes the
//! sidecar, renames the data into place and flushes both directories. A crash
//! or a dropped future at any point leaves the old blob or the new one, never
//! a partial file: until the rename, the new bytes exist only in `tmp/`.

use futures::StreamExt;
use rustix::fs::FileType;
use storage_core::{
    BlobKey, BlobMeta, Body, Error, ErrorKind, Provider, PutMode, PutOptions, Result,
};
use tokio::io::AsyncWriteExt;

use crate::beneath::{create_parent, walk};
use crate::durable::Fsync;
use crate::fsops::{blocking, folder_conflict, io_error};
use crate::layout::{relative, Layout, META, OBJECTS};
use crate::lock::KeyLock;
use crate::read;
use crate::sidecar::{Identity, Loaded, Props, Sidecar};
use crate::temp::{sweep_if_due, TempFile};

/// Streams `body` to a temporary file, flushed to disk.
pub(crate) async fn spool(layout: &Layout, key: &BlobKey, body: Body) -> Result<TempFile> {
    let tmp = {
        let (layout, key) = (layout.clone(), key.clone());
        blocking(move || {
            sweep_if_due(&layout);
            TempFile::create(&layout, "put", key.as_str())
        })
        .await?
    };
    let k = key.as_str();
    let failed = |e, doing| io_error(e, &tmp.rel(), k, doing);
    // A second descriptor of the same open file: the lock stays with `tmp`.
    let clone = tmp
        .file()
        .try_clone()
        .map_err(|e| failed(e, "opening the temporary file"))?;
    let mut file = tokio::fs::File::from_std(clone);
    let mut stream = body.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.with_provider(Provider::Local).with_key(k))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| failed(e, "writing the temporary file"))?;
    }
    file.flush()
        .await
        .map_err(|e| failed(e, "writing the temporary file"))?;
    if layout.fsync == Fsync::Always {
        file.sync_all()
            .await
            .map_err(|e| failed(e, "flushing the temporary file"))?;
    }
    Ok(tmp)
}

/// Copies `src`'s bytes to a temporary file for `dst`, after checking that
/// `mode` can hold; returns it with `src`'s properties.
pub(crate) fn spool_copy(
    layout: &Layout,
    src: &BlobKey,
    dst: &BlobKey,
    mode: &PutMode,
) -> Result<(TempFile, Props)> {
    let mut opened = read::open(layout, src)?;
    precheck(layout, dst, mode)?;
    sweep_if_due(layout);
    let tmp = TempFile::create(layout, "copy", dst.as_str())?;
    let mut out = tmp.file();
    std::io::copy(&mut opened.file, &mut out)
        .and_then(|_| layout.fsync.file(out))
        .map_err(|e| io_error(e, &tmp.rel(), dst.as_str(), "copying the bytes"))?;
    Ok((tmp, opened.props))
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
    let rel = relative(k);
    let _lock = KeyLock::acquire(layout, k)?;

    let current = match walk(layout, OBJECTS, &rel, k)? {
        None => None,
        Some(parent) => match parent.dir().stat(&parent.name, k)? {
            None => None,
            Some(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Some(Identity::of(&stat)),
                // A folder left empty by an interrupted delete is no blob;
                // any other folder here holds blobs below this key.
                FileType::Directory => match parent
                    .dir()
                    .unlink(&parent.name, rustix::fs::AtFlags::REMOVEDIR)
                {
                    Ok(()) => None,
                    Err(_) => return Err(folder_conflict(k)),
                },
                _ => None,
            },
        },
    };
    let sidecar = match Sidecar::load(layout, key)? {
        Loaded::Intact(sidecar) => Some(sidecar),
        // Only an IfMatch needs the current etag, which a damaged sidecar
        // no longer holds; any other write replaces the damaged file.
        Loaded::Damaged(err) if matches!(mode, PutMode::IfMatch(_)) && current.is_some() => {
            return Err(err)
        }
        Loaded::Damaged(_) => None,
    };
    let current = current.map(|id| {
        let props = sidecar
            .as_ref()
            .and_then(|s| s.find(id))
            .cloned()
            .unwrap_or_else(|| Props::derived(key, id));
        (id, props)
    });
    check_mode(key, mode, current.as_ref().map(|(_, p)| p))?;

    let stat = rustix::fs::fstat(data.file())
        .map_err(|e| io_error(e.into(), &data.rel(), k, "reading the new version"))?;
    let identity = Identity::of(&stat);
    // The replaced version keeps its entry so readers still holding its
    // file find their properties; a damaged sidecar had none to keep, and
    // such readers retry onto the new version.
    let replaced = if sidecar.is_some() { current } else { None };
    let next = Sidecar::successor(replaced, (identity, props.clone()));
    let sidecar_tmp = TempFile::create(layout, "meta", k)?;
    next.write_to(&sidecar_tmp, layout.fsync, k)?;
    // Finds a blob-and-folder conflict before the sidecar is replaced.
    create_parent(layout, OBJECTS, &rel, k)?;
    let meta_parent = sidecar_tmp.rename_to(layout, META, k)?;
    let object_parent = data.rename_to(layout, OBJECTS, k)?;
    layout.fsync.dir(meta_parent.dir());
    layout.fsync.dir(object_parent.dir());
    Ok(props.into_meta(key, identity))
}
