//! The fault proxy against a real upstream (a small axum server on a
//! loopback port) with reqwest as the client: each fault does what it says,
//! everything else passes through unchanged and streams.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, RequestRecord, Rule};
use tokio::sync::Notify;

const MIB: usize = 1024 * 1024;

/// What the upstream saw.
#[derive(Default)]
struct Seen {
    /// Requests that reached a handler.
    requests: AtomicUsize,
    /// Client ports of the connections those requests came on.
    peers: Mutex<HashSet<u16>>,
    /// `Host` of the last request.
    host: Mutex<Option<String>>,
    /// Body bytes of the current `/upload` received so far.
    upload_bytes: AtomicU64,
    /// Whether an `/upload` body arrived whole.
    upload_done: AtomicBool,
    /// Lets `/stream` send the rest of its body.
    release_stream: Notify,
}

impl Seen {
    fn note(&self, peer: SocketAddr, headers: &HeaderMap) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer.port());
        *self.host.lock().unwrap_or_else(|e| e.into_inner()) = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

type Ctx = (ConnectInfo<SocketAddr>, State<Arc<Seen>>);

/// The body of `/stream` and the large upload: 1 MiB blocks, each from
/// its own seed, so a lost, repeated or reordered block changes the hash.
fn block(i: usize) -> Bytes {
    let mut rng = fastrand::Rng::with_seed(i as u64);
    let mut data = vec![0u8; MIB];
    rng.fill(&mut data);
    Bytes::from(data)
}

fn sha256_of_blocks(n: usize) -> String {
    let mut hasher = Sha256::new();
    for i in 0..n {
        hasher.update(block(i));
    }
    hex::encode(hasher.finalize())
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

async fn echo((ConnectInfo(peer), State(seen)): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    seen.note(peer, &headers);
    body.into_response()
}

/// The `n` query parameter.
fn size(uri: &Uri) -> usize {
    uri.query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("n=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{uri} has no n=<size>"))
}

/// `n` pattern bytes with `Content-Length`.
async fn sized((ConnectInfo(peer), State(seen)): Ctx, headers: HeaderMap, uri: Uri) -> Response {
    seen.note(peer, &headers);
    Bytes::from(pattern(size(&uri))).into_response()
}

/// `n` pattern bytes in several chunks, without a length.
async fn chunked((ConnectInfo(peer), State(seen)): Ctx, headers: HeaderMap, uri: Uri) -> Response {
    seen.note(peer, &headers);
    let data = Bytes::from(pattern(size(&uri)));
    let pieces: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(7919)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures::stream::iter(pieces)).into_response()
}

/// `n` blocks with `Content-Length`; all but the first wait for
/// `release_stream`, so the client must get the first before the rest exist.
async fn stream((ConnectInfo(peer), State(seen)): Ctx, headers: HeaderMap, uri: Uri) -> Response {
    seen.note(peer, &headers);
    let n = size(&uri);
    let blocks = futures::stream::unfold(0, move |i| {
        let seen = Arc::clone(&seen);
        async move {
            if i == n {
                return None;
            }
            if i == 1 {
                seen.release_stream.notified().await;
            }
            Some((Ok::<_, std::io::Error>(block(i)), i + 1))
        }
    });
    (
        [(header::CONTENT_LENGTH, (n * MIB).to_string())],
        Body::from_stream(blocks),
    )
        .into_response()
}

/// Hashes the body as it arrives, counting bytes as it goes, so a broken
/// upload leaves its count behind even though the handler is dropped.
async fn upload((ConnectInfo(peer), State(seen)): Ctx, headers: HeaderMap, body: Body) -> Response {
    seen.note(peer, &headers);
    seen.upload_bytes.store(0, Ordering::SeqCst);
    seen.upload_done.store(false, Ordering::SeqCst);
    let mut hasher = Sha256::new();
    let mut data = body.into_data_stream();
    while let Some(piece) = data.next().await {
        match piece {
            Ok(piece) => {
                seen.upload_bytes
                    .fetch_add(piece.len() as u64, Ordering::SeqCst);
                hasher.update(&piece);
            }
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }
    seen.upload_done.store(true, Ordering::SeqCst);
    hex::encode(hasher.finalize()).into_response()
}

struct Upstream {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn upstream() -> Upstream {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/echo", any(echo))
        .route("/sized", get(sized))
        .route("/chunked", get(chunked))
        .route("/stream", get(stream))
        .route("/upload", put(upload))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the upstream");
    let addr = listener.local_addr().expect("upstream address");
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("upstream server");
    });
    Upstream { addr, seen, task }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the client")
}

