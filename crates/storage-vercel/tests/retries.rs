//! Retries against a tiny misbehaving server on a real socket: transient
//! 5xx and 429 answers are retried with the SDK's request id and attempt
//! headers, `retry-after` is honoured, and non-idempotent writes are not
//! replayed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use storage_core::retry::RetryPolicy;
use storage_core::{BlobKey, BlobStore, ErrorKind, ListOptions, PutMode, PutOptions};
use storage_vercel::{VercelConfig, VercelStore};

/// What the server answers to the n-th request (0-based).
type Script = fn(usize) -> Response;

#[derive(Clone)]
struct Flaky {
    script: Script,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

async fn serve(State(flaky): State<Flaky>, request: Request) -> Response {
    let n = {
        let mut seen = flaky.seen.lock().expect("lock");
        seen.push(request.headers().clone());
        seen.len() - 1
    };
    (flaky.script)(n)
}

fn json(status: StatusCode, body: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        Body::from(body.to_string()),
    )
        .into_response()
}

async fn start(script: Script) -> (VercelStore, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(serve).with_state(Flaky {
        script,
        seen: seen.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = VercelConfig::new("vercel_blob_rw_flaky_secretvalue")
        .expect("token")
        .api_url(&format!("http://{addr}"))
        .expect("url")
        .retry(RetryPolicy::default().retries(3, Duration::from_millis(10)));
    (VercelStore::new(config).expect("store"), seen)
}

const EMPTY_LIST: &str = r#"{"blobs":[],"hasMore":false}"#;
const UNAVAILABLE: &str = r#"{"error":{"code":"service_unavailable","message":"try later"}}"#;

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn two_503s_then_success_is_retried_with_one_request_id() {
    let (store, seen) = start(|n| match n {
        0 | 1 => json(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        _ => json(StatusCode::OK, EMPTY_LIST),
    })
    .await;
    let page = store
        .list(ListOptions::new())
        .await
        .expect("list after retries");
    assert!(page.entries.is_empty());
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "two failures and one success");
    let ids: Vec<String> = seen
        .iter()
        .map(|h| header(h, "x-api-blob-request-id"))
        .collect();
    assert!(ids[0].starts_with("flaky:"), "{ids:?}");
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let attempts: Vec<String> = seen
        .iter()
        .map(|h| header(h, "x-api-blob-request-attempt"))
        .collect();
    assert_eq!(attempts, ["0", "1", "2"]);
}

#[tokio::test]
async fn plain_text_502_is_retried_too() {
    let (store, seen) = start(|n| match n {
        0 => (StatusCode::BAD_GATEWAY, "bad gateway").into_response(),
        _ => json(StatusCode::OK, EMPTY_LIST),
    })
    .await;
    store.list(ListOptions::new()).await.expect("list");
    assert_eq!(seen.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn persistent_503_gives_up_after_the_policy() {
    let (store, seen) = start(|_| json(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)).await;
    let err = store.list(ListOptions::new()).await.expect_err("gives up");
    assert_eq!(err.kind(), &ErrorKind::Backend);
    assert!(err.is_retryable(), "{err}");
    assert_eq!(seen.lock().expect("lock").len(), 4, "1 try + 3 retries");
}

fn rate_limited() -> Response {
    let mut resp = json(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"error":{"code":"rate_limited","message":"Too many requests"}}"#,
    );
    resp.headers_mut()
        .insert("retry-after", "1".parse().expect("header"));
    resp
}

#[tokio::test]
async fn rate_limited_is_retried_after_the_wait_the_server_asked_for() {
    let (store, seen) = start(|n| match n {
        0 => rate_limited(),
        _ => json(StatusCode::OK, EMPTY_LIST),
    })
    .await;
    let started = std::time::Instant::now();
    store
        .list(ListOptions::new())
        .await
        .expect("list after a 429");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "retry-after: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(seen.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn persistent_rate_limiting_surfaces_with_retry_after() {
    let (store, seen) = start(|_| rate_limited()).await;
    let key = BlobKey::new("a.txt").expect("key");
    let err = store.head(&key).await.expect_err("rate limited");
    assert_eq!(
        err.kind(),
        &ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert_eq!(seen.lock().expect("lock").len(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn a_create_is_not_replayed() {
    let (store, seen) = start(|_| json(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)).await;
    let key = BlobKey::new("once.txt").expect("key");
    let err = store
        .put(&key, "x".into(), PutOptions::new().mode(PutMode::Create))
        .await
        .expect_err("503");
    assert_eq!(err.kind(), &ErrorKind::Backend);
    assert_eq!(seen.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_transport_and_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let config = VercelConfig::new("vercel_blob_rw_gone_secretvalue")
        .expect("token")
        .api_url(&format!("http://{addr}"))
        .expect("url")
        .retry(RetryPolicy::default().retries(2, Duration::from_millis(5)));
    let store = VercelStore::new(config).expect("store");
    let err = store.list(ListOptions::new()).await.expect_err("refused");
    assert_eq!(err.kind(), &ErrorKind::Transport);
    let text = err.to_string();
    assert!(!text.contains("secretvalue"), "{text}");
    assert!(
        text.contains(&format!("http://{addr}")),
        "names the endpoint: {text}"
    );
    assert!(
        text.contains("VERCEL_BLOB_API_URL"),
        "names the variable: {text}"
    );
}
