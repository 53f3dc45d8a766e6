//! Signed URLs served by the router, over a real socket with a real client.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use storage_core::{BlobStore, BlobStoreExt, SignMethod, SignOptions, SignedRequest};
use storage_local::{http, LocalConfig, LocalStore};

struct Server {
    store: LocalStore,
    base: String,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

const KEY: &str = "0123456789abcdef0123456789abcdef-signing-key";

async fn serve(options: http::RouterOptions) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/blobs", listener.local_addr().expect("addr"));
    let config = LocalConfig::new(dir.path())
        .base_url(&base)
        .expect("base")
        .signing_key(KEY)
        .expect("key");
    let store = LocalStore::new(config).expect("store");
    let app = axum::Router::new().nest("/blobs", http::router_with(store.clone(), options));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        store,
        base,
        _dir: dir,
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn sign(&self, key: &str, opts: SignOptions) -> SignedRequest {
        self.store
            .signed_url(&self.store.key(key).expect("key"), opts)
            .await
            .expect("sign")
    }

    async fn send(&self, method: &str, url: &str, body: Option<Vec<u8>>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, url);
        if let Some(body) = body {
            req = req.body(body);
        }
        req.send().await.expect("request")
    }
}

async fn error_of(resp: reqwest::Response) -> (StatusCode, String) {
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.expect("json error body");
    (
        status,
        body["error"].as_str().expect("error field").to_string(),
    )
}

