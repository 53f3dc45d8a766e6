//! Write conditions as generations: `Create` is `ifGenerationMatch=0`,
//! `IfMatch(etag)` is `ifGenerationMatch=<etag>` (the etag is the
//! generation). Cloud Storage checks them atomically on the request that
//! makes the new version visible.
//!
//! A conditional write that is not one small request (a resumable upload,
//! a rewrite) also checks its condition first, with one metadata read, so
//! that a write which cannot succeed fails before its bytes move. That
//! first check is advice, not the guard: between it and the completion
//! another writer may win, and then the service's own check refuses the
//! write. (Emulators that ignore preconditions on rewrites and resumable
//! uploads, as fake-gcs-server does, are left with the first check alone,
//! which is not atomic.)

use storage_core::{BlobKey, Error, ErrorKind, Provider, PutMode, Result};

use crate::object::{generation_of, Urls};
use crate::rest::Rest;

/// The `ifGenerationMatch` a mode asks for, or the error for an etag that
/// names no generation (and so can match nothing).
pub(crate) fn generation_condition(mode: &PutMode, key: &BlobKey) -> Result<Option<String>> {
    match mode {
        PutMode::Overwrite => Ok(None),
        PutMode::Create => Ok(Some("0".to_string())),
        PutMode::IfMatch(etag) => match generation_of(etag) {
            Some(generation) => Ok(Some(generation.to_string())),
            None => Err(Error::new(ErrorKind::PreconditionFailed, Provider::Gcs)
                .with_key(key.as_str())
                .with_message(format!(
                    "`{etag}` is not an etag of this store (a generation number), so no version matches it"
                ))),
        },
    }
}

/// Checks `mode` against `key`'s current generation before a long write.
pub(crate) async fn check_first(
    rest: &Rest,
    urls: &Urls,
    key: &BlobKey,
    mode: &PutMode,
) -> Result<()> {
    let Some(wanted) = generation_condition(mode, key)? else {
        return Ok(());
    };
    let current = match crate::read::stat(rest, urls, key).await {
        Ok(meta) => meta.etag,
        Err(e) if e.is_not_found() => "0".to_string(),
        Err(e) => return Err(e),
    };
    if current == wanted {
        return Ok(());
    }
    let err = match mode {
        PutMode::Create => Error::new(ErrorKind::AlreadyExists, Provider::Gcs)
            .with_message("the blob exists, and the write was create-only"),
        _ => Error::new(ErrorKind::PreconditionFailed, Provider::Gcs).with_message(format!(
            "the blob's etag is {}, not the one the write was conditioned on",
            if current == "0" {
                "none (it does not exist)"
            } else {
                &current
            }
        )),
    };
    Err(err.with_key(key.as_str()))
}
