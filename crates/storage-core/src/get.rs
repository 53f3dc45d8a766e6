//! Reading a blob: options, byte ranges and the streamed result.

use std::fmt;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::StreamExt;

use crate::{BlobMeta, ByteStream, Error, ErrorKind, Result};

/// A byte range to read, as in an HTTP `Range` header.
///
/// ```
/// use storage_core::ByteRange;
/// assert_eq!(ByteRange::Bounded { start: 2, end: 5 }.resolve(10).unwrap(), 2..5);
/// assert_eq!(ByteRange::From(7).resolve(10).unwrap(), 7..10);
/// assert_eq!(ByteRange::Suffix(4).resolve(10).unwrap(), 6..10);
/// assert_eq!(ByteRange::Bounded { start: 8, end: 50 }.resolve(10).unwrap(), 8..10);
/// assert!(ByteRange::From(10).resolve(10).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..end` (end exclusive); an end past the blob is clamped.
    Bounded {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes (the whole blob if it is shorter; nothing of an
    /// empty blob, which HTTP answers with 416).
    Suffix(u64),
}

impl ByteRange {
    /// Refuses ranges that select nothing in any blob (`start >= end`, a
    /// suffix of 0 bytes); stores call it before any I/O, so such a range
    /// is `InvalidInput` even for a missing blob.
    pub fn validate(&self) -> Result<()> {
        match *self {
            ByteRange::Bounded { start, end } if start >= end => Err(unsatisfiable(format!(
                "start {start} is not before end {end}"
            ))),
            ByteRange::Suffix(0) => Err(unsatisfiable("a suffix of 0 bytes".into())),
            _ => Ok(()),
        }
    }

    /// The concrete range within a blob of `size` bytes, or
    /// [`ErrorKind::InvalidInput`] when it selects nothing (HTTP's 416).
    pub fn resolve(&self, size: u64) -> Result<Range<u64>> {
        self.validate()?;
        match *self {
            ByteRange::Bounded { start, .. } | ByteRange::From(start) if start >= size => {
                Err(unsatisfiable(format!(
                    "start {start} is not before the blob's {size} bytes"
                )))
            }
            ByteRange::Bounded { start, end } => Ok(start..end.min(size)),
            ByteRange::From(start) => Ok(start..size),
            ByteRange::Suffix(_) if size == 0 => Err(unsatisfiable("the blob is empty".into())),
            ByteRange::Suffix(n) => Ok(size.saturating_sub(n)..size),
        }
    }
}

fn unsatisfiable(why: String) -> Error {
    Error::without_provider(ErrorKind::InvalidInput)
        .with_message(format!("range not satisfiable: {why}"))
}

impl From<Range<u64>> for ByteRange {
    fn from(r: Range<u64>) -> Self {
        ByteRange::Bounded {
            start: r.start,
            end: r.end,
        }
    }
}

/// Options for [`BlobStore::get`](crate::BlobStore::get).
///
/// ```
/// use storage_core::GetOptions;
/// let opts = GetOptions::new().range(0..1024);
/// assert!(opts.range.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Read only these bytes.
    pub range: Option<ByteRange>,
    /// Read only if the blob's etag is this one; otherwise
    /// [`ErrorKind::PreconditionFailed`] (a changed blob is never mixed
    /// with an earlier read of it).
    pub if_match: Option<String>,
    /// Read only if the blob's etag is not this one; otherwise
    /// [`ErrorKind::NotModified`] (what a caching handler answers with 304).
    pub if_none_match: Option<String>,
}

impl GetOptions {
    /// Read the whole blob.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read only `range`.
    pub fn range(mut self, range: impl Into<ByteRange>) -> Self {
        self.range = Some(range.into());
        self
    }

    /// Read only if the blob still has `etag`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Read only if the blob no longer has `etag`.
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Checks what can be checked without the blob; stores call this first.
    pub fn validate(&self) -> Result<()> {
        for etag in [&self.if_match, &self.if_none_match].into_iter().flatten() {
            crate::put::check_header_value("etag", etag)?;
        }
        self.range.as_ref().map_or(Ok(()), ByteRange::validate)
    }

    /// Checks the conditions against the blob's current `etag`, for stores
    /// that compare in process (memory, local disk).
    pub fn check_conditions(&self, etag: &str) -> Result<()> {
        if self.if_match.as_deref().is_some_and(|want| want != etag) {
            return Err(
                Error::without_provider(ErrorKind::PreconditionFailed).with_message(format!(
                    "the blob's etag is {etag}, not the one given in if_match"
                )),
            );
        }
        if self
            .if_none_match
            .as_deref()
            .is_some_and(|have| have == etag || have == "*")
        {
            return Err(Error::without_provider(ErrorKind::NotModified)
                .with_message(format!("the blob still has etag {etag}")));
        }
        Ok(())
    }
}

/// Reads a blob's whole range into one buffer, for [`Blob::bytes`]; see
/// [`Blob::with_whole_read`].
type WholeRead = Box<dyn FnOnce() -> BoxFuture<'static, Result<Bytes>> + Send>;

