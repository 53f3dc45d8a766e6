//! Cutting an upload body into parts of one size with bounded memory, for
//! every driver that uploads in blocks or parts (Azure's Put Block, S3's
//! and GCS's multipart uploads).
//!
//! A part is at most one part-sized buffer: a chunk that holds a whole part
//! is split without a copy, and a body that ends within its first chunk is
//! handed on as that chunk. [`PartReader::next`] looks one chunk ahead, so
//! a body of exactly one part is reported as ending with it (a driver then
//! sends one plain upload, not a multipart one).

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use storage_core::{Body, ByteStream, Result};

/// Reads a body in parts of exactly `size` bytes (the last may be shorter).
///
/// ```
/// use storage_core::Body;
/// use storage_object_store::PartReader;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> storage_core::Result<()> {
/// let mut parts = PartReader::new(Body::from("abcdefg"), 3);
/// assert_eq!(parts.next().await?, ("abc".into(), false));
/// assert_eq!(parts.next().await?, ("def".into(), false));
/// assert_eq!(parts.next().await?, ("g".into(), true));
/// assert!(parts.is_done());
/// # Ok(()) }
/// ```
pub struct PartReader {
    stream: ByteStream,
    size: usize,
    left: Bytes,
    ended: bool,
}

impl PartReader {
    /// A reader of `body` in parts of `size` bytes (at least 1).
    pub fn new(body: Body, size: usize) -> PartReader {
        PartReader {
            stream: body.into_stream(),
            size: size.max(1),
            left: Bytes::new(),
            ended: false,
        }
    }

    /// Whether every byte of the body has been handed out.
    pub fn is_done(&self) -> bool {
        self.ended && self.left.is_empty()
    }

    /// The next part and whether the body ended with it. A failing body
    /// fails here, with the body's own error.
    pub async fn next(&mut self) -> Result<(Bytes, bool)> {
        let mut buf = BytesMut::new();
        loop {
            if !self.left.is_empty() {
                let want = self.size - buf.len();
                if buf.is_empty() && self.left.len() >= want {
                    // A whole part inside one chunk: no copy.
                    let part = self.left.split_to(want);
                    return Ok((part, self.at_end().await?));
                }
                if buf.is_empty() {
                    // A chunk shorter than a part: when the body ends with
                    // it (a `put_bytes`), it is the whole body, handed on
                    // as is instead of copied into a part-sized buffer.
                    let chunk = std::mem::take(&mut self.left);
                    if self.at_end().await? {
                        return Ok((chunk, true));
                    }
                    buf.reserve(self.size);
                    buf.extend_from_slice(&chunk);
                    continue;
                }
                let take = want.min(self.left.len());
                buf.extend_from_slice(&self.left.split_to(take));
                if buf.len() == self.size {
                    return Ok((buf.freeze(), self.at_end().await?));
                }
            }
            match self.stream.next().await {
                Some(chunk) => self.left = chunk?,
                None => {
                    self.ended = true;
                    return Ok((buf.freeze(), true));
                }
            }
        }
    }

    /// Whether nothing follows: looks one chunk ahead (skipping empty
    /// chunks).
    async fn at_end(&mut self) -> Result<bool> {
        while self.left.is_empty() && !self.ended {
            match self.stream.next().await {
                Some(chunk) => self.left = chunk?,
                None => self.ended = true,
            }
        }
        Ok(self.left.is_empty() && self.ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    fn body(chunks: Vec<&'static [u8]>) -> Body {
        Body::from_stream(
            stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))),
            None,
        )
    }

    async fn split(chunks: Vec<&'static [u8]>, size: usize) -> Vec<(Vec<u8>, bool)> {
        let mut parts = PartReader::new(body(chunks), size);
        let mut out = Vec::new();
        loop {
            let (part, ended) = parts.next().await.expect("a part");
            out.push((part.to_vec(), ended));
            if ended {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn parts_have_the_part_size_and_the_end_is_seen_early() {
        assert_eq!(
            split(vec![b"abcde", b"", b"fg"], 3).await,
            vec![
                (b"abc".to_vec(), false),
                (b"def".to_vec(), false),
                (b"g".to_vec(), true)
            ]
        );
        // Exactly one part is one part, not a part and an empty one.
        assert_eq!(
            split(vec![b"ab", b"c", b""], 3).await,
            vec![(b"abc".to_vec(), true)]
        );
        assert_eq!(split(vec![], 3).await, vec![(Vec::new(), true)]);
        assert_eq!(
            split(vec![b"a", b"b", b"cd"], 3).await,
            vec![(b"abc".to_vec(), false), (b"d".to_vec(), true)]
        );
    }

    #[tokio::test]
    async fn a_body_shorter_than_a_part_is_handed_on_uncopied() {
        static BODY: &[u8] = b"short body";
        let mut parts = PartReader::new(body(vec![BODY, b""]), 1 << 20);
        let (part, ended) = parts.next().await.expect("a part");
        assert!(ended && parts.is_done());
        assert_eq!(part.as_ptr(), BODY.as_ptr(), "the chunk itself, not a copy");
    }
}
