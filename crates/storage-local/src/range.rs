//! Reading a range of an opened blob: small ranges at once, large ones as a
//! stream of chunks.
//!
//! Chunks are read with `pread` straight into the buffer that is handed to
//! the consumer (no zeroing, no copy, no shared file position), each by a
//! short task on the blocking pool, one chunk ahead of the consumer. So a
//! download holds at most two chunks, however large the blob, and no thread
//! while its consumer is slow. A chunk the consumer has let go of lends its
//! memory to the next read: two buffers take turns, still warm in the cache
//! and never handed back to the allocator mid-download.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use storage_core::{BlobKey, BlobMeta, ByteRange, ByteStream, Error, ErrorKind, Provider, Result};
use tokio::task::JoinHandle;

use crate::fsops::io_error;
use crate::layout::Layout;
use crate::read;

/// Ranges up to this size are read while the file is open, in the same
/// blocking call; larger ones stream.
const INLINE_READ: u64 = CHUNK;

/// The size of each chunk a streamed read sends: large enough that the
/// per-chunk work (a task, a syscall) vanishes next to copying the bytes,
/// small enough to stay in cache between the read and the consumer.
const CHUNK: u64 = 1024 * 1024;

/// The bytes of an opened range: already read, or a file still to stream
/// (with its path relative to the root, for messages).
pub(crate) enum Contents {
    Inline(Bytes),
    File(File, PathBuf),
}

/// Opens the blob and resolves `range` against its size; small ranges are
/// read right away, so small downloads cost one trip to the blocking pool.
pub(crate) fn open_range(
    layout: &Layout,
    key: &BlobKey,
    range: Option<ByteRange>,
) -> Result<(BlobMeta, Range<u64>, Contents)> {
    let opened = read::open(layout, key)?;
    let range = match range {
        Some(r) => r
            .resolve(opened.meta.size)
            .map_err(|e| e.with_provider(Provider::Local).with_key(key.as_str()))?,
        None => 0..opened.meta.size,
    };
    if range.end - range.start > INLINE_READ {
        return Ok((opened.meta, range, Contents::File(opened.file, opened.rel)));
    }
    let bytes = read_at(&opened.file, range.clone())
        .map_err(|e| io_error(e, &opened.rel, key.as_str(), "reading the blob"))?;
    Ok((opened.meta, range, Contents::Inline(bytes)))
}

/// Exactly the bytes of `range` of `file`; a file that ends sooner (cut
/// short by hand) is an `UnexpectedEof` error.
fn read_at(file: &File, range: Range<u64>) -> io::Result<Bytes> {
    read_into(Vec::new(), file, range)
}

/// [`read_at`], into `buf`'s memory when it is large enough.
fn read_into(mut buf: Vec<u8>, file: &File, range: Range<u64>) -> io::Result<Bytes> {
    let len = usize::try_from(range.end - range.start).map_err(io::Error::other)?;
    buf.clear();
    buf.reserve_exact(len);
    while buf.len() < len {
        let at = range.start + buf.len() as u64;
        let read = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at)?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    // The allocation may be larger than asked, and the last read with it.
    buf.truncate(len);
    Ok(buf.into())
}

/// Streams `range` of `file` in chunks of [`CHUNK`], reading the next chunk
/// while the consumer takes the current one. Dropping the stream stops it
/// after the chunk being read.
pub(crate) fn stream_file(
    file: Arc<File>,
    range: Range<u64>,
    key: &BlobKey,
    rel: PathBuf,
) -> ByteStream {
    let reader = Reader {
        file,
        next: range.start,
        end: range.end,
        ahead: None,
        handed: None,
    };
    let key = key.to_string();
    futures::stream::try_unfold(reader, move |mut reader| {
        let (key, rel) = (key.clone(), rel.clone());
        async move {
            let Some(chunk) = reader.ahead.take().or_else(|| reader.start(None)) else {
                return Ok(None);
            };
            let bytes = finished(chunk, &rel, &key).await?;
            // The consumer asked for this chunk, so it is likely done with
            // the one before: its memory takes the next read.
            let before = reader.handed.replace(bytes.clone());
            reader.ahead = reader.start(before);
            Ok(Some((bytes, reader)))
        }
    })
    .boxed()
}

/// Reads all of `range` of `file` into one buffer on the blocking pool, for
/// `Blob::bytes`: a whole-blob download then costs one allocation and no
/// copy, as `std::fs::read` does, instead of a chunk buffer per MiB copied
/// into a second one.
pub(crate) fn read_whole(
    file: Arc<File>,
    range: Range<u64>,
    key: BlobKey,
    rel: PathBuf,
) -> impl FnOnce() -> BoxFuture<'static, Result<Bytes>> + Send + 'static {
    move || {
        async move {
            let read = tokio::task::spawn_blocking(move || read_at(&file, range));
            finished(read, &rel, key.as_str()).await
        }
        .boxed()
    }
}

/// A chunk being read on the blocking pool.
type Chunk = JoinHandle<io::Result<Bytes>>;

