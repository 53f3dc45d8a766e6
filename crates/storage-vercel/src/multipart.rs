//! Uploading a body: one request for small bodies, a multipart upload for
//! large ones or for streams of unknown length that turn out large.
//!
//! The body is cut into parts of the configured size (8 MiB by default, the
//! SDK's) and up to `concurrency` parts are in flight at once, so one upload
//! holds at most `concurrency × part_size` bytes. The blob only becomes
//! visible when the completion request succeeds: if the body stream fails,
//! or a part cannot be uploaded, the upload is abandoned before completion
//! and nothing is written (Vercel has no abort call; abandoned parts are
//! discarded by the service).

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use storage_core::{ByteStream, Error, ErrorKind, Provider, Result};
use tokio::task::JoinSet;

use storage_core::retry::Idempotency;

use crate::client::{Client, CompletedPart, PutResult, WriteHeaders};

/// Cuts a stream into parts of a fixed size, whatever its chunking.
struct PartReader {
    stream: ByteStream,
    carry: Bytes,
    ended: bool,
    part_size: usize,
}

impl PartReader {
    fn new(stream: ByteStream, part_size: usize) -> Self {
        PartReader {
            stream,
            carry: Bytes::new(),
            ended: false,
            part_size,
        }
    }

    /// The next `part_size` bytes, or fewer when the stream ends.
    async fn next_part(&mut self) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(self.part_size.min(1 << 20));
        loop {
            if !self.carry.is_empty() {
                let take = self.carry.len().min(self.part_size - buf.len());
                buf.extend_from_slice(&self.carry.split_to(take));
            }
            if buf.len() == self.part_size || self.ended {
                return Ok(buf.freeze());
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.carry = chunk,
                Some(Err(e)) => return Err(e),
                None => self.ended = true,
            }
        }
    }

    /// Whether every byte has been handed out.
    fn finished(&self) -> bool {
        self.ended && self.carry.is_empty()
    }
}

/// Where and how to write.
pub(crate) struct Target<'a> {
    pub client: &'a Client,
    pub pathname: &'a str,
    pub headers: &'a WriteHeaders,
    /// Whether replaying the single put (or the completion) cannot change
    /// its outcome: true of overwrites, not of `Create` or `IfMatch`.
    pub idempotency: Idempotency,
}

/// Uploads `stream`, returning the service's answer and the byte count.
pub(crate) async fn upload(target: Target<'_>, stream: ByteStream) -> Result<(PutResult, u64)> {
    let config = target.client.config();
    let mut reader = PartReader::new(stream, config.part_size_bytes());
    let first = reader.next_part().await?;
    if reader.finished() && first.len() as u64 <= config.threshold() {
        let size = first.len() as u64;
        let result = target
            .client
            .put(target.pathname, target.headers, first, target.idempotency)
            .await?;
        return Ok((result, size));
    }
    multipart(target, first, reader).await
}

async fn multipart(
    target: Target<'_>,
    first: Bytes,
    mut reader: PartReader,
) -> Result<(PutResult, u64)> {
    let client = target.client;
    let concurrency = client.config().parallel_parts();
    let upload = client.mpu_create(target.pathname, target.headers).await?;
    // Dropping the set (on any early return) aborts the parts still in flight.
    let mut in_flight: JoinSet<Result<CompletedPart>> = JoinSet::new();
    let mut done: Vec<CompletedPart> = Vec::new();
    let mut size = 0u64;
    let mut next = first;
    let mut number = 1u32;
    loop {
        size += next.len() as u64;
        let (client, pathname, headers, upload) = (
            client.clone(),
            target.pathname.to_string(),
            target.headers.clone(),
            upload.clone(),
        );
        let part = next;
        in_flight.spawn(async move {
            client
                .mpu_upload(&pathname, &headers, &upload, number, part)
                .await
        });
        number += 1;
        // Make room before reading another part, which bounds memory.
        while in_flight.len() >= concurrency {
            done.push(joined(in_flight.join_next().await)?);
        }
        while let Some(finished) = in_flight.try_join_next() {
            done.push(joined(Some(finished))?);
        }
        if reader.finished() {
            break;
        }
        next = reader.next_part().await?;
        if next.is_empty() {
            break;
        }
    }
    while let Some(finished) = in_flight.join_next().await {
        done.push(joined(Some(finished))?);
    }
    done.sort_by_key(|p| p.part_number);
    let completed = client
        .mpu_complete(
            target.pathname,
            target.headers,
            &upload,
            &done,
            target.idempotency,
        )
        .await?;
    let result = match completed {
        Some(result) => result,
        None => completed_by_an_earlier_attempt(client, target.pathname, size).await?,
    };
    Ok((result, size))
}

/// A retried completion found the upload gone: the attempt whose answer
/// was lost completed it. The blob must now have the uploaded size.
async fn completed_by_an_earlier_attempt(
    client: &Client,
    pathname: &str,
    size: u64,
) -> Result<PutResult> {
    let head = client.head(pathname).await?;
    if head.size != size {
        return Err(
            Error::new(ErrorKind::Backend, Provider::Vercel).with_message(format!(
                "the multipart upload's completion was retried after a lost answer, but the blob \
             now holds {} bytes, not the {size} uploaded; another writer may have replaced it",
                head.size
            )),
        );
    }
    Ok(PutResult {
        pathname: pathname.to_string(),
        content_type: head.content_type,
        etag: head.etag,
    })
}

fn joined(
    outcome: Option<std::result::Result<Result<CompletedPart>, tokio::task::JoinError>>,
) -> Result<CompletedPart> {
    match outcome {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(Error::new(ErrorKind::Backend, Provider::Vercel)
            .with_message(format!("a part upload task failed: {e}"))),
        None => Err(Error::new(ErrorKind::Backend, Provider::Vercel)
            .with_message("a part upload vanished before it finished")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    #[tokio::test]
    async fn parts_are_cut_at_the_part_size_whatever_the_chunks() {
        let chunks: Vec<Result<Bytes>> = [3usize, 5, 1, 7, 2]
            .iter()
            .map(|n| Ok(Bytes::from(vec![b'x'; *n])))
            .collect();
        let mut reader = PartReader::new(stream::iter(chunks).boxed(), 4);
        let mut sizes = Vec::new();
        while !reader.finished() {
            sizes.push(reader.next_part().await.expect("part").len());
        }
        assert_eq!(sizes, [4, 4, 4, 4, 2]);
    }
}
