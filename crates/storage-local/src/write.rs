//! Writing a blob: spool to a temporary file, then commit under the key's lock.
//!
//! The bytes go to a file in `tmp/`, the version's properties are attached
//! to that file (see `attached`), and it is flushed. The commit then checks
//! the write mode against the current version, renames the file into place
//! and flushes the folder that gained the name: two fsyncs, as for any
//! atomic file write, and the rename publishes bytes and properties at once.
//! A crash or a dropped future at any point leaves the old blob or the new
//! one, never a partial file: until the rename, the new bytes exist only in
//! `tmp/`.
//!
//! Where the filesystem refuses the attribute, the commit writes a sidecar
//! (see `sidecar`) and flushes it before the data is renamed, so no crash
//! can keep new bytes and lose the sidecar entry that describes them.

use std::io::Write;

use futures::StreamExt;
use rustix::fs::{AtFlags, FileType};
use storage_core::{
    BlobKey, BlobMeta, Body, Error, ErrorKind, Provider, PutMode, PutOptions, Result,
};

use crate::attached;
use crate::beneath::{create_parent, walk, Parent};
use crate::fsops::{blocking, folder_conflict, io_error};
use crate::layout::{relative, Layout, META, OBJECTS};
use crate::lock::KeyLock;
use crate::props::{Identity, Props};
use crate::read;
use crate::sidecar::{Loaded, Sidecar};
use crate::temp::{sweep_if_due, TempFile};

/// A new version, flushed in `tmp/`, ready to be committed.
pub(crate) struct Spooled {
    tmp: TempFile,
    identity: Identity,
    props: Props,
    /// Whether `props` are attached to the file; if not, the commit writes
    /// them to a sidecar.
    attached: bool,
}

/// Spools a body that is already in memory, in the caller's thread.
pub(crate) fn spool_bytes(
    layout: &Layout,
    key: &BlobKey,
    bytes: &[u8],
    props: Props,
) -> Result<Spooled> {
    let tmp = create_temp(layout, "put", key)?;
    tmp.file()
        .write_all(bytes)
        .map_err(|e| io_error(e, &tmp.rel(), key.as_str(), "writing the temporary file"))?;
    finish(layout, tmp, props, key)
}

/// Streams `body` to a temporary file; [`finish`] it before committing.
///
/// Each chunk is written by the blocking pool while the next one is
/// received, so a slow sender and a slow disk overlap instead of adding up.
pub(crate) async fn spool(layout: &Layout, key: &BlobKey, body: Body) -> Result<TempFile> {
    let tmp = {
        let (layout, key) = (layout.clone(), key.clone());
        blocking(move || create_temp(&layout, "put", &key)).await?
    };
    let mut writer = Writer::Idle(tmp);
    let mut stream = body.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.with_provider(Provider::Local).with_key(key.as_str()))?;
        writer = Writer::write(writer.idle(key).await?, chunk);
    }
    writer.idle(key).await
}

/// The temporary file of a streamed upload, with a write in flight or not.
enum Writer {
    Idle(TempFile),
    /// Dropping the handle (an abandoned upload) lets the write finish and
    /// then drops the file, which removes it.
    Busy(tokio::task::JoinHandle<(TempFile, std::io::Result<()>)>),
}

impl Writer {
    /// Waits for the write in flight, if any.
    async fn idle(self, key: &BlobKey) -> Result<TempFile> {
        let handle = match self {
            Writer::Idle(tmp) => return Ok(tmp),
            Writer::Busy(handle) => handle,
        };
        let (tmp, written) = handle.await.map_err(|e| {
            Error::new(ErrorKind::Backend, Provider::Local)
                .with_message("a filesystem task failed to complete")
                .with_source(e)
        })?;
        written.map_err(|e| io_error(e, &tmp.rel(), key.as_str(), "writing the temporary file"))?;
        Ok(tmp)
    }

    fn write(tmp: TempFile, chunk: bytes::Bytes) -> Writer {
        Writer::Busy(tokio::task::spawn_blocking(move || {
            let written = tmp.file().write_all(&chunk);
            (tmp, written)
        }))
    }
}

fn create_temp(layout: &Layout, what: &str, key: &BlobKey) -> Result<TempFile> {
    sweep_if_due(layout);
    TempFile::create(layout, what, key.as_str())
}

/// Attaches `props` to the spooled file and flushes it.
pub(crate) fn finish(
    layout: &Layout,
    tmp: TempFile,
    props: Props,
    key: &BlobKey,
) -> Result<Spooled> {
    let failed = |e, doing| io_error(e, &tmp.rel(), key.as_str(), doing);
    let stat =
        rustix::fs::fstat(tmp.file()).map_err(|e| failed(e.into(), "reading the new version"))?;
    let identity = Identity::of(&stat);
    let attached = attached::attach(tmp.file(), identity, &props, key)
        .map_err(|e| failed(e, "storing the blob's properties"))?;
    layout
        .fsync
        .file(tmp.file())
        .map_err(|e| failed(e, "flushing the temporary file"))?;
    Ok(Spooled {
        tmp,
        identity,
        props,
        attached,
    })
}

