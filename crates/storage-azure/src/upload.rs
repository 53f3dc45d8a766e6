//! Streamed uploads with bounded memory.
//!
//! The body is read until one part is full. A body that fits in one part is
//! sent as a single Put Blob, which carries the write condition
//! (`If-None-Match: *` / `If-Match`). A longer body becomes a block upload:
//! parts are staged as uncommitted blocks, at most `max_concurrency` at a
//! time, and the blob appears only when the block list is committed at the
//! end. If the body stream fails, the upload is aborted before the commit:
//! readers keep seeing the old blob, or none. Azure drops uncommitted blocks
//! by itself after 7 days.
//!
//! object_store cannot attach a condition to the block-list commit, so a
//! conditional write of more than one part is refused as `Unsupported`
//! rather than done without its condition.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use object_store::azure::MicrosoftAzure;
use object_store::path::Path;
use object_store::{
    Attributes, ObjectStore, PutMode as OsPutMode, PutMultipartOptions, PutOptions as OsPutOptions,
    PutPayload, UpdateVersion, WriteMultipart,
};
use storage_core::{Body, ByteStream, Error, Provider, PutMode, Result};

use crate::error::{map_error, tag, Op};

/// What a finished upload reports.
pub(crate) struct Uploaded {
    pub etag: Option<String>,
    pub size: u64,
}

/// Tuning of one upload.
pub(crate) struct UploadPlan<'a> {
    pub key: &'a str,
    pub path: &'a Path,
    pub mode: &'a PutMode,
    pub attributes: Attributes,
    pub part_size: usize,
    pub max_concurrency: usize,
}

/// The write operation `mode` stands for, for error mapping.
pub(crate) fn op_for(mode: &PutMode) -> Op {
    match mode {
        PutMode::Overwrite => Op::Write,
        PutMode::Create => Op::WriteCreate,
        PutMode::IfMatch(_) => Op::WriteIfMatch,
    }
}

fn os_mode(mode: &PutMode) -> OsPutMode {
    match mode {
        PutMode::Overwrite => OsPutMode::Overwrite,
        PutMode::Create => OsPutMode::Create,
        PutMode::IfMatch(etag) => OsPutMode::Update(UpdateVersion {
            e_tag: Some(etag.clone()),
            version: None,
        }),
    }
}

/// Reads from `stream` until `limit` bytes are buffered or it ends.
/// Returns the buffer and whether the stream ended.
async fn fill(stream: &mut ByteStream, limit: usize) -> Result<(Bytes, bool)> {
    let mut buf = BytesMut::new();
    while buf.len() < limit {
        match stream.next().await {
            Some(chunk) => buf.extend_from_slice(&chunk?),
            None => return Ok((buf.freeze(), true)),
        }
    }
    Ok((buf.freeze(), false))
}

/// Uploads `body` under `plan.path`, all or nothing.
pub(crate) async fn upload(
    store: &MicrosoftAzure,
    body: Body,
    plan: UploadPlan<'_>,
) -> Result<Uploaded> {
    let op = op_for(plan.mode);
    let mut stream = body.into_stream();
    let (first, ended) = fill(&mut stream, plan.part_size)
        .await
        .map_err(|e| tag(e, plan.key))?;
    if ended {
        let size = first.len() as u64;
        let opts = OsPutOptions {
            mode: os_mode(plan.mode),
            attributes: plan.attributes,
            ..Default::default()
        };
        let result = store
            .put_opts(plan.path, PutPayload::from_bytes(first), opts)
            .await
            .map_err(|e| map_error(e, op, Some(plan.key)))?;
        return Ok(Uploaded {
            etag: result.e_tag,
            size,
        });
    }
    if *plan.mode != PutMode::Overwrite {
        return Err(
            Error::unsupported(Provider::Azure, "conditional put larger than one part")
                .with_key(plan.key)
                .with_message(format!(
                    "Azure can only apply Create/IfMatch to a single-request upload; this body is \
                 larger than the part size ({} bytes): raise it with AzureConfig::with_part_size",
                    plan.part_size
                )),
        );
    }
    let opts = PutMultipartOptions {
        attributes: plan.attributes,
        ..Default::default()
    };
    let multipart = store
        .put_multipart_opts(plan.path, opts)
        .await
        .map_err(|e| map_error(e, op, Some(plan.key)))?;
    let mut writer = WriteMultipart::new_with_chunk_size(multipart, plan.part_size);
    let mut size = first.len() as u64;
    writer.put(first);
    loop {
        let next = match stream.next().await {
            None => break,
            Some(Ok(chunk)) => Ok(chunk),
            Some(Err(e)) => Err(tag(e, plan.key)),
        };
        let staged = match next {
            Ok(chunk) => writer
                .wait_for_capacity(plan.max_concurrency)
                .await
                .map(|()| chunk)
                .map_err(|e| map_error(e, op, Some(plan.key))),
            Err(e) => Err(e),
        };
        match staged {
            Ok(chunk) => {
                size += chunk.len() as u64;
                writer.put(chunk);
            }
            Err(e) => {
                // Nothing was committed; dropping the staged blocks is best effort.
                if let Err(abort) = writer.abort().await {
                    tracing::debug!(key = plan.key, error = %crate::error::redact_text(&abort.to_string()), "aborting an Azure block upload failed");
                }
                return Err(e);
            }
        }
    }
    let result = writer
        .finish()
        .await
        .map_err(|e| map_error(e, op, Some(plan.key)))?;
    Ok(Uploaded {
        etag: result.e_tag,
        size,
    })
}
