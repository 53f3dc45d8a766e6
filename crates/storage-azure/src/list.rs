//! Listing one page at a time with Azure's own continuation markers.
//!
//! Pages come from object_store's `PaginatedListStore` (one List Blobs
//! request each, with `maxresults` = the page size and a raw string prefix,
//! so `rec` matches `record.txt` too). The cursor handed to callers is
//! Azure's `NextMarker` behind a one-letter tag, so paging never re-reads
//! earlier pages.
//!
//! object_store drops a blob whose name equals the prefix exactly, so the
//! first page of a prefix that is itself a valid key looks that key up with
//! one extra `HEAD` (it sorts before everything else under the prefix).

use object_store::azure::MicrosoftAzure;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::ObjectMeta;
use storage_core::{BlobKey, Error, ErrorKind, ListEntry, ListOptions, ListPage, Provider, Result};

use crate::error::{map_error, Op};
use crate::meta::normalize_etag;

/// Cursor tag: continue with this Azure marker.
const MARKER: char = 'm';
/// Cursor tag: the exact-prefix blob was the whole first page; start the
/// listing proper.
const AFTER_EXACT: char = 's';

enum Position {
    Start,
    AfterExact,
    Marker(String),
}

fn parse_cursor(cursor: Option<&str>) -> Result<Position> {
    let Some(cursor) = cursor else {
        return Ok(Position::Start);
    };
    let mut chars = cursor.chars();
    match chars.next() {
        Some(MARKER) if cursor.len() > 1 => Ok(Position::Marker(chars.as_str().to_string())),
        Some(AFTER_EXACT) if cursor.len() == 1 => Ok(Position::AfterExact),
        _ => Err(Error::new(ErrorKind::InvalidInput, Provider::Azure)
            .with_message("the list cursor was not returned by this store")),
    }
}

/// One page of `opts`; `exact` looks up the blob named exactly like the
/// prefix (the caller's `head`).
pub(crate) async fn page<F, Fut>(
    store: &MicrosoftAzure,
    opts: &ListOptions,
    exact: F,
) -> Result<ListPage>
where
    F: FnOnce(BlobKey) -> Fut,
    Fut: std::future::Future<Output = Result<Option<ListEntry>>>,
{
    opts.validate()
        .map_err(|e| e.with_provider(Provider::Azure))?;
    let prefix = opts.prefix_str();
    let limit = opts.page_size();
    let position = parse_cursor(opts.cursor.as_deref())?;
    let mut result = ListPage::default();
    if let Position::Start = position {
        if !prefix.is_empty() && !prefix.ends_with('/') {
            if let Ok(key) = BlobKey::new(prefix) {
                if let Some(entry) = exact(key).await? {
                    result.entries.push(entry);
                }
            }
        }
    }
    let room = limit - result.entries.len();
    if room == 0 {
        result.cursor = Some(AFTER_EXACT.to_string());
        return Ok(result);
    }
    let request = PaginatedListOptions {
        delimiter: opts.delimiter.then_some("/".into()),
        max_keys: Some(room),
        page_token: match position {
            Position::Marker(m) => Some(m),
            _ => None,
        },
        ..Default::default()
    };
    let prefix_arg = (!prefix.is_empty()).then_some(prefix);
    let answer = store
        .list_paginated(prefix_arg, request)
        .await
        .map_err(|e| map_error(e, Op::List, None))?;
    for meta in answer.result.objects {
        // A name the key rules refuse (written by another tool) cannot be
        // handed out as a BlobKey; skipping it keeps the rest of the
        // container listable, as on every other provider.
        match entry(meta) {
            Ok(entry) => result.entries.push(entry),
            Err(e) => tracing::warn!(error = %e, "skipping a blob whose name breaks the key rules"),
        }
    }
    result.folders = answer
        .result
        .common_prefixes
        .into_iter()
        .map(|p| format!("{}/", p.as_ref()))
        .collect();
    result.cursor = answer.page_token.map(|m| format!("{MARKER}{m}"));
    Ok(result)
}

fn entry(meta: ObjectMeta) -> Result<ListEntry> {
    let key = BlobKey::new(meta.location.as_ref()).map_err(|e| {
        e.with_provider(Provider::Azure)
            .with_message("the container holds a blob whose name breaks the key rules")
    })?;
    Ok(ListEntry::new(
        key,
        meta.size,
        normalize_etag(meta.e_tag.as_deref().unwrap_or_default()),
        meta.last_modified.into(),
    ))
}
