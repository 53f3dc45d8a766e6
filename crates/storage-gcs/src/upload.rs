//! Uploads with bounded memory, all or nothing.
//!
//! The body is read until one chunk (8 MiB by default) is full. A body that
//! fits goes up as one JSON API multipart upload (`uploadType=multipart`:
//! the metadata and the bytes in one request). A longer body becomes a
//! resumable upload: a session is opened with the metadata, chunks are sent
//! in order, and the object appears only when the final chunk, which
//! declares the total size, arrives. If the body fails, or a chunk cannot
//! be sent, the final chunk is never sent and the session is cancelled:
//! readers keep seeing the old blob, or none. At most one chunk and the
//! piece of the body read ahead are in memory.
//!
//! The write condition (`ifGenerationMatch=0` for `Create`, the generation
//! for `IfMatch`) travels on the request that makes the blob visible (the
//! multipart upload) or on the session's opening, which Cloud Storage
//! checks when the upload completes. A conditional resumable upload also
//! checks the condition before it opens the session (see
//! [`condition`](crate::condition)), so a write that cannot succeed fails
//! before gigabytes move. Conditional writes are never replayed.
//!
//! A chunk whose answer was lost is not simply sent again: the session is
//! asked how many bytes it holds (`Content-Range: bytes */*`), and only
//! the rest is sent, as the resumable protocol prescribes, so a chunk the
//! service already stored is never appended twice.

use bytes::{BufMut, Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use storage_core::retry::Idempotency;
use storage_core::Result;
use storage_core::{BlobKey, BlobMeta, Body, PutMode, PutOptions};

use crate::condition::{check_first, generation_condition};
use crate::error::{malformed, tag, Op};
use crate::object::{Object, Urls};
use crate::rest::{header_value, Answer, Request, Rest};
use storage_object_store::PartReader;

/// The write operation `mode` stands for, for error mapping.
fn op_for(mode: &PutMode) -> Op {
    match mode {
        PutMode::Overwrite => Op::Write,
        PutMode::Create => Op::WriteCreate,
        PutMode::IfMatch(_) => Op::WriteIfMatch,
    }
}

/// The object resource a write sends: name and properties.
fn resource(key: &BlobKey, opts: &PutOptions) -> serde_json::Value {
    let mut resource = json!({
        "name": key.as_str(),
        "contentType": opts.content_type_for(key),
    });
    if let Some(cc) = &opts.cache_control {
        resource["cacheControl"] = json!(cc);
    }
    if let Some(cd) = &opts.content_disposition {
        resource["contentDisposition"] = json!(cd);
    }
    if !opts.metadata.is_empty() {
        resource["metadata"] = json!(opts.metadata);
    }
    resource
}

/// Uploads `body` as `key`, all or nothing.
pub(crate) async fn upload(
    rest: &Rest,
    urls: &Urls,
    key: &BlobKey,
    body: Body,
    opts: &PutOptions,
    part_size: usize,
) -> Result<BlobMeta> {
    let op = op_for(&opts.mode);
    let condition = generation_condition(&opts.mode, key)?;
    // A condition makes a replay unsafe: its own first attempt may have
    // created the blob or moved the generation it checks.
    let idempotency = match opts.mode {
        PutMode::Overwrite => Idempotency::Idempotent,
        _ => Idempotency::NotIdempotent,
    };
    let resource = resource(key, opts);
    let mut parts = PartReader::new(body, part_size);
    let (first, ended) = parts.next().await.map_err(|e| tag(e, key.as_str()))?;
    let mut url = urls.upload()?;
    if let Some(generation) = &condition {
        url.query_pairs_mut()
            .append_pair("ifGenerationMatch", generation);
    }
    if ended {
        url.query_pairs_mut()
            .append_pair("uploadType", "multipart")
            .append_pair("name", key.as_str());
        let boundary = format!("blob-storage-{:016x}", fastrand::u64(..));
        let content_type = opts.content_type_for(key);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            header_value(&format!("multipart/related; boundary={boundary}"))?,
        );
        let answer = rest
            .fetch(Request {
                method: Method::POST,
                url: &url,
                headers,
                body: multipart_body(&boundary, &resource, &content_type, &first),
                op,
                key: key.as_str(),
                idempotency,
            })
            .await?;
        return Object::from_json(&answer.body, op, key.as_str())?.meta(op);
    }

    check_first(rest, urls, key, &opts.mode).await?;
    url.query_pairs_mut()
        .append_pair("uploadType", "resumable")
        .append_pair("name", key.as_str());
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    headers.insert(
        "x-upload-content-type",
        header_value(&opts.content_type_for(key))?,
    );
    let opened = rest
        .fetch(Request {
            method: Method::POST,
            url: &url,
            headers,
            body: Bytes::from(resource.to_string()),
            op,
            key: key.as_str(),
            // Opening a session changes nothing: a second one is simply
            // never used.
            idempotency: Idempotency::Idempotent,
        })
        .await?;
    let session = session_uri(&opened, &url, op, key)?;
    let mut upload = Resumable {
        rest,
        session: &session,
        key,
        op,
        idempotency,
        offset: 0,
    };
    match upload.send_all(first, &mut parts).await {
        // The final answer's body was lost on the way: the blob is written,
        // so its properties are read instead.
        Ok(answer) if answer.body.is_empty() => crate::read::stat(rest, urls, key).await,
        Ok(answer) => Object::from_json(&answer.body, op, key.as_str())?.meta(op),
        Err(e) => {
            upload.cancel().await;
            Err(e)
        }
    }
}

