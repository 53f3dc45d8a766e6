//! Serving blob contents: `GET`/`HEAD <blob url>` with ranges, conditional
//! requests, downloads, and the private-blob access rules.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::pathname::Access;
use crate::presign;
use crate::query::Query;
use crate::state::AppState;
use crate::storage::{BlobMeta, Content};
use crate::write::{cache_control, content_disposition, etags_match};

/// The outcome of interpreting a `Range` header against a size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// Serve everything (no header, or one this server chooses to ignore).
    Full,
    /// Serve bytes `start..=end`.
    Partial(u64, u64),
    /// 416: no byte of the range exists.
    Unsatisfiable,
}

/// Interprets a single `bytes=` range; multi-range and malformed headers are
/// ignored, as RFC 9110 permits, and answered with the whole blob.
pub fn parse_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeRequest::Full;
        };
        if suffix == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Partial(size.saturating_sub(suffix), size - 1);
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeRequest::Full;
    };
    let end = if last.is_empty() {
        None
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => Some(end),
            _ => return RangeRequest::Full,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial(start, end.map_or(size - 1, |e| e.min(size - 1)))
}

fn if_none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == "*" || etags_match(candidate, etag))
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn common_headers(meta: &BlobMeta, download: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    set(&mut h, header::ETAG, &meta.etag);
    set(&mut h, header::CACHE_CONTROL, &cache_control(meta));
    set(
        &mut h,
        header::LAST_MODIFIED,
        &httpdate::fmt_http_date(meta.uploaded_at()),
    );
    set(
        &mut h,
        header::CONTENT_DISPOSITION,
        &content_disposition(&meta.pathname, download),
    );
    set(&mut h, header::ACCEPT_RANGES, "bytes");
    h
}

/// Serves one blob read; `access` is the access named by the URL.
pub async fn handle(
    state: &AppState,
    method: &Method,
    access: Access,
    raw_path: &str,
    query: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let operation = match *method {
        Method::GET => "get",
        Method::HEAD => "head",
        _ => return Err(ApiError::method_not_allowed()),
    };
    let pathname = crate::pathname::decode(raw_path)?;
    let (meta, content) = state
        .storage
        .get(&pathname)
        .await
        .filter(|(m, _)| m.access == access)
        .ok_or_else(ApiError::not_found)?;
    if meta.access == Access::Private {
        let allowed = match auth::bearer(headers) {
            Some(token) => state.token.matches(token),
            None if presign::is_presigned(query) => {
                presign::verify(&state.token, &state.store_id, operation, &pathname, query)?;
                true
            }
            None => false,
        };
        if !allowed {
            return Err(ApiError::forbidden());
        }
    }

    let download = query.get("download") == Some("1");
    let mut response_headers = common_headers(&meta, download);
    if if_none_match_hits(headers, &meta.etag) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        *response.headers_mut() = response_headers;
        return Ok(response);
    }
    set(
        &mut response_headers,
        header::CONTENT_TYPE,
        &meta.content_type,
    );

    let (status, start, len) = match parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        meta.size,
    ) {
        RangeRequest::Full => (StatusCode::OK, 0, meta.size),
        RangeRequest::Partial(start, end) => {
            set(
                &mut response_headers,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{}", meta.size),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError {
                status: StatusCode::RANGE_NOT_SATISFIABLE,
                code: "bad_request",
                message: "Requested range not satisfiable".into(),
            }
            .into_response_with_headers();
            set(
                response.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{}", meta.size),
            );
            return Ok(response);
        }
    };
    set(
        &mut response_headers,
        header::CONTENT_LENGTH,
        &len.to_string(),
    );

    let body = if operation == "head" {
        Body::empty()
    } else {
        match content {
            Content::Memory(bytes) => {
                // Ranges are validated against the size, so these bounds hold.
                let start =
                    usize::try_from(start).map_err(|_| ApiError::internal("range too large"))?;
                let end = usize::try_from(start as u64 + len)
                    .map_err(|_| ApiError::internal("range too large"))?;
                Body::from(bytes.slice(start..end))
            }
            Content::File(path) => {
                let mut file = tokio::fs::File::open(&path).await?;
                file.seek(std::io::SeekFrom::Start(start)).await?;
                Body::from_stream(tokio_util::io::ReaderStream::new(file.take(len)))
            }
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    Ok(response)
}

impl ApiError {
    fn into_response_with_headers(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), Partial(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Partial(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Partial(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Partial(0, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Partial(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Full);
    }
}