async fn proxy(upstream: &Upstream, plan: FaultPlan) -> FaultProxy {
    FaultProxy::start(upstream.addr, plan)
        .await
        .expect("start the proxy")
}

fn only(records: &[RequestRecord]) -> &RequestRecord {
    assert_eq!(records.len(), 1, "{records:#?}");
    &records[0]
}

/// Waits up to 5 s for `condition`.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_sized_and_chunked_bodies_unchanged() {
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let client = client();

    let body = pattern(100_000);
    let resp = client
        .post(format!("{}/echo", proxy.url()))
        .body(body.clone())
        .send()
        .await
        .expect("sized echo");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(100_000));
    assert_eq!(resp.bytes().await.expect("echo body"), body);
    assert_eq!(
        up.seen.host.lock().expect("host").as_deref(),
        Some(proxy.addr().to_string().as_str()),
        "the upstream sees the Host the client sent"
    );

    let pieces: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(10_007)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let resp = client
        .put(format!("{}/echo", proxy.url()))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
        .send()
        .await
        .expect("chunked echo");
    assert_eq!(resp.bytes().await.expect("echo body"), body);

    let resp = client
        .get(format!("{}/chunked?n=50000", proxy.url()))
        .send()
        .await
        .expect("chunked download");
    assert_eq!(resp.content_length(), None);
    assert_eq!(
        resp.headers()
            .get("transfer-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"chunked"[..])
    );
    assert_eq!(resp.bytes().await.expect("chunked body"), pattern(50_000));

    let records = proxy.requests();
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(
        records.iter().all(|r| r.forwarded
            && r.fault.is_none()
            && r.status == Some(200)
            && r.error.is_none()),
        "{records:#?}"
    );
    assert_eq!(records[0].request_body_bytes, 100_000);
    assert_eq!(records[0].response_body_bytes, 100_000);
    assert_eq!(records[1].head.header("transfer-encoding"), Some("chunked"));
}

