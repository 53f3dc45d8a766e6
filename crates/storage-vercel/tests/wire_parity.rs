//! Wire parity with the official SDK: the adapter talks to the emulator
//! through a logging proxy, and each request is compared with the SDK's
//! request for the same operation in the captured transcript
//! (`tests/fixtures/sdk-captured-requests.txt`, produced by
//! `/work/shared/tools/vercel-sdk-capture`): method, path, query parameter
//! names, and the headers that carry meaning.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use storage_core::{
    BlobKey, BlobStore, CopyOptions, ListOptions, PutMode, PutOptions, SignMethod, SignOptions,
};
use storage_vercel::{Access, VercelStore, MIN_PART_SIZE};

const CAPTURE: &str = include_str!("fixtures/sdk-captured-requests.txt");

/// One request as seen on the wire.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: BTreeSet<String>,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn parse(method: &str, target: &str) -> Seen {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Seen {
            method: method.to_string(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
            query: url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect(),
            headers: Vec::new(),
        }
    }
}

/// The SDK's requests, grouped by the transcript's `=== title` sections.
fn sdk_requests() -> Vec<(String, Vec<Seen>)> {
    let mut sections: Vec<(String, Vec<Seen>)> = Vec::new();
    for line in CAPTURE.lines() {
        if let Some(title) = line.strip_prefix("=== ") {
            sections.push((title.to_string(), Vec::new()));
        } else if let Some(header) = line.strip_prefix(">   ") {
            if let Some((name, value)) = header.split_once(": ") {
                if let Some(req) = sections.last_mut().and_then(|s| s.1.last_mut()) {
                    req.headers
                        .push((name.to_ascii_lowercase(), value.to_string()));
                }
            }
        } else if let Some(request) = line.strip_prefix("> ") {
            if let (Some((method, target)), Some(section)) =
                (request.split_once(' '), sections.last_mut())
            {
                section.1.push(Seen::parse(method, target));
            }
        }
    }
    sections
}

