//! Downloads that survive a broken connection.
//!
//! A network driver's download stream is wrapped so that when it fails
//! with a retryable error (a reset, a stalled body past the per-attempt
//! timeout, a body that ends before its length), the read is reopened with
//! a range starting at the first byte not yet delivered and `If-Match` on
//! the etag the download started with. A blob that changed meanwhile is
//! never spliced: the download fails with `PreconditionFailed` instead.
//! Consecutive failures without progress are bounded by the policy's retry
//! count; each delivered chunk resets that count.

use std::ops::Range;

use bytes::Bytes;
use futures::stream::{self, StreamExt};

use crate::driver::Driver;
use crate::retry::RetryPolicy;
use crate::{Blob, BlobKey, ByteRange, ByteStream, Error, ErrorKind, GetOptions, Result};

struct State<D> {
    driver: D,
    key: BlobKey,
    etag: String,
    policy: RetryPolicy,
    /// The next byte to deliver, and one past the last.
    next: u64,
    end: u64,
    stream: Option<ByteStream>,
    failures: u32,
    done: bool,
}

/// Wraps `blob`'s stream so that it resumes through `driver`.
pub(crate) fn resuming<D: Driver>(
    driver: D,
    key: BlobKey,
    blob: Blob,
    policy: RetryPolicy,
) -> Blob {
    let range: Range<u64> = blob.range.clone();
    let meta = blob.meta.clone();
    let state = State {
        driver,
        key,
        etag: meta.etag.clone(),
        policy,
        next: range.start,
        end: range.end,
        stream: Some(blob.into_stream()),
        failures: 0,
        done: false,
    };
    let body = stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let item = st.next_chunk().await;
        match item {
            Some(Ok(chunk)) => Some((Ok(chunk), st)),
            Some(Err(e)) => {
                st.done = true;
                Some((Err(e), st))
            }
            None => None,
        }
    })
    .boxed();
    Blob::new(meta, range, body)
}

impl<D: Driver> State<D> {
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        loop {
            let failure = match self.stream.as_mut() {
                Some(stream) => {
                    match tokio::time::timeout(self.policy.attempt_timeout, stream.next()).await {
                        Ok(Some(Ok(chunk))) => {
                            let len = chunk.len() as u64;
                            if self.next + len > self.end {
                                return Some(Err(Error::without_provider(ErrorKind::Backend)
                                    .with_message(format!(
                                        "the download sent more than the {} bytes it announced",
                                        self.end
                                    ))));
                            }
                            self.next += len;
                            if len > 0 {
                                self.failures = 0;
                            }
                            return Some(Ok(chunk));
                        }
                        Ok(Some(Err(e))) if e.is_retryable() => e,
                        Ok(Some(Err(e))) => return Some(Err(e)),
                        Ok(None) if self.next >= self.end => return None,
                        Ok(None) => {
                            Error::without_provider(ErrorKind::Transport).with_message(format!(
                                "the download ended after byte {} of {}",
                                self.next, self.end
                            ))
                        }
                        Err(_) => self.policy.attempt_timed_out(&self.driver.endpoint()),
                    }
                }
                None => Error::without_provider(ErrorKind::Transport)
                    .with_message("the download could not be reopened"),
            };
            self.stream = None;
            if self.failures >= self.policy.max_retries {
                return Some(Err(Error::without_provider(failure.kind().clone())
                    .with_message(format!(
                        "the download broke at byte {} of {} and could not be resumed after {} \
                         attempt(s) (retries: {}); read it again. Last failure: {}",
                        self.next,
                        self.end,
                        self.failures + 1,
                        crate::retry::MAX_RETRIES_VAR,
                        failure.message().unwrap_or("no detail")
                    ))
                    .with_source(failure)));
            }
            self.failures += 1;
            let delay = self.policy.delay(self.failures, failure.retry_after());
            tracing::debug!(
                error = %failure,
                at = self.next,
                of = self.end,
                attempt = self.failures,
                "resuming a download"
            );
            tokio::time::sleep(delay).await;
            match reopen(&self.driver, &self.key, &self.etag, self.next..self.end).await {
                Ok(stream) => self.stream = Some(stream),
                Err(e) if e.is_retryable() => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Opens the rest of the blob, pinned to the etag the download began with.
async fn reopen<D: Driver>(
    driver: &D,
    key: &BlobKey,
    etag: &str,
    rest: Range<u64>,
) -> Result<ByteStream> {
    let mut opts = GetOptions::new().range(ByteRange::Bounded {
        start: rest.start,
        end: rest.end,
    });
    opts.if_match = Some(etag.to_string());
    let changed = |seen: &str| {
        Error::without_provider(ErrorKind::PreconditionFailed).with_message(format!(
            "the blob changed while it was being downloaded (etag {} became {seen}); \
             nothing was spliced: read it again",
            etag
        ))
    };
    let blob = match driver.read_blob(key, opts).await {
        Ok(blob) => blob,
        Err(e) if e.kind() == &ErrorKind::PreconditionFailed => return Err(changed("another")),
        Err(e) => return Err(e),
    };
    if blob.meta.etag != etag {
        return Err(changed(&blob.meta.etag));
    }
    if blob.range.start != rest.start {
        return Err(
            Error::without_provider(ErrorKind::Backend).with_message(format!(
                "asked to resume at byte {} but the server answered from byte {}",
                rest.start, blob.range.start
            )),
        );
    }
    Ok(blob.into_stream())
}
