//! The connector against real loopback servers: what it retries, what it
//! never replays, and how a silent server ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use object_store::client::{HttpErrorKind, HttpRequest, HttpRequestBody, HttpService};
use object_store::PutPayload;
use storage_core::retry::RetryPolicy;
use storage_core::ErrorKind;
use storage_object_store::{map_error, PolicyHttp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Counts the requests of each test and what bodies they carried.
#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<Bytes>>>,
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .retries(3, Duration::from_millis(10))
        .timeouts(
            Duration::from_secs(2),
            Duration::from_secs(2),
            Duration::from_secs(10),
        )
}

/// A server whose first answer is `first` (with `Retry-After: 1` when it
/// is a 503 or a 429) and whose later answers are `200 ok`; `always` makes
/// every answer `first`.
async fn serve(first: StatusCode, always: bool) -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/{*path}",
            any(
                move |State(seen): State<Seen>, _headers: HeaderMap, body: Bytes| async move {
                    let n = seen.calls.fetch_add(1, Ordering::SeqCst);
                    seen.bodies.lock().expect("not poisoned").push(body);
                    if n == 0 || always {
                        (
                            first,
                            [("retry-after", "1")],
                            "<Error><Code>SlowDown</Code></Error>",
                        )
                            .into_response()
                    } else {
                        (StatusCode::OK, "ok").into_response()
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: HttpRequestBody,
) -> HttpRequest {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("valid request")
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_after_the_wait() {
    let (base, seen) = serve(StatusCode::SERVICE_UNAVAILABLE, false).await;
    let http = PolicyHttp::new(&fast()).expect("client");
    let started = Instant::now();
    let answer = http
        .call(request(
            "GET",
            &format!("{base}/b/k"),
            &[],
            HttpRequestBody::empty(),
        ))
        .await
        .expect("answered");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.into_body().bytes().await.expect("body"), "ok");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_is_retried_and_a_streamed_body_is_sent_again_whole() {
    let (base, seen) = serve(StatusCode::TOO_MANY_REQUESTS, false).await;
    let http = PolicyHttp::new(&fast()).expect("client");
    let payload: PutPayload = vec![
        bytes::Bytes::from_static(b"part one, "),
        bytes::Bytes::from_static(b"part two"),
    ]
    .into_iter()
    .collect();
    let answer = http
        .call(request("PUT", &format!("{base}/b/k"), &[], payload.into()))
        .await
        .expect("answered");
    assert_eq!(answer.status(), 200);
    let bodies = seen.bodies.lock().expect("not poisoned").clone();
    assert_eq!(bodies, vec![Bytes::from("part one, part two"); 2]);
}

#[tokio::test]
async fn a_conditional_put_is_never_replayed_and_its_last_answer_is_handed_on() {
    let (base, seen) = serve(StatusCode::SERVICE_UNAVAILABLE, true).await;
    let policy = fast().retries(3, Duration::from_millis(1));
    let http = PolicyHttp::new(&policy).expect("client");
    for condition in [("If-None-Match", "*"), ("If-Match", "\"0x1\"")] {
        seen.calls.store(0, Ordering::SeqCst);
        let answer = http
            .call(request(
                "PUT",
                &format!("{base}/b/k"),
                &[condition],
                HttpRequestBody::from("x".to_string()),
            ))
            .await
            .expect("the 503 itself");
        assert_eq!(answer.status(), 503);
        assert_eq!(seen.calls.load(Ordering::SeqCst), 1, "{condition:?}");
    }
    // The same write without a condition is retried (Retry-After capped
    // by nothing here: 1 s each, so only one retry is let through).
    seen.calls.store(0, Ordering::SeqCst);
    let policy = fast().retries(1, Duration::from_millis(1));
    let answer = PolicyHttp::new(&policy)
        .expect("client")
        .call(request(
            "PUT",
            &format!("{base}/b/k"),
            &[],
            HttpRequestBody::empty(),
        ))
        .await
        .expect("the 503 itself");
    assert_eq!(answer.status(), 503);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

/// A server that resets its first connection after reading the request
/// and answers `200 ok` on the next ones.
async fn resets_once() -> (String, Arc<AtomicUsize>) {
    cuts_once(b"").await
}

/// A server that writes `first` on its first connection and then resets
/// it, and answers `200 ok` on the next ones.
async fn cuts_once(first: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if n == 0 {
                let _ = socket.write_all(first).await;
                socket2::SockRef::from(&socket)
                    .set_linger(Some(Duration::ZERO))
                    .expect("linger");
                drop(socket);
            } else {
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        }
    });
    (format!("http://{addr}"), connections)
}

#[tokio::test]
async fn a_reset_is_retried_for_a_read_and_not_for_a_conditional_write() {
    let http = PolicyHttp::new(&fast()).expect("client");
    let (base, connections) = resets_once().await;
    let answer = http
        .call(request(
            "GET",
            &format!("{base}/b/k"),
            &[],
            HttpRequestBody::empty(),
        ))
        .await
        .expect("second connection answers");
    assert_eq!(answer.status(), 200);
    assert_eq!(connections.load(Ordering::SeqCst), 2);

    let (base, connections) = resets_once().await;
    let err = http
        .call(request(
            "PUT",
            &format!("{base}/b/k"),
            &[("If-None-Match", "*")],
            HttpRequestBody::from("x".to_string()),
        ))
        .await
        .expect_err("reset, never replayed");
    assert_ne!(err.kind(), HttpErrorKind::Timeout);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    let mapped = map_error(object_store::Error::Generic {
        store: "S3",
        source: Box::new(err),
    });
    assert_eq!(mapped.kind(), &ErrorKind::Transport, "{mapped}");
}

#[tokio::test]
async fn a_silent_server_times_out_per_attempt_naming_the_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().expect("not poisoned").push(socket);
        }
    });
    let policy = RetryPolicy::default()
        .retries(2, Duration::from_millis(1))
        .timeouts(
            Duration::from_secs(1),
            Duration::from_millis(200),
            Duration::from_secs(3),
        );
    let http = PolicyHttp::new(&policy).expect("client");
    let started = Instant::now();
    let err = http
        .call(request(
            "GET",
            &format!("http://{addr}/b/k?X-Amz-Signature=SECRET"),
            &[],
            HttpRequestBody::empty(),
        ))
        .await
        .expect_err("never answers");
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), HttpErrorKind::Timeout);
    assert!(
        elapsed >= Duration::from_millis(600),
        "three attempts: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(
        held.lock().expect("not poisoned").len(),
        3,
        "one connection per attempt"
    );
    let mapped = map_error(object_store::Error::Generic {
        store: "S3",
        source: Box::new(err),
    });
    assert_eq!(mapped.kind(), &ErrorKind::Timeout);
    let text = mapped.to_string();
    assert!(text.contains(&format!("http://{addr}")), "{text}");
    assert!(text.contains("BLOB_STORAGE_ATTEMPT_TIMEOUT"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[tokio::test]
async fn a_short_answer_cut_in_its_body_is_retried_whole() {
    let http = PolicyHttp::new(&fast()).expect("client");
    let (base, connections) =
        cuts_once(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n<List").await;
    let answer = http
        .call(request(
            "GET",
            &format!("{base}/b?list-type=2"),
            &[],
            HttpRequestBody::empty(),
        ))
        .await
        .expect("second connection answers");
    assert_eq!(answer.into_body().bytes().await.expect("whole body"), "ok");
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
