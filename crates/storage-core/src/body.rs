//! Upload bodies and download streams.
//!
//! A [`Body`] is either bytes already in memory or a stream with an optional
//! declared length. When a length is declared, [`Body::into_stream`] enforces
//! it: a stream that yields more or fewer bytes fails instead of storing a
//! truncated blob, so every adapter gets that check for free.

use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

use crate::{Error, ErrorKind, Result};

/// A stream of byte chunks, as returned by downloads and accepted by uploads.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// The bytes of an upload.
///
/// ```
/// use storage_core::Body;
/// let body = Body::from("hello");
/// assert_eq!(body.len(), Some(5));
/// let streamed = Body::from_stream(
///     futures::stream::iter([Ok(bytes::Bytes::from("he")), Ok(bytes::Bytes::from("llo"))]),
///     Some(5),
/// );
/// assert_eq!(streamed.len(), Some(5));
/// ```
pub struct Body {
    inner: Inner,
}

enum Inner {
    Bytes(Bytes),
    Stream {
        stream: ByteStream,
        len: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body::from(Bytes::new())
    }

    /// A stream of chunks; `len`, when given, is checked as the stream runs.
    pub fn from_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = Result<Bytes>> + Send + 'static,
    {
        Body {
            inner: Inner::Stream {
                stream: stream.boxed(),
                len,
            },
        }
    }

    /// A stream of chunks whose errors are I/O errors (a file, a socket).
    /// Failures surface as [`ErrorKind::Transport`] ("reading the body failed").
    pub fn from_io_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        Self::from_stream(
            stream.map_err(|e| {
                Error::without_provider(ErrorKind::Transport)
                    .with_message("reading the upload body failed")
                    .with_source(e)
            }),
            len,
        )
    }

    /// Any `AsyncRead` (a file, a pipe, a request body), read in 64 KiB chunks.
    pub fn from_reader<R>(reader: R, len: Option<u64>) -> Self
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        Self::from_io_stream(
            tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024),
            len,
        )
    }

    /// Opens a file and streams it, with its length declared.
    pub async fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path).await.map_err(|e| {
            Error::without_provider(ErrorKind::InvalidInput)
                .with_message(format!("cannot open `{}` for upload: {e}", path.display()))
        })?;
        let len = file.metadata().await.map(|m| m.len()).ok();
        Ok(Self::from_reader(file, len))
    }

    /// The declared length, if known before reading.
    pub fn len(&self) -> Option<u64> {
        match &self.inner {
            Inner::Bytes(b) => Some(b.len() as u64),
            Inner::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The bytes, when the body is already in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.inner {
            Inner::Bytes(b) => Some(b),
            Inner::Stream { .. } => None,
        }
    }

    /// The body as a stream; a declared length is enforced.
    pub fn into_stream(self) -> ByteStream {
        match self.inner {
            Inner::Bytes(b) if b.is_empty() => stream::empty().boxed(),
            Inner::Bytes(b) => stream::once(async move { Ok(b) }).boxed(),
            Inner::Stream { stream, len: None } => stream,
            Inner::Stream {
                stream,
                len: Some(expected),
            } => LengthChecked {
                inner: stream,
                expected,
                seen: 0,
                done: false,
            }
            .boxed(),
        }
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    pub async fn collect(self, limit: u64) -> Result<Bytes> {
        if let Some(len) = self.len() {
            if len > limit {
                return Err(too_large(len, limit));
            }
        }
        if let Inner::Bytes(b) = self.inner {
            return Ok(b);
        }
        let mut stream = self.into_stream();
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(too_large(buf.len() as u64 + chunk.len() as u64, limit));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

fn too_large(len: u64, limit: u64) -> Error {
    Error::without_provider(ErrorKind::TooLarge).with_message(format!(
        "the body has at least {len} bytes, more than the {limit} bytes allowed here"
    ))
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Bytes(b) => f.debug_struct("Body").field("bytes", &b.len()).finish(),
            Inner::Stream { len, .. } => f.debug_struct("Body").field("stream_len", len).finish(),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body {
            inner: Inner::Bytes(b),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(s))
    }
}

/// Fails a stream that yields more or fewer bytes than it declared.
struct LengthChecked {
    inner: ByteStream,
    expected: u64,
    seen: u64,
    done: bool,
}

impl Stream for LengthChecked {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.expected {
                    self.done = true;
                    return Poll::Ready(Some(Err(length_mismatch(self.expected, "more"))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                if self.seen < self.expected {
                    return Poll::Ready(Some(Err(length_mismatch(self.expected, "fewer"))));
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn length_mismatch(expected: u64, which: &str) -> Error {
    Error::without_provider(ErrorKind::InvalidInput).with_message(format!(
        "the body declared {expected} bytes but yielded {which}; nothing was stored"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<Bytes>> {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p.as_bytes())))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn declared_length_is_enforced_both_ways() {
        let short = Body::from_stream(chunks(&["ab"]), Some(3));
        let err = short.collect(100).await.expect_err("short body");
        assert_eq!(err.kind(), &ErrorKind::InvalidInput);
        assert!(err.to_string().contains("fewer"));

        let long = Body::from_stream(chunks(&["ab", "cd"]), Some(3));
        let err = long.collect(100).await.expect_err("long body");
        assert!(err.to_string().contains("more"));

        let exact = Body::from_stream(chunks(&["ab", "c"]), Some(3));
        assert_eq!(exact.collect(100).await.expect("exact"), "abc");
    }

    #[tokio::test]
    async fn collect_refuses_more_than_the_limit() {
        let body = Body::from_stream(chunks(&["abc", "def"]), None);
        let err = body.collect(4).await.expect_err("over limit");
        assert_eq!(err.kind(), &ErrorKind::TooLarge);
    }
}