struct Reader {
    file: Arc<File>,
    /// Where the next chunk to start begins.
    next: u64,
    end: u64,
    /// The chunk read ahead of the consumer.
    ahead: Option<Chunk>,
    /// The chunk handed to the consumer last.
    handed: Option<Bytes>,
}

impl Reader {
    /// Starts reading the next chunk, if any is left, into the memory of
    /// `spare` if nothing else holds it any more.
    fn start(&mut self, spare: Option<Bytes>) -> Option<Chunk> {
        if self.next >= self.end {
            return None;
        }
        let chunk = self.next..self.end.min(self.next + CHUNK);
        self.next = chunk.end;
        let file = self.file.clone();
        let buf = spare
            .and_then(|bytes| bytes.try_into_mut().ok())
            .map(|mut bytes| {
                bytes.clear();
                Vec::from(bytes)
            })
            .unwrap_or_default();
        Some(tokio::task::spawn_blocking(move || {
            read_into(buf, &file, chunk)
        }))
    }
}

async fn finished(chunk: Chunk, rel: &Path, key: &str) -> Result<Bytes> {
    chunk
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Backend, Provider::Local)
                .with_key(key)
                .with_message("a filesystem task failed to complete")
                .with_source(e)
        })?
        .map_err(|e| io_error(e, rel, key, "reading the blob"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn patterned(len: u64) -> (tempfile::TempDir, File, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blob");
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let file = File::open(&path).expect("open");
        (dir, file, bytes)
    }

    fn key() -> BlobKey {
        BlobKey::new("blob").expect("key")
    }

    #[test]
    fn a_range_reads_exactly_its_bytes_and_a_short_file_is_an_error() {
        let (_dir, file, bytes) = patterned(10_000);
        assert_eq!(read_at(&file, 123..4567).expect("read"), bytes[123..4567]);
        assert_eq!(read_at(&file, 0..0).expect("empty"), Bytes::new());
        let err = read_at(&file, 9_000..10_001).expect_err("past the end");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn streamed_ranges_cross_chunk_boundaries_in_chunks_of_at_most_one_chunk() {
        let len = 3 * CHUNK + CHUNK / 2;
        let (_dir, file, bytes) = patterned(len);
        for range in [0..len, 1..len - 1, CHUNK - 1..2 * CHUNK + 1, 5..CHUNK + 5] {
            let file = Arc::new(file.try_clone().expect("dup"));
            let mut stream =
                stream_file(file, range.clone(), &key(), PathBuf::from("objects/blob"));
            // Copied and dropped, as `Blob::bytes` does, so memory is reused.
            let mut got = Vec::new();
            while let Some(chunk) = stream.try_next().await.expect("chunk") {
                assert!(chunk.len() as u64 <= CHUNK && !chunk.is_empty());
                got.extend_from_slice(&chunk);
            }
            assert_eq!(
                got,
                bytes[range.start as usize..range.end as usize],
                "{range:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_file_cut_short_while_streaming_ends_in_an_error_that_names_it() {
        let (dir, file, _) = patterned(3 * CHUNK);
        let mut stream = stream_file(
            Arc::new(file),
            0..3 * CHUNK,
            &key(),
            PathBuf::from("objects/blob"),
        );
        let first = stream.try_next().await.expect("first chunk").expect("some");
        assert_eq!(first.len() as u64, CHUNK);
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("blob"))
            .and_then(|f| f.set_len(CHUNK + 10))
            .expect("truncate");
        // The second chunk may have been read ahead before the cut.
        let mut err = None;
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("the cut is noticed");
        assert!(err.to_string().contains("`objects/blob`"), "{err}");
        assert!(
            stream.next().await.is_none(),
            "the stream ends after its error"
        );
    }

    #[tokio::test]
    async fn chunks_still_held_by_the_consumer_are_never_overwritten() {
        let len = 4 * CHUNK;
        let (_dir, file, bytes) = patterned(len);
        let stream = stream_file(
            Arc::new(file),
            0..len,
            &key(),
            PathBuf::from("objects/blob"),
        );
        // Holding every chunk forbids reuse; each must keep its own bytes.
        let held: Vec<Bytes> = stream.try_collect().await.expect("stream");
        assert_eq!(held.len(), 4);
        assert_eq!(held.concat(), bytes);
    }

    #[tokio::test]
    async fn a_gibibyte_streams_in_bounded_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        // Sparse: a gibibyte of zeros that takes no disk.
        let len = 1u64 << 30;
        File::create(&path)
            .and_then(|f| f.set_len(len))
            .expect("sparse file");
        let file = File::open(&path).expect("open");
        let mut stream = stream_file(Arc::new(file), 0..len, &key(), PathBuf::from("objects/big"));
        let (mut total, mut largest) = (0u64, 0usize);
        while let Some(chunk) = stream.try_next().await.expect("chunk") {
            total += chunk.len() as u64;
            largest = largest.max(chunk.len());
        }
        assert_eq!(total, len);
        assert_eq!(largest as u64, CHUNK);
    }
}
