//! A gateway in front of moto that makes two checks S3 makes and moto 5
//! does not, so the adapter's tests meet S3's semantics:
//!
//! - every request's SigV4 signature is verified against the testkit's key
//!   pair ([`ACCESS_KEY_ID`], [`SECRET_ACCESS_KEY`]): presigned URLs (the
//!   signature over method, path, query and signed headers, so another
//!   method, another key or another content type is refused with 403
//!   `SignatureDoesNotMatch`, and the expiry: 403 `AccessDenied`, "Request
//!   has expired") and `Authorization` headers (a wrong secret is 403
//!   `SignatureDoesNotMatch`, an unknown key 403 `InvalidAccessKeyId`);
//!   see [`sigv4`](super::sigv4);
//! - `If-Match` on `CompleteMultipartUpload` is enforced (412
//!   `PreconditionFailed` for another etag, 404 `NoSuchKey` for a missing
//!   object), as S3 has done since November 2024.
//!
//! Everything else is relayed to moto unchanged (bodies are buffered; test
//! bodies are small). The payload hash a request declares
//! (`x-amz-content-sha256`) is signed over but not compared with the body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::sigv4::{self, Presigned, Refusal};
use super::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// A running gateway; dropping it stops it.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Its base URL, `http://127.0.0.1:<port>`: an S3 endpoint (path style).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Upstream {
    base: String,
    http: reqwest::Client,
}

/// Starts a gateway to moto at `upstream` on the calling runtime.
pub(crate) async fn start(upstream: &str) -> std::io::Result<Gateway> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(Upstream {
        base: upstream.trim_end_matches('/').to_string(),
        http: reqwest::Client::new(),
    });
    let app = Router::new().fallback(relay).with_state(state);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Gateway { addr, task })
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [("content-type", "application/xml")], body).into_response()
}

fn refused(refusal: Refusal) -> Response {
    let status = match refusal.code {
        "AuthorizationQueryParametersError" => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    s3_error(status, refusal.code, &refusal.message)
}

async fn relay(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => return s3_error(StatusCode::BAD_REQUEST, "IncompleteBody", &e.to_string()),
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    // Verified before any await: the header lookup is not `Sync`.
    let verdict = {
        let headers = parts.headers.clone();
        let header = move |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let signed = Presigned {
            method: parts.method.as_str(),
            path: &path,
            query: &query,
            header: &header,
        };
        let now = SystemTime::now();
        if sigv4::is_presigned(&query) {
            sigv4::verify(&signed, ACCESS_KEY_ID, SECRET_ACCESS_KEY, now)
        } else {
            sigv4::verify_header(&signed, ACCESS_KEY_ID, SECRET_ACCESS_KEY, now)
        }
    };
    if let Err(refusal) = verdict {
        return refused(refusal);
    }
    let completes =
        parts.method == Method::POST && query.split('&').any(|p| p.starts_with("uploadId="));
    if let (true, Some(wanted)) = (completes, parts.headers.get("if-match")) {
        let wanted = wanted
            .to_str()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        let authorization = parts.headers.get("authorization").cloned();
        if let Some(refusal) = check_if_match(&upstream, &path, &wanted, authorization).await {
            return refusal;
        }
    }
    forward(&upstream, parts.method, &path, &query, &parts.headers, body).await
}

/// S3's `If-Match` on a completion: the object must exist with that etag.
async fn check_if_match(
    upstream: &Upstream,
    path: &str,
    wanted: &str,
    authorization: Option<axum::http::HeaderValue>,
) -> Option<Response> {
    // moto refuses anonymous reads of objects; it accepts any
    // `Authorization`, so the completion's own is reused.
    let mut head = upstream.http.head(format!("{}{path}", upstream.base));
    if let Some(authorization) = authorization {
        head = head.header("authorization", authorization);
    }
    let head = head.send().await;
    match head {
        Ok(answer) if answer.status() == reqwest::StatusCode::NOT_FOUND => Some(s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )),
        Ok(answer) => {
            let current = answer
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .trim_matches('"')
                .to_string();
            (current != wanted).then(|| {
                s3_error(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
            })
        }
        Err(e) => Some(s3_error(
            StatusCode::BAD_GATEWAY,
            "GatewayError",
            &e.to_string(),
        )),
    }
}

async fn forward(
    upstream: &Upstream,
    method: Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let url = if query.is_empty() {
        format!("{}{path}", upstream.base)
    } else {
        format!("{}{path}?{query}", upstream.base)
    };
    let mut request = upstream.http.request(method, url).body(body);
    for (name, value) in headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return s3_error(StatusCode::BAD_GATEWAY, "GatewayError", &e.to_string()),
    };
    let status = answer.status();
    let mut response_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "connection" | "transfer-encoding") {
            response_headers.append(name, value.clone());
        }
    }
    let body = match answer.bytes().await {
        Ok(body) => body,
        Err(e) => return s3_error(StatusCode::BAD_GATEWAY, "GatewayError", &e.to_string()),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}