/// Copies `src`'s bytes and properties (with a new etag) to a temporary
/// file for `dst`, after checking that `mode` can hold.
pub(crate) fn spool_copy(
    layout: &Layout,
    src: &BlobKey,
    dst: &BlobKey,
    mode: &PutMode,
) -> Result<Spooled> {
    let mut opened = read::open(layout, src)?;
    precheck(layout, dst, mode)?;
    let tmp = create_temp(layout, "copy", dst)?;
    std::io::copy(&mut opened.file, &mut tmp.file())
        .map_err(|e| io_error(e, &tmp.rel(), dst.as_str(), "copying the bytes"))?;
    let props = Props {
        etag: Props::new_etag(),
        ..opened.props
    };
    finish(layout, tmp, props, dst)
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

/// Where the current version's properties were found.
#[derive(PartialEq)]
enum Source {
    Attribute,
    SidecarEntry,
    /// Neither holds them (a file placed by hand, a damaged record).
    Nowhere,
}

/// The version a commit replaces.
struct Current {
    identity: Identity,
    props: Props,
    source: Source,
}

/// Makes the spooled file the blob under `key`, if `mode` still holds.
/// Blocks; run it on the blocking pool.
pub(crate) fn commit(
    layout: &Layout,
    key: &BlobKey,
    new: Spooled,
    mode: &PutMode,
) -> Result<BlobMeta> {
    let (meta, folder) = swap_in(layout, key, new, mode)?;
    // Outside the lock: the next writer of the key need not wait for this
    // flush, and its own flush of the folder covers this rename too.
    layout.fsync.dir(folder.dir());
    Ok(meta)
}

/// Under the key's lock, checks `mode` and renames the new version into
/// place; returns its properties and the folder to flush.
fn swap_in(
    layout: &Layout,
    key: &BlobKey,
    new: Spooled,
    mode: &PutMode,
) -> Result<(BlobMeta, Parent)> {
    let k = key.as_str();
    let rel = relative(k);
    let _lock = KeyLock::acquire(layout, k)?;

    let parent = walk(layout, OBJECTS, &rel, k)?;
    let current = match &parent {
        Some(parent) => current(layout, key, parent, mode)?,
        None => None,
    };
    check_mode(key, mode, current.as_ref().map(|c| &c.props))?;
    // Created only now, so a refused write leaves no empty folders behind.
    let parent = match parent {
        Some(parent) => parent,
        None => create_parent(layout, OBJECTS, &rel, k)?,
    };
    let meta = new.props.clone().into_meta(key, new.identity);
    if new.attached {
        let parent = new.tmp.rename_into(layout, OBJECTS, k, parent)?;
        if current.is_some_and(|c| c.source != Source::Attribute) {
            remove_sidecar(layout, k);
        }
        Ok((meta, parent))
    } else {
        // Readers still holding the replaced file look its properties up in
        // the sidecar, so an entry found there is carried over.
        let replaced = current
            .filter(|c| c.source == Source::SidecarEntry)
            .map(|c| (c.identity, c.props));
        let next = Sidecar::successor(replaced, (new.identity, new.props));
        let sidecar_tmp = TempFile::create(layout, "meta", k)?;
        next.write_to(&sidecar_tmp, layout.fsync, k)?;
        let meta_parent = sidecar_tmp.rename_to(layout, META, k)?;
        layout.fsync.dir(meta_parent.dir());
        Ok((meta, new.tmp.rename_into(layout, OBJECTS, k, parent)?))
    }
}

/// The version at `parent`'s name, if a blob is there. A folder left empty
/// by an interrupted delete is removed; any other folder holds blobs below
/// this key, which a file cannot replace.
fn current(
    layout: &Layout,
    key: &BlobKey,
    parent: &Parent,
    mode: &PutMode,
) -> Result<Option<Current>> {
    let k = key.as_str();
    let Some(file) = parent.dir().open_file(&parent.name, k)? else {
        return Ok(None);
    };
    let stat = rustix::fs::fstat(&file)
        .map_err(|e| io_error(e.into(), &parent.rel(), k, "reading the current version"))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => {
            drop(file);
            return match parent.dir().unlink(&parent.name, AtFlags::REMOVEDIR) {
                Ok(()) => Ok(None),
                Err(_) => Err(folder_conflict(k)),
            };
        }
        _ => return Ok(None),
    }
    let identity = Identity::of(&stat);
    let nowhere = || Current {
        identity,
        props: Props::derived(key, identity),
        source: Source::Nowhere,
    };
    // Only an IfMatch needs the current etag, which a damaged record no
    // longer holds; any other write replaces the damaged version.
    let needs_etag = matches!(mode, PutMode::IfMatch(_));
    match attached::props_of(&file, identity, &parent.rel(), key) {
        Ok(Some(props)) => {
            return Ok(Some(Current {
                identity,
                props,
                source: Source::Attribute,
            }))
        }
        Ok(None) => {}
        Err(err) if needs_etag => return Err(err),
        Err(_) => return Ok(Some(nowhere())),
    }
    Ok(Some(match Sidecar::load(layout, key)? {
        Loaded::Intact(sidecar) => match sidecar.find(identity) {
            Some(props) => Current {
                identity,
                props: props.clone(),
                source: Source::SidecarEntry,
            },
            None => nowhere(),
        },
        Loaded::Damaged(err) if needs_etag => return Err(err),
        Loaded::Damaged(_) => nowhere(),
    }))
}

/// Removes `key`'s sidecar, which the version just committed no longer
/// needs. Best effort: a sidecar left behind is never read for a file that
/// carries its own properties.
fn remove_sidecar(layout: &Layout, key: &str) {
    if let Ok(Some(parent)) = walk(layout, META, &relative(key), key) {
        if parent.dir().unlink(&parent.name, AtFlags::empty()).is_ok() {
            parent.prune();
        }
    }
}
