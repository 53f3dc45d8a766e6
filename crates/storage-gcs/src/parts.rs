//! Cutting a body into chunks of one size, with one look ahead so the last
//! chunk is known to be last before it is sent (a resumable upload declares
//! the total on its final chunk, and a body of one chunk goes up as a
//! single request).

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use storage_core::{ByteStream, Result};

/// Reads a body in chunks of exactly `size` bytes (the last may be
/// shorter), splitting stream chunks that straddle a boundary.
pub(crate) struct Parts {
    stream: ByteStream,
    size: usize,
    left: Bytes,
    ended: bool,
}

impl Parts {
    pub(crate) fn new(stream: ByteStream, size: usize) -> Parts {
        Parts {
            stream,
            size,
            left: Bytes::new(),
            ended: false,
        }
    }

    /// The next chunk, and whether the body ends with it.
    pub(crate) async fn next(&mut self) -> Result<(Bytes, bool)> {
        let mut buf = BytesMut::new();
        loop {
            if !self.left.is_empty() {
                let want = self.size - buf.len();
                if buf.is_empty() && self.left.len() >= want {
                    // A whole chunk inside one piece of the stream: no copy.
                    let part = self.left.split_to(want);
                    return Ok((part, self.at_end().await?));
                }
                let take = want.min(self.left.len());
                if buf.is_empty() {
                    buf.reserve(self.size.min(64 << 20));
                }
                buf.extend_from_slice(&self.left.split_to(take));
                if buf.len() == self.size {
                    return Ok((buf.freeze(), self.at_end().await?));
                }
            }
            match self.stream.next().await {
                Some(piece) => self.left = piece?,
                None => {
                    self.ended = true;
                    let ended = buf.freeze();
                    return Ok((ended, true));
                }
            }
        }
    }

    /// Whether nothing follows: reads one piece ahead (skipping empty ones).
    async fn at_end(&mut self) -> Result<bool> {
        while self.left.is_empty() && !self.ended {
            match self.stream.next().await {
                Some(piece) => self.left = piece?,
                None => self.ended = true,
            }
        }
        Ok(self.left.is_empty() && self.ended)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures::stream;

    async fn split(pieces: Vec<&'static [u8]>, size: usize) -> Vec<(Vec<u8>, bool)> {
        let stream = stream::iter(pieces.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed();
        let mut parts = Parts::new(stream, size);
        let mut out = Vec::new();
        loop {
            let (part, ended) = parts.next().await.unwrap();
            out.push((part.to_vec(), ended));
            if ended {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn chunks_have_the_size_and_the_end_is_seen_early() {
        assert_eq!(
            split(vec![b"abcde", b"", b"fg"], 3).await,
            vec![
                (b"abc".to_vec(), false),
                (b"def".to_vec(), false),
                (b"g".to_vec(), true)
            ]
        );
        assert_eq!(
            split(vec![b"ab", b"c", b""], 3).await,
            vec![(b"abc".to_vec(), true)]
        );
        assert_eq!(split(vec![], 3).await, vec![(Vec::new(), true)]);
    }
}