fn sdk(title_prefix: &str, index: usize) -> Seen {
    sdk_requests()
        .into_iter()
        .find(|(title, _)| title.starts_with(title_prefix))
        .and_then(|(_, reqs)| reqs.get(index).cloned())
        .unwrap_or_else(|| panic!("no request {index} under `=== {title_prefix}` in the capture"))
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Seen>>>,
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_default();
    let mut seen = Seen::parse(parts.method.as_str(), &target);
    seen.headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    proxy.log.lock().expect("lock").push(seen);
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (axum::http::StatusCode::BAD_REQUEST, "body").into_response();
    };
    let mut rb = proxy
        .http
        .request(parts.method.clone(), format!("{}{target}", proxy.upstream));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            rb = rb.header(name, value);
        }
    }
    let Ok(resp) = rb.body(bytes).send().await else {
        return (axum::http::StatusCode::BAD_GATEWAY, "upstream").into_response();
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (name, value) in &headers {
        if name != "transfer-encoding" && name != "content-length" {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// What to compare beyond the headers every API request carries.
struct Expect {
    /// Headers that must be present in both or absent in both.
    presence: &'static [&'static str],
    /// Headers whose values must be equal.
    values: &'static [&'static str],
}

const WRITE: Expect = Expect {
    presence: &[
        "x-vercel-blob-access",
        "x-content-type",
        "x-allow-overwrite",
    ],
    values: &["x-allow-overwrite"],
};

fn compare(what: &str, ours: &Seen, theirs: &Seen, expect: &Expect) {
    assert_eq!(ours.method, theirs.method, "{what}: method");
    assert_eq!(ours.path, theirs.path, "{what}: path");
    assert_eq!(ours.query, theirs.query, "{what}: query parameter names");
    let auth = |s: &Seen| {
        s.header("authorization")
            .and_then(|v| v.split_once(' '))
            .map(|(scheme, _)| scheme.to_string())
    };
    assert_eq!(auth(ours), auth(theirs), "{what}: authorization scheme");
    for name in ["x-api-version", "x-api-blob-request-attempt"] {
        assert_eq!(ours.header(name), theirs.header(name), "{what}: {name}");
    }
    for name in ["x-vercel-blob-store-id", "x-api-blob-request-id"] {
        assert!(ours.header(name).is_some(), "{what}: {name} missing");
    }
    let id_shape = |s: &Seen| {
        s.header("x-api-blob-request-id")
            .map(|id| id.split(':').count())
    };
    assert_eq!(id_shape(ours), id_shape(theirs), "{what}: request id shape");
    for name in expect.presence {
        assert_eq!(
            ours.header(name).is_some(),
            theirs.header(name).is_some(),
            "{what}: presence of {name} (ours {:?}, SDK {:?})",
            ours.header(name),
            theirs.header(name)
        );
    }
    for name in expect.values {
        assert_eq!(ours.header(name), theirs.header(name), "{what}: {name}");
    }
}

#[tokio::test]
async fn requests_match_the_sdk_capture() {
    let started = support::emulator().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(forward).with_state(Proxy {
        upstream: started.emulator.api_url(),
        http: reqwest::Client::new(),
        log: log.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = support::config(&started, Access::Public)
        .api_url(&format!("http://{addr}"))
        .expect("proxy url")
        .part_size(MIN_PART_SIZE)
        .expect("part size");
    let store = VercelStore::new(config).expect("store");
    let take = || std::mem::take(&mut *log.lock().expect("lock"));
    let k = |s: &str| BlobKey::new(s).expect("key");

    let first = store
        .put(
            &k("a.txt"),
            "hello".into(),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect("create");
    let mut create = take().remove(0);
    // The SDK leaves x-allow-overwrite out when false and infers the type
    // server-side; the adapter states both (`0`, the resolved type).
    assert_eq!(create.header("x-allow-overwrite"), Some("0"));
    assert_eq!(create.header("x-content-type"), Some("text/plain"));
    create
        .headers
        .retain(|(n, _)| n != "x-allow-overwrite" && n != "x-content-type");
    compare("put Create", &create, &sdk("put('a.txt'", 0), &WRITE);

    store
        .put(&k("dir/b.json"), "{}".into(), PutOptions::new())
        .await
        .expect("overwrite");
    let overwrite = take().remove(0);
    compare(
        "put Overwrite",
        &overwrite,
        &sdk("put with every option", 0),
        &WRITE,
    );

    store
        .put(
            &k("a.txt"),
            "hello2".into(),
            PutOptions::new().mode(PutMode::IfMatch(first.etag.clone())),
        )
        .await
        .expect("if-match");
    let mut if_match = take().remove(0);
    assert_eq!(if_match.header("x-if-match"), Some(first.etag.as_str()));
    if_match.headers.retain(|(n, _)| n != "x-content-type");
    compare(
        "put IfMatch",
        &if_match,
        &sdk("put overwrite with ifMatch", 0),
        &Expect {
            presence: &["x-vercel-blob-access", "x-if-match", "x-allow-overwrite"],
            values: &["x-allow-overwrite"],
        },
    );

    store.head(&k("a.txt")).await.expect("head");
    compare(
        "head",
        &take().remove(0),
        &sdk("head('a.txt')", 0),
        &Expect {
            presence: &["x-vercel-blob-access"],
            values: &[],
        },
    );

    store
        .put(&k("d/x.txt"), "x".into(), PutOptions::new())
        .await
        .expect("put");
    store
        .put(&k("d/y.txt"), "y".into(), PutOptions::new())
        .await
        .expect("put");
    let page = store
        .list(ListOptions::new().prefix("d").limit(1).delimiter(true))
        .await
        .expect("list");
    let page = store
        .list(
            ListOptions::new()
                .prefix("d/")
                .limit(1)
                .delimiter(true)
                .cursor(page.cursor.unwrap_or_else(|| "Yy50eHQ".into())),
        )
        .await
        .expect("list");
    let _ = page;
    let listed = take().pop().expect("list request");
    compare(
        "list",
        &listed,
        &sdk("list({limit:1", 0),
        &Expect {
            presence: &[],
            values: &[],
        },
    );

    store
        .copy(&k("a.txt"), &k("copy/a-copy.txt"), CopyOptions::new())
        .await
        .expect("copy");
    let copy = take()
        .into_iter()
        .find(|s| s.query.contains("fromUrl"))
        .expect("copy request");
    compare(
        "copy",
        &copy,
        &sdk("copy(url", 0),
        &Expect {
            presence: &["x-vercel-blob-access", "x-allow-overwrite"],
            values: &["x-allow-overwrite"],
        },
    );

    store.delete(&k("dir/b.json")).await.expect("delete");
    compare(
        "delete",
        &take().remove(0),
        &sdk("del(single url)", 0),
        &Expect {
            presence: &["content-type", "x-if-match"],
            values: &["content-type"],
        },
    );

    let big = vec![7u8; MIN_PART_SIZE + 123];
    let big_len = big.len() as u64;
    let body = storage_core::Body::from_stream(
        futures::stream::iter(
            big.chunks(64 * 1024)
                .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        ),
        None,
    );
    let meta = store
        .put(&k("big.bin"), body, PutOptions::new())
        .await
        .expect("multipart");
    assert_eq!(meta.size, big_len);
    let mpu = take();
    let action = |a: &str, part: Option<&str>| {
        mpu.iter()
            .find(|s| {
                s.header("x-mpu-action") == Some(a)
                    && (part.is_none() || s.header("x-mpu-part-number") == part)
            })
            .unwrap_or_else(|| panic!("no mpu {a} {part:?} in {mpu:#?}"))
            .clone()
    };
    let mpu_expect = Expect {
        presence: &[
            "x-vercel-blob-access",
            "x-content-type",
            "x-mpu-action",
            "x-mpu-key",
            "x-mpu-upload-id",
            "x-mpu-part-number",
        ],
        values: &["x-mpu-action", "x-mpu-part-number", "x-content-type"],
    };
    // The SDK's multipart put states no overwrite rule; the adapter does.
    let strip = |mut s: Seen| {
        s.headers.retain(|(n, _)| n != "x-allow-overwrite");
        s
    };
    compare(
        "mpu create",
        &strip(action("create", None)),
        &sdk("put(big.bin", 0),
        &mpu_expect,
    );
    compare(
        "mpu part 1",
        &strip(action("upload", Some("1"))),
        &sdk("put(big.bin", 1),
        &mpu_expect,
    );
    compare(
        "mpu part 2",
        &strip(action("upload", Some("2"))),
        &sdk("put(big.bin", 2),
        &mpu_expect,
    );
    let complete = strip(action("complete", None));
    assert_eq!(complete.header("content-type"), Some("application/json"));
    compare(
        "mpu complete",
        &complete,
        &sdk("put(big.bin", 3),
        &mpu_expect,
    );

    store
        .signed_url(&k("a.txt"), SignOptions::new(SignMethod::Get))
        .await
        .expect("sign");
    compare(
        "signed-token",
        &take().remove(0),
        &sdk("issueSignedToken", 0),
        &Expect {
            presence: &["content-type"],
            values: &["content-type"],
        },
    );
}
