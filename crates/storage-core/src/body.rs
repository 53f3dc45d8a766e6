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

    /// A stream of chunks with any error type: an axum request's
    /// `into_data_stream()`, a `reqwest` response's `bytes_stream()`, a
    /// stream of `io::Result<Vec<u8>>` — no `map_err` needed.
    ///
    /// A failure that already is a storage [`Error`] (or an `io::Error`
    /// wrapping one, as [`Blob::into_async_read`](crate::Blob::into_async_read)
    /// makes) passes through unchanged, kind and all; any other error
    /// surfaces as [`ErrorKind::Transport`] ("reading the upload body
    /// failed") with the original as its `source()`.
    ///
    /// This is a separate constructor from [`from_stream`](Self::from_stream)
    /// because a generic error type cannot be inferred: a stream built from
    /// `Ok(chunk)` alone would need a type annotation at every call.
    ///
    /// ```
    /// use storage_core::{Body, ErrorKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // What an axum handler has in hand: `Request::into_body().into_data_stream()`.
    /// let request = axum::body::Body::from("uploaded bytes");
    /// let body = Body::from_try_stream(request.into_data_stream(), None);
    /// assert_eq!(body.collect(1024).await.unwrap(), "uploaded bytes");
    ///
    /// let broken = futures::stream::iter([Ok("half"), Err("the client went away")]);
    /// let err = Body::from_try_stream(broken, None).collect(1024).await.unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Transport);
    /// # }
    /// ```
    pub fn from_try_stream<S, T, E>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = std::result::Result<T, E>> + Send + 'static,
        T: Into<Bytes> + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>> + 'static,
    {
        Self::from_stream(stream.map_ok(Into::into).map_err(body_error), len)
    }

    /// A stream of chunks whose errors are I/O errors (a file, a socket).
    /// Failures surface as [`ErrorKind::Transport`] ("reading the body
    /// failed"), except an I/O error that carries a storage [`Error`],
    /// which is passed through (see [`from_try_stream`](Self::from_try_stream)).
    pub fn from_io_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        Self::from_try_stream(stream, len)
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

/// A body stream's failure as a storage error: a storage error (bare, or
/// inside an `io::Error`) keeps its kind, anything else is `Transport`.
fn body_error(err: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    let err = match err.into().downcast::<Error>() {
        Ok(storage) => return *storage,
        Err(other) => other,
    };
    match err.downcast::<std::io::Error>() {
        Ok(io) => match io.downcast::<Error>() {
            Ok(storage) => storage,
            Err(io) => transport(io),
        },
        Err(other) => transport(other),
    }
}

fn transport(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    Error::without_provider(ErrorKind::Transport)
        .with_message("reading the upload body failed")
        .with_source(source)
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

    #[tokio::test]
    async fn try_stream_errors_keep_a_storage_kind_and_wrap_the_rest() {
        let storage =
            Error::without_provider(ErrorKind::PreconditionFailed).with_message("changed");
        let failing = stream::iter([Ok(Bytes::from_static(b"a")), Err(storage)]);
        let err = Body::from_try_stream(failing, None)
            .collect(10)
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), &ErrorKind::PreconditionFailed);
        assert_eq!(err.message(), Some("changed"));

        // An io::Error carrying a storage error (what `into_async_read` yields).
        let inner = Error::without_provider(ErrorKind::NotFound);
        let io = std::io::Error::other(inner);
        let err = Body::from_io_stream(stream::iter([Err(io)]), None)
            .collect(10)
            .await
            .expect_err("fails");
        assert!(err.is_not_found(), "{err:?}");

        // Any other error is a transport failure that keeps its cause.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let err = Body::from_io_stream(stream::iter([Err(reset)]), None)
            .collect(10)
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), &ErrorKind::Transport);
        let source = std::error::Error::source(&err).expect("source kept");
        assert_eq!(
            source.downcast_ref::<std::io::Error>().map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionReset)
        );
    }

    #[tokio::test]
    async fn try_stream_accepts_any_chunk_type() {
        let parts = stream::iter([Ok::<_, std::io::Error>(vec![b'a']), Ok(vec![b'b'])]);
        let body = Body::from_try_stream(parts, Some(2));
        assert_eq!(body.collect(10).await.expect("whole"), "ab");
    }
}
