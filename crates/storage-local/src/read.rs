//! Opening a blob and finding the properties that belong to the bytes opened.

use std::fs::File;

use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, Provider, Result};

use crate::fsops::{io_error, is_absent};
use crate::layout::Layout;
use crate::sidecar::{Identity, Props, Sidecar};

/// How often a reader retries when writers replaced the blob twice between
/// its open and its sidecar read; beyond that it reports what it holds.
const ATTEMPTS: usize = 8;

/// An open data file and its properties.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) meta: BlobMeta,
    pub(crate) props: Props,
}

pub(crate) fn not_found(key: &BlobKey) -> Error {
    Error::new(ErrorKind::NotFound, Provider::Local).with_key(key.as_str())
}

/// Opens the blob's data file and its matching properties.
pub(crate) fn open(layout: &Layout, key: &BlobKey) -> Result<Opened> {
    let object = layout.object(key.as_str());
    let sidecar_path = layout.sidecar(key.as_str());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let file = match File::open(&object) {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Err(not_found(key)),
            Err(e) => return Err(io_error(e, key.as_str(), "opening the blob")),
        };
        let stat = file
            .metadata()
            .map_err(|e| io_error(e, key.as_str(), "reading the blob's size"))?;
        if !stat.is_file() {
            return Err(not_found(key));
        }
        let identity = Identity::of(&stat);
        let sidecar = Sidecar::read(&sidecar_path);
        let props = match sidecar.find(identity) {
            Some(props) => props.clone(),
            None if attempt < ATTEMPTS && replaced_since(&object, identity) => continue,
            None => Props::derived(key, identity),
        };
        let meta = props.clone().into_meta(key, identity);
        return Ok(Opened { file, meta, props });
    }
}

/// Whether the path no longer points at the file with `identity`.
fn replaced_since(object: &std::path::Path, identity: Identity) -> bool {
    std::fs::metadata(object).map_or(true, |m| Identity::of(&m) != identity)
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
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| io_error(e, key.as_str(), "seeking to the range"))?;
    let len = range.end - range.start;
    if len > INLINE_READ {
        return Ok((opened.meta, range, Contents::File(file)));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(e, key.as_str(), "reading the blob"))?;
    if (buf.len() as u64) < len {
        return Err(io_error(
            std::io::ErrorKind::UnexpectedEof.into(),
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
                    Err(io_error(e, &key, "reading the blob"))
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
