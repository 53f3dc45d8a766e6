//! `GET /?limit=&prefix=&cursor=&mode=`: list blobs, optionally folded into folders.

use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderMap;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::pathname::blob_url;
use crate::query::Query;
use crate::state::AppState;
use crate::storage::BlobMeta;

const DEFAULT_LIMIT: usize = 1000;
const MAXIMUM_LIMIT: usize = 1000;

enum Entry {
    Blob(BlobMeta),
    Folder(String),
}

impl Entry {
    fn key(&self) -> &str {
        match self {
            Entry::Blob(meta) => &meta.pathname,
            Entry::Folder(folder) => folder,
        }
    }
}

pub(super) async fn list(
    state: &AppState,
    query: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let credential = auth::authenticate(state, headers, query, None)?;
    auth::require_read_write(&credential)?;
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAXIMUM_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit must be between 1 and {MAXIMUM_LIMIT}"
                )))
            }
        },
    };
    let prefix = query.get("prefix").unwrap_or_default();
    let folded = match query.get("mode") {
        None | Some("expanded") => false,
        Some("folded") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown list mode \"{other}\""
            )))
        }
    };
    // The cursor is the last key of the previous page, opaque to clients.
    let after = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid cursor"))?,
        ),
    };

    let mut entries: Vec<Entry> = Vec::new();
    for meta in state.storage.list().await {
        let Some(rest) = meta.pathname.strip_prefix(prefix) else {
            continue;
        };
        if folded {
            if let Some(slash) = rest.find('/') {
                let folder = format!("{prefix}{}", &rest[..=slash]);
                // Folder markers (`dir/`) directly at the prefix are the prefix itself.
                if folder == prefix {
                    continue;
                }
                if !matches!(entries.last(), Some(Entry::Folder(f)) if *f == folder) {
                    entries.push(Entry::Folder(folder));
                }
                continue;
            }
        }
        entries.push(Entry::Blob(meta));
    }
    // Blobs and folders interleave by key; a folder's key sorts before its content.
    entries.sort_by(|a, b| a.key().cmp(b.key()));
    entries.dedup_by(|a, b| a.key() == b.key());

    let start = match &after {
        None => 0,
        Some(after) => entries.partition_point(|e| e.key() <= after.as_str()),
    };
    let page: Vec<&Entry> = entries[start..].iter().take(limit).collect();
    let has_more = start + page.len() < entries.len();
    let mut blobs = Vec::new();
    let mut folders = Vec::new();
    for entry in &page {
        match entry {
            Entry::Blob(meta) => {
                let url = blob_url(&state.base_url, meta.access, &meta.pathname);
                blobs.push(serde_json::json!({
                    "url": url,
                    "downloadUrl": format!("{url}?download=1"),
                    "pathname": meta.pathname,
                    "size": meta.size,
                    "uploadedAt": humantime::format_rfc3339_millis(meta.uploaded_at()).to_string(),
                    "etag": meta.etag,
                }));
            }
            Entry::Folder(folder) => folders.push(folder.clone()),
        }
    }
    let mut result = serde_json::json!({ "blobs": blobs, "hasMore": has_more });
    if let Some(obj) = result.as_object_mut() {
        if has_more {
            if let Some(last) = page.last() {
                obj.insert("cursor".into(), URL_SAFE_NO_PAD.encode(last.key()).into());
            }
        }
        if folded {
            obj.insert("folders".into(), folders.into());
        }
    }
    Ok(super::json(&result))
}
