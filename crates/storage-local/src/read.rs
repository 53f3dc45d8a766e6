//! Opening a blob and finding the properties that belong to the bytes opened.

use std::fs::File;
use std::path::PathBuf;

use rustix::fs::FileType;
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::attached;
use crate::beneath::walk;
use crate::fsops::io_error;
use crate::layout::{relative, Layout, OBJECTS};
use crate::props::{Identity, Props};
use crate::sidecar::Sidecar;

/// How often a reader of a blob kept with a sidecar retries when writers
/// replaced the blob twice between its open and its sidecar read; beyond
/// that it reports what it holds.
const ATTEMPTS: usize = 8;

/// An open data file and its properties.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) meta: BlobMeta,
    pub(crate) props: Props,
    /// The data file's path relative to the root, for messages.
    pub(crate) rel: PathBuf,
}

pub(crate) fn not_found(key: &BlobKey) -> Error {
    Error::new(ErrorKind::NotFound, Provider::Local).with_key(key.as_str())
}

/// Opens the blob's data file and its matching properties: those attached
/// to the file, else its sidecar entry, else derived ones. A link anywhere
/// on the way, or damaged properties, is an error.
pub(crate) fn open(layout: &Layout, key: &BlobKey) -> Result<Opened> {
    let k = key.as_str();
    let rel = relative(k);
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Walked again on each attempt: a delete may have pruned the folder
        // and a put recreated it.
        let Some(parent) = walk(layout, OBJECTS, &rel, k)? else {
            return Err(not_found(key));
        };
        let Some(file) = parent.dir().open_file(&parent.name, k)? else {
            return Err(not_found(key));
        };
        let stat = rustix::fs::fstat(&file)
            .map_err(|e| io_error(e.into(), &parent.rel(), k, "reading the blob's size"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(not_found(key));
        }
        let identity = Identity::of(&stat);
        let props = match attached::props_of(&file, identity, &parent.rel(), key)? {
            Some(props) => props,
            None => match Sidecar::load(layout, key)?.intact()?.find(identity) {
                Some(props) => props.clone(),
                None if attempt < ATTEMPTS && replaced_since(&parent, identity, k)? => continue,
                None => Props::derived(key, identity),
            },
        };
        let meta = props.clone().into_meta(key, identity);
        return Ok(Opened {
            file,
            meta,
            props,
            rel: parent.rel(),
        });
    }
}

/// Whether the name no longer holds the file with `identity`.
fn replaced_since(parent: &crate::beneath::Parent, identity: Identity, key: &str) -> Result<bool> {
    Ok(parent
        .dir()
        .stat(&parent.name, key)?
        .is_none_or(|now| Identity::of(&now) != identity))
}

/// Ranges up to this size are read while the file is open, in the same
/// blocking call; larger ones stream.
const INLINE_READ: u64 = 256 * 1024;

/// The size of each chunk a streamed read sends.
const CHUNK: usize = 256 * 1024;

/// Chunks a streamed read may run ahead of its consumer; bounds memory to
/// `CHUNK * (AHEAD + 1)` per open download.
const AHEAD: usize = 2;

/// The bytes of an opened range: already read, or a file still to stream.
pub(crate) enum Contents {
    Inline(bytes::Bytes),
    File(File),
}

/// Opens the blob and resolves `range` against its size; small ranges are
/// read right away, so small downloads cost one trip to the blocking pool.
pub(crate) fn open_range(
    layout: &Layout,
    key: &BlobKey,
    range: Option<storage_core::ByteRange>,
) -> Result<(BlobMeta, std::ops::Range<u64>, Contents)> {
    use std::io::{Read, Seek, SeekFrom};
    let opened = open(layout, key)?;
    let range = match range {
        Some(r) => r
            .resolve(opened.meta.size)
            .map_err(|e| e.with_provider(Provider::Local).with_key(key.as_str()))?,
        None => 0..opened.meta.size,
    };
    let mut file = opened.file;
    let rel = opened.rel;
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| io_error(e, &rel, key.as_str(), "seeking to the range"))?;
    let len = range.end - range.start;
    if len > INLINE_READ {
        return Ok((opened.meta, range, Contents::File(file)));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(e, &rel, key.as_str(), "reading the blob"))?;
    if (buf.len() as u64) < len {
        return Err(io_error(
            std::io::ErrorKind::UnexpectedEof.into(),
            &rel,
            key.as_str(),
            "reading the blob",
        ));
    }
    Ok((opened.meta, range, Contents::Inline(buf.into())))
}

/// Streams `len` bytes from `file` (already at the range's start) from one
/// blocking thread, a bounded number of chunks ahead. Dropping the stream
/// stops the thread at its next chunk.
pub(crate) fn stream_file(file: File, len: u64, key: &BlobKey) -> storage_core::ByteStream {
    use futures::StreamExt;
    use std::io::Read;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes>>(AHEAD);
    let key = key.to_string();
    let rel = std::path::Path::new(OBJECTS).join(relative(&key));
    tokio::task::spawn_blocking(move || {
        let mut reader = file.take(len);
        let mut left = len;
        while left > 0 {
            let mut chunk = vec![0u8; CHUNK.min(left as usize)];
            let item = match reader.read_exact(&mut chunk) {
                Ok(()) => {
                    left -= chunk.len() as u64;
                    Ok(bytes::Bytes::from(chunk))
                }
                Err(e) => {
                    left = 0;
                    Err(io_error(e, &rel, &key, "reading the blob"))
                }
            };
            if tx.blocking_send(item).is_err() {
                return;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}