/// A multipart/related body: the resource as JSON, then the bytes.
fn multipart_body(
    boundary: &str,
    resource: &serde_json::Value,
    content_type: &str,
    data: &Bytes,
) -> Bytes {
    let head = format!(
        "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{resource}\r\n\
         --{boundary}\r\nContent-Type: {content_type}\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = BytesMut::with_capacity(head.len() + data.len() + tail.len());
    body.put_slice(head.as_bytes());
    body.put_slice(data);
    body.put_slice(tail.as_bytes());
    body.freeze()
}

/// The session URI of an opened resumable upload: the `Location`, resolved
/// against the request's URL.
fn session_uri(answer: &Answer, url: &url::Url, op: Op, key: &BlobKey) -> Result<url::Url> {
    let location = answer
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            malformed(
                op,
                key.as_str(),
                "the service opened no resumable session (no Location)",
            )
        })?;
    url.join(location).map_err(|e| {
        malformed(
            op,
            key.as_str(),
            format!("the resumable session's Location is not a URL: {e}"),
        )
    })
}

/// One resumable upload in progress.
struct Resumable<'a> {
    rest: &'a Rest,
    session: &'a url::Url,
    key: &'a BlobKey,
    op: Op,
    idempotency: Idempotency,
    /// Bytes the session holds.
    offset: u64,
}