/// Reads one response with a `Content-Length` body from a raw socket.
async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(
            stream.read_buf(buf).await.expect("read") > 0,
            "closed mid-head"
        );
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().expect("length"))
        })
        .expect("a content-length");
    while buf.len() < head_end + length {
        assert!(
            stream.read_buf(buf).await.expect("read") > 0,
            "closed mid-body"
        );
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    (head, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_carries_pipelined_requests_on_one_connection_each_side() {
    use tokio::io::AsyncWriteExt;
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("connect");
    // Both requests in one write: the second head arrives in the same
    // read as the first body and must wait its turn, not be lost.
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: blobs.test\r\nContent-Length: 5\r\n\r\nhello\
              GET /sized?n=3 HTTP/1.1\r\nHost: blobs.test\r\n\r\n",
        )
        .await
        .expect("write");
    let mut buf = Vec::new();
    let (head, body) = read_response(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"hello");
    let (head, body) = read_response(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, pattern(3));
    assert_eq!(
        up.seen.host.lock().expect("host").as_deref(),
        Some("blobs.test")
    );

    stream
        .write_all(b"GET /sized?n=4 HTTP/1.1\r\nHost: blobs.test\r\n\r\n")
        .await
        .expect("write");
    let (_, body) = read_response(&mut stream, &mut buf).await;
    assert_eq!(body, pattern(4));

    let records = proxy.requests();
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(records.iter().all(|r| r.connection == 0), "{records:#?}");
    assert_eq!(
        up.seen.peers.lock().expect("peers").len(),
        1,
        "one upstream connection carried all three"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_is_relayed_before_the_body_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("connect");
    stream
        .write_all(
            b"PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await
        .expect("write head");
    // The body is held back until the upstream's interim answer arrives,
    // which only a proxy relaying both directions at once delivers.
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            assert!(stream.read_buf(&mut buf).await.expect("read") > 0);
        }
    })
    .await
    .expect("100 Continue within 5 s");
    assert!(buf.starts_with(b"HTTP/1.1 100 Continue\r\n"), "{buf:?}");
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head")
        + 4;
    buf.drain(..head_end);
    stream.write_all(b"hello").await.expect("write body");
    let (head, body) = read_response(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_fault_answers_with_retry_after_and_forwards_nothing() {
    use tokio::io::AsyncWriteExt;
    let up = upstream().await;
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::Status {
            code: 503,
            retry_after: Some(7),
        })
        .method("POST")
        .nth(1),
    );
    let proxy = proxy(&up, plan).await;
    // A raw socket, so "the same connection" does not depend on when a
    // client's pool takes a connection back.
    let mut stream = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("connect");
    let mut request = b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n".to_vec();
    request.extend_from_slice(&pattern(200_000));
    stream.write_all(&request).await.expect("first post");
    let mut buf = Vec::new();
    let (head, body) = read_response(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nretry-after: 7\r\n"),
        "{head}"
    );
    assert!(!body.is_empty());
    assert_eq!(up.seen.requests(), 0, "the upstream saw nothing");

    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nagain")
        .await
        .expect("second post on the same connection");
    let (head, body) = read_response(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"again");

    let records = proxy.requests();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].fault,
        Some(Fault::Status {
            code: 503,
            retry_after: Some(7)
        })
    );
    assert!(!records[0].forwarded);
    assert_eq!(records[0].status, Some(503));
    assert!(records[1].forwarded && records[1].fault.is_none());
    assert_eq!(
        records[1].connection, records[0].connection,
        "an injected status keeps the connection alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_before_response_is_a_transport_error_and_forwards_nothing() {
    let up = upstream().await;
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::ResetBeforeResponse).nth(1));
    let proxy = proxy(&up, plan).await;
    let client = client();

    let err = client
        .put(format!("{}/echo", proxy.url()))
        .body(pattern(10_000))
        .send()
        .await
        .expect_err("the connection is reset");
    assert!(err.status().is_none(), "{err:?}");
    assert_eq!(up.seen.requests(), 0, "the upstream saw nothing");
    let record = only(&proxy.requests()).clone();
    assert_eq!(record.fault, Some(Fault::ResetBeforeResponse));
    assert!(!record.forwarded);
    assert_eq!(record.status, None);

    let resp = client
        .get(format!("{}/sized?n=10", proxy.url()))
        .send()
        .await
        .expect("the next request passes");
    assert_eq!(resp.status(), 200);
    assert_eq!(up.seen.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_request_leaves_the_upstream_a_truncated_body() {
    let up = upstream().await;
    let plan = FaultPlan::none()
        .with_rule(Rule::new(Fault::ResetMidRequest { after: Some(1000) }).method("PUT"));
    let proxy = proxy(&up, plan).await;

    let result = client()
        .put(format!("{}/upload", proxy.url()))
        .body(pattern(MIB))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    eventually("the upstream to get the request", || {
        up.seen.requests() == 1
    })
    .await;
    eventually("1000 body bytes at the upstream", || {
        up.seen.upload_bytes.load(Ordering::SeqCst) == 1000
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(up.seen.upload_bytes.load(Ordering::SeqCst), 1000);
    assert!(!up.seen.upload_done.load(Ordering::SeqCst));

    let record = only(&proxy.requests()).clone();
    assert!(record.forwarded);
    assert_eq!(record.request_body_bytes, 1000);
    assert_eq!(record.status, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_response_fails_the_body_after_some_bytes() {
    let up = upstream().await;
    let plan = FaultPlan::seeded(3)
        .with_rule(
            Rule::new(Fault::ResetMidResponse { after: Some(5000) })
                .target_contains("n=100000")
                .nth(1),
        )
        .with_rule(Rule::new(Fault::ResetMidResponse { after: None }).target_contains("n=100000"))
        .with_rule(Rule::new(Fault::ResetMidResponse { after: None }).method("HEAD"));
    let proxy = proxy(&up, plan).await;
    let client = client();

    for expected_cut in [Some(5000), None] {
        let mut resp = client
            .get(format!("{}/sized?n=100000", proxy.url()))
            .send()
            .await
            .expect("the head arrives");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.content_length(), Some(100_000));
        let mut got = Vec::new();
        let err = loop {
            match resp.chunk().await {
                Ok(Some(piece)) => got.extend_from_slice(&piece),
                Ok(None) => panic!("the body completed with {} bytes", got.len()),
                Err(e) => break e,
            }
        };
        assert!(
            err.is_body() || err.is_decode() || err.is_request(),
            "{err:?}"
        );
        let record = proxy.requests().pop().expect("a record");
        let Some(Fault::ResetMidResponse { after: Some(cut) }) = record.fault else {
            panic!("the record names the cut: {record:?}");
        };
        if let Some(expected) = expected_cut {
            assert_eq!(cut, expected);
        }
        assert!(cut < 100_000);
        assert_eq!(got.len() as u64, cut);
        assert_eq!(got, pattern(100_000)[..got.len()]);
        assert_eq!(record.status, Some(200));
        assert_eq!(record.response_body_bytes, cut);
    }

    // Without a body there is nothing to cut: the upstream acts, the
    // client never hears.
    let before = up.seen.requests();
    let result = client
        .head(format!("{}/sized?n=10", proxy.url()))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(up.seen.requests(), before + 1);
    let record = proxy.requests().pop().expect("a record");
    assert!(record.forwarded);
    assert_eq!(record.status, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_makes_a_one_second_client_time_out() {
    let up = upstream().await;
    let plan = FaultPlan::none().with_rule(Rule::new(Fault::Stall(Duration::from_secs(3))));
    let proxy = proxy(&up, plan).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");

    let started = Instant::now();
    let err = client
        .get(format!("{}/sized?n=10", proxy.url()))
        .send()
        .await
        .expect_err("no answer within 1 s");
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(up.seen.requests(), 0);
    assert!(!only(&proxy.requests()).forwarded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_all_never_answers_until_the_plan_changes() {
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::hang_all()).await;
    let short = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let err = short
        .get(format!("{}/sized?n=10", proxy.url()))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");

    let patient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let url = format!("{}/sized?n=10", proxy.url());
    let hung = tokio::spawn(async move {
        let started = Instant::now();
        (patient.get(url).send().await, started.elapsed())
    });
    eventually("the second request to arrive", || {
        proxy.requests().len() == 2
    })
    .await;
    proxy.set_plan(FaultPlan::none());
    let (result, waited) = hung.await.expect("the request task");
    assert!(result.is_err(), "a released request is closed unanswered");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(up.seen.requests(), 0);

    let resp = short
        .get(format!("{}/sized?n=10", proxy.url()))
        .send()
        .await
        .expect("answered under the new plan");
    assert_eq!(resp.status(), 200);
    let faults: Vec<_> = proxy.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(faults, [Some(Fault::Hang), Some(Fault::Hang), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_fault_relays_identical_bytes_without_content_length() {
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none().with_rule(Rule::new(Fault::Chunked))).await;
    let resp = client()
        .get(format!("{}/sized?n=300000", proxy.url()))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), None);
    assert!(resp.headers().get("content-length").is_none());
    assert_eq!(
        resp.headers()
            .get("transfer-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"chunked"[..])
    );
    assert_eq!(resp.bytes().await.expect("body"), pattern(300_000));
    let record = only(&proxy.requests()).clone();
    assert_eq!(record.fault, Some(Fault::Chunked));
    assert!(
        record.response_body_bytes > 300_000,
        "chunk framing adds bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_upload_streams_through_with_identical_sha256() {
    const BLOCKS: usize = 64;
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    let request = client()
        .put(format!("{}/upload", proxy.url()))
        .header("content-length", (BLOCKS * MIB).to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let seen = Arc::clone(&up.seen);
    let feeder = tokio::spawn(async move {
        tx.send(block(0)).await.expect("first block");
        // The rest exists only once the upstream has bytes: a proxy that
        // buffered the body would wait here forever.
        eventually("the upstream to receive the first bytes", || {
            seen.upload_bytes.load(Ordering::SeqCst) > 0
        })
        .await;
        for i in 1..BLOCKS {
            tx.send(block(i)).await.expect("next block");
        }
    });
    let resp = request.await.expect("upload");
    feeder.await.expect("feeder");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("hash"), sha256_of_blocks(BLOCKS));
    let record = only(&proxy.requests()).clone();
    assert_eq!(record.request_body_bytes, (BLOCKS * MIB) as u64);
    assert_eq!(record.head.header("content-length"), Some("67108864"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_download_streams_through_with_identical_sha256() {
    const BLOCKS: usize = 64;
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let mut resp = client()
        .get(format!("{}/stream?n={BLOCKS}", proxy.url()))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.content_length(), Some((BLOCKS * MIB) as u64));
    let mut hasher = Sha256::new();
    let mut received = 0;
    // The upstream holds the rest back until the client has bytes, so a
    // proxy that buffered the whole body would never finish.
    let first = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
        .await
        .expect("first bytes before the body is complete")
        .expect("body")
        .expect("a chunk");
    hasher.update(&first);
    received += first.len();
    up.seen.release_stream.notify_one();
    while let Some(piece) = resp.chunk().await.expect("body") {
        hasher.update(&piece);
        received += piece.len();
    }
    assert_eq!(received, BLOCKS * MIB);
    assert_eq!(hex::encode(hasher.finalize()), sha256_of_blocks(BLOCKS));
    assert_eq!(
        only(&proxy.requests()).response_body_bytes,
        (BLOCKS * MIB) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemptions_pause_and_set_plan_decide_what_is_faulted() {
    let up = upstream().await;
    let always_500 = || {
        FaultPlan::seeded(1)
            .with_rate(Fault::status(500), 1.0)
            .exempt(|req| req.path() == "/sized")
    };
    let proxy = proxy(&up, always_500()).await;
    let client = client();
    let status = |path: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", proxy.url());
        async move { client.get(url).send().await.expect("answer").status() }
    };

    assert_eq!(status("/sized?n=1").await, 200, "exempt");
    assert_eq!(status("/echo").await, 500);
    proxy.pause();
    assert_eq!(status("/echo").await, 200, "paused");
    proxy.resume();
    assert_eq!(status("/echo").await, 500, "resumed");
    proxy.set_plan(FaultPlan::none());
    assert_eq!(status("/echo").await, 200, "new plan");
    proxy.set_plan(always_500());
    assert_eq!(status("/echo").await, 500, "old plan again");

    let faulted: Vec<bool> = proxy.requests().iter().map(|r| r.fault.is_some()).collect();
    assert_eq!(faulted, [false, true, false, true, false, true]);
    assert_eq!(proxy.count(|r| r.forwarded), 3);
    assert_eq!(up.seen.requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_pick_the_nth_and_the_first_matching_requests() {
    let up = upstream().await;
    let plan = FaultPlan::none()
        .with_rule(
            Rule::new(Fault::status(503))
                .method("GET")
                .target_contains("n=7")
                .nth(2),
        )
        .with_rule(Rule::new(Fault::status(429)).method("POST").first(2));
    let proxy = proxy(&up, plan).await;
    let client = client();
    let mut statuses = Vec::new();
    for n in [7, 8, 7, 7] {
        let resp = client
            .get(format!("{}/sized?n={n}", proxy.url()))
            .send()
            .await
            .expect("answer");
        statuses.push(resp.status().as_u16());
    }
    for _ in 0..3 {
        let resp = client
            .post(format!("{}/echo", proxy.url()))
            .send()
            .await
            .expect("answer");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 503, 200, 429, 429, 200]);
    assert_eq!(proxy.count(|r| r.fault.is_some() && !r.forwarded), 3);
}

/// The faults one seeded plan applies to 40 identical requests, with what
/// the client saw of each.
async fn seeded_run(seed: u64) -> Vec<(Option<Fault>, String)> {
    let up = upstream().await;
    let plan = FaultPlan::seeded(seed)
        .with_rate(Fault::status(503), 0.1)
        .with_rate(Fault::ResetBeforeResponse, 0.05)
        .with_rate(Fault::ResetMidResponse { after: None }, 0.05);
    let proxy = proxy(&up, plan).await;
    let client = client();
    let mut seen = Vec::new();
    for _ in 0..40 {
        let outcome = match client
            .get(format!("{}/sized?n=2000", proxy.url()))
            .send()
            .await
        {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => format!("{status} with {} bytes", body.len()),
                    Err(_) => format!("{status} then a broken body"),
                }
            }
            Err(_) => "transport error".to_string(),
        };
        seen.push(outcome);
    }
    let records = proxy.requests();
    assert_eq!(records.len(), 40, "no request was sent twice: {records:#?}");
    records.into_iter().map(|r| r.fault).zip(seen).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_plan_applies_the_same_faults_for_the_same_seed() {
    let first = seeded_run(2024).await;
    let again = seeded_run(2024).await;
    let other = seeded_run(7).await;
    assert_eq!(first, again);
    let faults = |run: &[(Option<Fault>, String)]| -> Vec<Option<Fault>> {
        run.iter().map(|(f, _)| f.clone()).collect()
    };
    assert_ne!(faults(&first), faults(&other));

    let faulted = first.iter().filter(|(f, _)| f.is_some()).count();
    assert!((3..=16).contains(&faulted), "{faulted} of 40 at a 20% rate");
    for (fault, outcome) in &first {
        let expected = match fault {
            None => "200 with 2000 bytes",
            Some(Fault::Status { .. }) => "503 with 33 bytes",
            Some(Fault::ResetBeforeResponse) => "transport error",
            Some(Fault::ResetMidResponse { .. }) => "200 then a broken body",
            Some(other) => panic!("not in the plan: {other:?}"),
        };
        assert_eq!(outcome, expected, "{fault:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_selected_headers_and_hide_credentials() {
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::none()).await;
    let resp = client()
        .put(format!("{}/echo?comp=block&sig=s3cr3t", proxy.url()))
        .header("x-ms-blob-type", "BlockBlob")
        .header("if-none-match", "*")
        .header("authorization", "SharedKey devstoreaccount1:s3cr3t")
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    let record = only(&proxy.requests()).clone();
    assert_eq!(record.head.method, "PUT");
    assert_eq!(record.head.target, "/echo?comp=block&sig=s3cr3t");
    assert_eq!(record.head.path(), "/echo");
    assert_eq!(record.head.header("X-Ms-Blob-Type"), Some("BlockBlob"));
    assert_eq!(record.head.header("if-none-match"), Some("*"));
    assert_eq!(record.head.header("authorization"), Some("[redacted]"));
    assert!(!format!("{record:?}").contains("s3cr3t"), "{record:?}");

    proxy.clear_records();
    assert!(proxy.requests().is_empty());
    client()
        .get(format!("{}/sized?n=1", proxy.url()))
        .send()
        .await
        .expect("get");
    assert_eq!(only(&proxy.requests()).seq, 1, "numbering goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_gets_a_502_that_says_why() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let proxy = FaultProxy::start(closed, FaultPlan::none())
        .await
        .expect("start");
    let resp = client()
        .post(format!("{}/echo", proxy.url()))
        .body("x")
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), 502);
    let text = resp.text().await.expect("text");
    assert!(text.contains(&closed.to_string()), "{text}");
    let record = only(&proxy.requests()).clone();
    assert!(!record.forwarded);
    assert!(record.error.is_some_and(|e| e.contains("cannot connect")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_refuses_an_upstream_off_this_machine() {
    let err = FaultProxy::start("192.0.2.1:80".parse().expect("address"), FaultPlan::none())
        .await
        .expect_err("not loopback");
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_port_and_its_connections() {
    let up = upstream().await;
    let proxy = proxy(&up, FaultPlan::hang_all()).await;
    let addr = proxy.addr();
    let url = format!("{}/sized?n=1", proxy.url());
    let hung = tokio::spawn(async move {
        let started = Instant::now();
        (client().get(url).send().await, started.elapsed())
    });
    eventually("the request to arrive", || proxy.requests().len() == 1).await;
    drop(proxy);
    let (result, waited) = hung.await.expect("request task");
    assert!(result.is_err());
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    eventually("the port to close", || {
        std::net::TcpStream::connect(addr).is_err()
    })
    .await;
}
