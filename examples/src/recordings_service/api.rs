//! The service's endpoints.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use storage::{BlobStore, BlobStoreExt, ListOptions, SignMethod, SignOptions, SignedRequest};

use super::{MAX_UPLOAD_BYTES, PREFIX};

type Store = State<Arc<dyn BlobStore>>;

pub(super) async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

#[derive(Deserialize)]
pub(super) struct UploadRequest {
    filename: String,
    content_type: Option<String>,
    size: Option<u64>,
}

pub(super) async fn create_upload(State(store): Store, Json(req): Json<UploadRequest>) -> Response {
    if req.size.is_some_and(|s| s > MAX_UPLOAD_BYTES) {
        return failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the file is larger than 200 MiB",
        );
    }
    let key = format!(
        "{PREFIX}{}-{}",
        unix_millis(),
        clean_filename(&req.filename)
    );
    let content_type = req
        .content_type
        .filter(|ct| !ct.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut opts = SignOptions::new(SignMethod::Put).content_type(content_type);
    // Where the signed URL itself can bound the size (local, Vercel), let it;
    // an Azure SAS cannot, so there the declared size checked above is the bound.
    if store.capabilities().sign_max_size {
        opts = opts.max_size(MAX_UPLOAD_BYTES);
    }
    match store.sign_key(&key, opts).await {
        Ok(signed) => Json(json!({
            "key": key,
            "method": signed.method.as_str(),
            "url": signed.url,
            "headers": headers_object(&signed),
            "expires_at": unix_seconds(signed.expires_at),
        }))
        .into_response(),
        Err(e) => from_error(&e),
    }
}

pub(super) async fn list(State(store): Store) -> Response {
    let entries: Result<Vec<_>, _> = store
        .list_all(ListOptions::new().prefix(PREFIX))
        .try_collect()
        .await;
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => return from_error(&e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.key.as_str()[PREFIX.len()..].to_string();
        let disposition = format!("attachment; filename=\"{}\"", ascii_filename(&name));
        let opts = SignOptions::new(SignMethod::Get).content_disposition(disposition);
        let download = match store.signed_url(&entry.key, opts).await {
            Ok(signed) => signed.url,
            Err(e) => return from_error(&e),
        };
        out.push(json!({
            "key": entry.key.as_str(),
            "name": name,
            "size": entry.size,
            "last_modified": unix_seconds(entry.last_modified),
            "download_url": download,
        }));
    }
    Json(Value::Array(out)).into_response()
}

#[derive(Deserialize)]
pub(super) struct KeyQuery {
    key: String,
}

pub(super) async fn remove(State(store): Store, Query(q): Query<KeyQuery>) -> Response {
    if !q.key.starts_with(PREFIX) {
        return failure(StatusCode::BAD_REQUEST, "not a recording");
    }
    match store.delete_key(&q.key).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_error(&e),
    }
}

fn headers_object(signed: &SignedRequest) -> Value {
    Value::Object(
        signed
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A file name safe as one key segment: path separators and control
/// characters dropped, length capped; Unicode kept.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    match cleaned.trim_matches('.').trim() {
        "" => "recording".to_string(),
        _ => cleaned,
    }
}

/// The name as printable ASCII for a quoted `filename=` parameter.
fn ascii_filename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The storage error as the answer: the status its kind calls for, the
/// kind's short text for the client, the full (secret-free) error in the log.
fn from_error(e: &storage::Error) -> Response {
    let status =
        StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    tracing::warn!(error = %e, status = status.as_u16(), "storage call failed");
    failure(status, &e.kind().to_string())
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::memory::MemoryStore;
    use storage::{Error, ErrorKind, Provider};

    fn store() -> Store {
        State(Arc::new(MemoryStore::new()))
    }

    #[tokio::test]
    async fn deleting_a_recording_is_idempotent_and_a_bad_key_is_a_client_error() {
        let State(inner) = store();
        inner
            .put_bytes("recordings/1-a.webm", "x")
            .await
            .expect("put");
        let query = |key: &str| {
            Query(KeyQuery {
                key: key.to_string(),
            })
        };
        let gone = remove(State(inner.clone()), query("recordings/1-a.webm")).await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert!(!inner.exists("recordings/1-a.webm").await.expect("exists"));
        let again = remove(State(inner.clone()), query("recordings/1-a.webm")).await;
        assert_eq!(again.status(), StatusCode::NO_CONTENT);
        // The key rules answer before any I/O, as a 400 from InvalidKey.
        let bad = remove(State(inner), query("recordings/../secrets")).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn storage_errors_answer_with_their_kinds_status() {
        let status = |kind| from_error(&Error::new(kind, Provider::Azure)).status();
        assert_eq!(status(ErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(ErrorKind::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        // Refused service credentials are the server's fault, not the browser's.
        assert_eq!(
            status(ErrorKind::Unauthorized),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(status(ErrorKind::Timeout), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn a_store_that_cannot_sign_answers_501() {
        let request = Json(UploadRequest {
            filename: "a.webm".into(),
            content_type: None,
            size: Some(10),
        });
        // The memory store has no URLs to sign.
        let answer = create_upload(store(), request).await;
        assert_eq!(answer.status(), StatusCode::NOT_IMPLEMENTED);
    }
}