/// A blob being read: its properties and a stream of its bytes.
pub struct Blob {
    /// The blob's properties; `size` is the whole blob's size even for a range.
    pub meta: BlobMeta,
    /// Which bytes the stream carries.
    pub range: Range<u64>,
    body: ByteStream,
    whole: Option<WholeRead>,
}

impl Blob {
    /// A blob read whose stream yields exactly the bytes in `range`.
    pub fn new(meta: BlobMeta, range: Range<u64>, body: ByteStream) -> Self {
        Blob {
            meta,
            range,
            body,
            whole: None,
        }
    }

    /// Gives [`Blob::bytes`] a way to read the range straight into one
    /// buffer instead of collecting the stream chunk by chunk, for a driver
    /// that can (a local file is read into the buffer it returns, saving a
    /// copy of every byte). It must yield exactly the bytes the stream
    /// would; the stream is dropped unpolled when it is used.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::FutureExt;
    /// use storage_core::{Blob, BlobKey, BlobMeta};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let meta = BlobMeta::new(BlobKey::new("a")?, 2, "e", std::time::SystemTime::now(), "text/plain");
    /// let stream = futures::stream::iter([Ok(Bytes::from("h")), Ok(Bytes::from("i"))]);
    /// let blob = Blob::new(meta, 0..2, Box::pin(stream))
    ///     .with_whole_read(|| async { Ok(Bytes::from("hi")) }.boxed());
    /// assert_eq!(blob.bytes().await?, "hi");
    /// # Ok(()) }
    /// ```
    pub fn with_whole_read(
        mut self,
        read: impl FnOnce() -> BoxFuture<'static, Result<Bytes>> + Send + 'static,
    ) -> Self {
        self.whole = Some(Box::new(read));
        self
    }

    /// The bytes, as a stream of chunks.
    pub fn into_stream(self) -> ByteStream {
        self.body
    }

    /// The bytes as a [`tokio::io::AsyncRead`], for code that reads rather
    /// than polls a stream: `tokio::io::copy` into a file or socket, a
    /// decoder, a line reader.
    ///
    /// A failure is an `io::Error` whose inner error is the storage
    /// [`Error`], so nothing is lost: downcast it back with
    /// `err.get_ref().and_then(|e| e.downcast_ref::<storage_core::Error>())`
    /// (or `err.downcast::<storage_core::Error>()`). The `io::ErrorKind`
    /// follows the storage kind where one fits (`NotFound`, `TimedOut`,
    /// `PermissionDenied` …; see `From<Error> for io::Error`).
    ///
    /// ```
    /// use storage_core::{memory::MemoryStore, BlobStore, BlobStoreExt, GetOptions};
    /// use tokio::io::AsyncBufReadExt;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put_bytes("logs/today.txt", "first\nsecond\n").await?;
    /// let blob = store.get(&store.key("logs/today.txt")?, GetOptions::new()).await?;
    /// let mut lines = tokio::io::BufReader::new(blob.into_async_read()).lines();
    /// assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("first"));
    /// assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
    /// # Ok(()) }
    /// ```
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
        tokio_util::io::StreamReader::new(
            self.body.map(|chunk| chunk.map_err(std::io::Error::from)),
        )
    }

    /// Reads the whole stream into memory.
    pub async fn bytes(self) -> Result<Bytes> {
        if let Some(read) = self.whole {
            return read().await;
        }
        let mut body = self.body;
        let Some(first) = body.next().await.transpose()? else {
            return Ok(Bytes::new());
        };
        // A body that comes as one chunk (a small local or in-memory blob)
        // is handed over as it is, without a copy.
        let Some(second) = body.next().await.transpose()? else {
            return Ok(first);
        };
        let capacity = usize::try_from(self.range.end - self.range.start).unwrap_or(0);
        let capacity = capacity.min(64 << 20).max(first.len() + second.len());
        let mut buf = BytesMut::with_capacity(capacity);
        buf.extend_from_slice(&first);
        buf.extend_from_slice(&second);
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_http() {
        assert!(ByteRange::Bounded { start: 3, end: 3 }.resolve(10).is_err());
        assert!(ByteRange::Suffix(0).resolve(10).is_err());
        assert_eq!(ByteRange::Suffix(50).resolve(10).expect("suffix"), 0..10);
        assert!(ByteRange::Suffix(5).resolve(0).is_err());
        assert!(ByteRange::From(0).resolve(0).is_err());
    }

    #[tokio::test]
    async fn async_read_failures_carry_the_storage_error() {
        use tokio::io::AsyncReadExt;
        let meta = BlobMeta::new(
            crate::BlobKey::new("a").expect("key"),
            4,
            "etag",
            std::time::SystemTime::UNIX_EPOCH,
            "text/plain",
        );
        let body = futures::stream::iter([
            Ok(Bytes::from_static(b"ab")),
            Err(Error::without_provider(ErrorKind::PreconditionFailed).with_message("changed")),
        ])
        .boxed();
        let mut reader = Blob::new(meta, 0..4, body).into_async_read();
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).await.expect_err("fails");
        assert_eq!(out, b"ab");
        let storage = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<Error>())
            .expect("the storage error is the inner error");
        assert_eq!(storage.kind(), &ErrorKind::PreconditionFailed);
        assert_eq!(storage.message(), Some("changed"));
    }
}