#[tokio::test]
async fn upload_then_download_round_trip() {
    let s = serve(http::RouterOptions::new()).await;
    let key = "recordings/ünï cödé/take 1.webm";
    let put = s
        .sign(
            key,
            SignOptions::new(SignMethod::Put)
                .content_type("audio/webm")
                .max_size(1 << 20),
        )
        .await;
    assert!(put.url.starts_with(&s.base));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "audio/webm")
        .body(data.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let etag = resp.headers()["etag"].to_str().expect("etag").to_string();
    let meta = s
        .store
        .head(&s.store.key(key).expect("key"))
        .await
        .expect("head");
    assert_eq!(meta.etag, etag);
    assert_eq!(meta.content_type, "audio/webm");

    let get = s
        .sign(
            key,
            SignOptions::new(SignMethod::Get)
                .content_disposition("attachment; filename=\"take.webm\""),
        )
        .await;
    let resp = s.send("GET", &get.url, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "audio/webm");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"take.webm\""
    );
    assert_eq!(resp.headers()["etag"].to_str().expect("etag"), etag);
    assert_eq!(resp.bytes().await.expect("body").as_ref(), data.as_slice());

    let resp = s
        .client
        .get(&get.url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-range"], "bytes 10-19/300000");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), &data[10..20]);

    let resp = s
        .client
        .get(&get.url)
        .header("range", "bytes=400000-")
        .send()
        .await
        .expect("416");
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(resp.headers()["content-range"], "bytes */300000");

    let resp = s
        .client
        .get(&get.url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("304");
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    let resp = s.send("HEAD", &get.url, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-length"], "300000");

    let del = s.sign(key, SignOptions::new(SignMethod::Delete)).await;
    assert_eq!(
        s.send("DELETE", &del.url, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, _) = error_of(s.send("GET", &get.url, None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Every single-byte change to the signature, expiry, method or key in the
/// URL is refused with 403, and nothing is written.
#[tokio::test]
async fn every_single_byte_change_is_refused() {
    let s = serve(http::RouterOptions::new()).await;
    let put = s
        .sign(
            "a/b.txt",
            SignOptions::new(SignMethod::Put)
                .content_type("text/plain")
                .max_size(64),
        )
        .await;
    let (path, query) = put.url.split_once('?').expect("query");
    let mut variants = Vec::new();
    // The key in the path, one byte at a time (skip the base URL).
    let key_start = s.base.len() + 1;
    for i in key_start..path.len() {
        let mut bytes = path.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
        variants.push(format!("{}?{query}", String::from_utf8_lossy(&bytes)));
    }
    // Every value in the query: signature, expiry, method, constraints.
    for (i, b) in query.bytes().enumerate() {
        if b == b'=' || b == b'&' {
            continue;
        }
        let in_value = match (query[..i].rfind('='), query[..i].rfind('&')) {
            (Some(eq), Some(amp)) => eq > amp,
            (Some(_), None) => true,
            _ => false,
        };
        if !in_value {
            continue;
        }
        for replacement in [b'0', b'Z'] {
            if replacement == b {
                continue;
            }
            let mut bytes = query.as_bytes().to_vec();
            bytes[i] = replacement;
            variants.push(format!("{path}?{}", String::from_utf8_lossy(&bytes)));
        }
    }
    assert!(variants.len() > 100, "only {} variants", variants.len());
    for url in &variants {
        let resp = s
            .client
            .put(url)
            .header("content-type", "text/plain")
            .body("hi")
            .send()
            .await
            .expect("put");
        let (status, reason) = error_of(resp).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {reason}");
        assert!(!reason.contains(KEY) && reason.len() < 60, "{reason}");
    }
    let listed = s
        .store
        .list(storage_core::ListOptions::new())
        .await
        .expect("list");
    assert!(
        listed.entries.is_empty(),
        "a tampered URL wrote {:?}",
        listed.entries
    );
    // The untouched URL still works.
    let ok = s
        .client
        .put(&put.url)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .expect("put");
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn wrong_method_expired_and_foreign_key_are_403() {
    let s = serve(http::RouterOptions::new()).await;
    s.store.put_bytes("doc.txt", "text").await.expect("seed");
    let get = s.sign("doc.txt", SignOptions::new(SignMethod::Get)).await;
    let (status, reason) = error_of(s.send("DELETE", &get.url, None).await).await;
    assert_eq!(
        (status, reason.as_str()),
        (
            StatusCode::FORBIDDEN,
            "signed URL does not allow this method"
        )
    );
    let (status, _) = error_of(s.send("PUT", &get.url, Some(b"x".to_vec())).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let expired = s
        .store
        .signer()
        .sign(
            &s.store.key("doc.txt").expect("key"),
            &SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(60)),
            SystemTime::now() - Duration::from_secs(120),
        )
        .expect("sign in the past");
    let (status, reason) = error_of(s.send("GET", &expired.url, None).await).await;
    assert_eq!(
        (status, reason.as_str()),
        (StatusCode::FORBIDDEN, "signed URL has expired")
    );

    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = LocalStore::new(
        LocalConfig::new(other_dir.path())
            .base_url(&s.base)
            .expect("base")
            .signing_key("another-key-another-key-another-key!")
            .expect("key"),
    )
    .expect("store");
    let foreign = other
        .signed_url(
            &other.key("doc.txt").expect("key"),
            SignOptions::new(SignMethod::Get),
        )
        .await
        .expect("sign");
    let (status, reason) = error_of(s.send("GET", &foreign.url, None).await).await;
    assert_eq!(
        (status, reason.as_str()),
        (StatusCode::FORBIDDEN, "signature does not match")
    );

    let unsigned = format!("{}/doc.txt", s.base);
    let (status, reason) = error_of(s.send("GET", &unsigned, None).await).await;
    assert_eq!(
        (status, reason.as_str()),
        (StatusCode::FORBIDDEN, "malformed signed URL")
    );
}

#[tokio::test]
async fn bounds_are_enforced_while_streaming() {
    let s = serve(http::RouterOptions::new()).await;
    let put = s
        .sign(
            "up.bin",
            SignOptions::new(SignMethod::Put)
                .content_type("application/octet-stream")
                .max_size(1000),
        )
        .await;
    // Declared too large: refused before reading.
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "application/octet-stream")
        .body(vec![0u8; 1001])
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // No declared length (chunked): cut off mid-stream, nothing kept.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![7u8; 100])).collect();
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("chunked put");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!s.store.exists("up.bin").await.expect("exists"));
    // Wrong content type.
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "text/html")
        .body(vec![0u8; 10])
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(!s.store.exists("up.bin").await.expect("exists"));
    // Within bounds.
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "application/octet-stream")
        .body(vec![1u8; 1000])
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::CREATED);
    // A previous version survives an oversized replacement.
    let resp = s
        .client
        .put(&put.url)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(
            (0..20)
                .map(|_| Ok::<_, std::io::Error>(vec![9u8; 100]))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        s.store.get_bytes("up.bin").await.expect("kept"),
        vec![1u8; 1000]
    );
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let s = serve(
        http::RouterOptions::new()
            .allow_origin("http://app.test")
            .expect("origin"),
    )
    .await;
    let put = s.sign("x.txt", SignOptions::new(SignMethod::Put)).await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, &put.url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://app.test").await.expect("preflight");
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://app.test"
    );
    let other = preflight("http://evil.test").await.expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn expiry_is_bounded() {
    let s = serve(http::RouterOptions::new()).await;
    let key = s.store.key("k").expect("key");
    let err = s
        .store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(8 * 24 * 3600)),
        )
        .await
        .expect_err("8 days");
    assert_eq!(err.kind(), &storage_core::ErrorKind::InvalidInput);
    let req = s.sign("k", SignOptions::new(SignMethod::Get)).await;
    let left = req
        .expires_at
        .duration_since(SystemTime::now())
        .expect("future");
    assert!(left <= Duration::from_secs(15 * 60 + 1) && left > Duration::from_secs(14 * 60));
    let signature = req
        .url
        .rsplit("x-blob-signature=")
        .next()
        .expect("signature");
    let debug = format!("{req:?}");
    assert!(debug.contains("x-blob-signature=[redacted]"), "{debug}");
    assert!(!debug.contains(signature), "{debug}");
}