impl Resumable<'_> {
    /// Sends `first` and the rest of `parts`; the final answer.
    async fn send_all(&mut self, first: Bytes, parts: &mut PartReader) -> Result<Answer> {
        let mut chunk = first;
        loop {
            let (next, ended) = parts.next().await.map_err(|e| tag(e, self.key.as_str()))?;
            if ended && next.is_empty() {
                let total = self.offset + chunk.len() as u64;
                return self.send(chunk, Some(total)).await;
            }
            self.send(chunk, None).await?;
            if ended {
                let total = self.offset + next.len() as u64;
                return self.send(next, Some(total)).await;
            }
            chunk = next;
        }
    }

    /// Sends one chunk at the current offset; `total` on the final one.
    /// A retry first asks the session how much it holds and sends only the
    /// rest of the chunk.
    async fn send(&mut self, chunk: Bytes, total: Option<u64>) -> Result<Answer> {
        let start = self.offset;
        let end = start + chunk.len() as u64;
        let this = &*self;
        let answer = this
            .rest
            .policy()
            .run(
                this.rest.endpoint(),
                this.chunk_idempotency(total),
                |attempt| {
                    let chunk = chunk.clone();
                    async move {
                        let mut from = start;
                        if attempt > 0 {
                            match this.status(total).await? {
                                Persisted::Complete(answer) => return Ok(answer),
                                Persisted::Bytes(held) => from = held.clamp(start, end),
                            }
                            if from == end && total.is_none() {
                                return Ok(Answer {
                                    status: StatusCode::PERMANENT_REDIRECT,
                                    headers: HeaderMap::new(),
                                    body: Bytes::new(),
                                });
                            }
                        }
                        let slice = chunk.slice((from - start) as usize..);
                        this.put(slice, from, total).await
                    }
                },
            )
            .await
            .map_err(|e| tag(e, self.key.as_str()))?;
        self.offset = end;
        Ok(answer)
    }

    /// A non-final chunk may be sent again (the status query makes it
    /// exact); the final one completes the write, so it is replayed only
    /// when the write itself may be.
    fn chunk_idempotency(&self, total: Option<u64>) -> Idempotency {
        if total.is_none() {
            Idempotency::Idempotent
        } else {
            self.idempotency
        }
    }

    /// One `PUT` of `data` at `from`. The answer's head is the answer: a
    /// `308` says the chunk is held (its body is not read), and a final
    /// `2xx` whose body breaks on the way still means the blob was written
    /// (the caller then reads its properties instead).
    async fn put(&self, data: Bytes, from: u64, total: Option<u64>) -> Result<Answer> {
        let total_text = total.map_or_else(|| "*".to_string(), |t| t.to_string());
        let range = if data.is_empty() {
            format!("bytes */{total_text}")
        } else {
            format!("bytes {from}-{}/{total_text}", from + data.len() as u64 - 1)
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_RANGE, header_value(&range)?);
        let accept: fn(StatusCode) -> bool = if total.is_some() {
            |s| s.is_success()
        } else {
            |s| s == StatusCode::PERMANENT_REDIRECT || s.is_success()
        };
        let request = Request {
            method: Method::PUT,
            url: self.session,
            headers,
            body: data,
            op: self.op,
            key: self.key.as_str(),
            idempotency: Idempotency::NotIdempotent,
        };
        let response = self.rest.respond(&request, accept).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = if status == StatusCode::PERMANENT_REDIRECT {
            Bytes::new()
        } else {
            response.bytes().await.unwrap_or_default()
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Asks the session how many bytes it holds.
    async fn status(&self, total: Option<u64>) -> Result<Persisted> {
        let total_text = total.map_or_else(|| "*".to_string(), |t| t.to_string());
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_RANGE,
            header_value(&format!("bytes */{total_text}"))?,
        );
        let answer = self
            .rest
            .attempt(
                Request {
                    method: Method::PUT,
                    url: self.session,
                    headers,
                    body: Bytes::new(),
                    op: self.op,
                    key: self.key.as_str(),
                    idempotency: Idempotency::NotIdempotent,
                },
                |s| s == StatusCode::PERMANENT_REDIRECT || s.is_success(),
            )
            .await?;
        if answer.status.is_success() {
            return Ok(Persisted::Complete(answer));
        }
        // `Range: bytes=0-N` names the last byte held; none means nothing.
        let held = answer
            .headers
            .get(RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("bytes=0-"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .map_or(0, |last| last + 1);
        Ok(Persisted::Bytes(held))
    }

    /// Cancels the session so nothing of it is ever committed. Best effort:
    /// an abandoned session expires on its own after a week.
    async fn cancel(&self) {
        let request = Request::new(Method::DELETE, self.session, self.op, self.key.as_str());
        // Cloud Storage answers a cancelled session with 499.
        let _ = self.rest.attempt(request, |_| true).await;
    }
}

/// What a status query found.
enum Persisted {
    /// The upload is complete: the object's resource.
    Complete(Answer),
    /// The session holds this many bytes.
    Bytes(u64),
}
