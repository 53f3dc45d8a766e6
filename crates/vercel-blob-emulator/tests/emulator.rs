//! The emulator's own behaviour where the SDK cannot reach: malformed
//! credentials, hostile pathnames, range and conditional edge cases,
//! persistence and limits. Real sockets, no mocks.

use reqwest::{Client, Method, Response, StatusCode};
use vercel_blob_emulator::{Emulator, RunningEmulator, StorageConfig};

const TOKEN: &str = "vercel_blob_rw_teststore_s3cr3t";

async fn start() -> RunningEmulator {
    Emulator::builder()
        .token(TOKEN)
        .start()
        .await
        .expect("start emulator")
}

async fn error_code(resp: Response) -> (StatusCode, String) {
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"].is_string(),
        "error.message missing: {body}"
    );
    (status, code)
}

async fn put(
    emu: &RunningEmulator,
    pathname: &str,
    body: &'static [u8],
    access: &str,
) -> serde_json::Value {
    let resp = Client::new()
        .put(format!(
            "{}/?pathname={}",
            emu.api_url(),
            urlencode(pathname)
        ))
        .bearer_auth(TOKEN)
        .header("x-vercel-blob-access", access)
        .body(body)
        .send()
        .await
        .expect("put request");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("put result")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn malformed_and_foreign_tokens_are_forbidden_json() {
    let emu = start().await;
    let url = format!("{}/", emu.api_url());
    let client = Client::new();
    let cases: Vec<Option<&[u8]>> = vec![
        None,
        Some(b"Bearer"),
        Some(b"Bearer "),
        Some(b"Bearer garbage"),
        Some(b"Basic dmVyY2VsOmJsb2I="),
        Some(b"Bearer vercel_blob_rw_otherstore_s3cr3t"),
        Some(b"Bearer vercel_blob_rw_teststore_wrong"),
        Some(b"Bearer vercel_blob_client_"),
        Some(b"Bearer vercel_blob_client_teststore_"),
        Some(b"Bearer vercel_blob_client_teststore_!!!not-base64"),
        Some(b"Bearer vercel_blob_client_teststore_bm9kb3Q="),
        Some(b"Bearer vercel_blob_client_teststore_YWJjLmRlZg=="),
        Some(b"Bearer \xff\xfe"),
    ];
    for auth in cases {
        let mut req = client.get(&url);
        if let Some(value) = auth {
            req = req.header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(value).expect("header bytes"),
            );
        }
        let (status, code) = error_code(req.send().await.expect("list request")).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "auth {auth:?}"
        );
    }
    // Presigned parameters that are garbage are refused the same way.
    let resp = client
        .put(format!(
            "{}/?pathname=a.txt&vercel-blob-delegation=x.y&vercel-blob-signature=z",
            emu.api_url()
        ))
        .body("x")
        .send()
        .await
        .expect("presigned put");
    assert_eq!(
        error_code(resp).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn hostile_pathnames_are_bad_requests() {
    let emu = start().await;
    let client = Client::new();
    let long = "x".repeat(951);
    for query in [
        "pathname=a%2F%2Fb".to_owned(),
        format!("pathname={long}"),
        "pathname=a%00b".to_owned(),
        "pathname=".to_owned(),
        "pathname=%2Fabs".to_owned(),
        "other=1".to_owned(),
    ] {
        let resp = client
            .put(format!("{}/?{query}", emu.api_url()))
            .bearer_auth(TOKEN)
            .header("x-vercel-blob-access", "public")
            .body("x")
            .send()
            .await
            .expect("put");
        assert_eq!(
            error_code(resp).await,
            (StatusCode::BAD_REQUEST, "bad_request".into()),
            "{query}"
        );
    }
    let resp = client
        .put(format!("{}/?pathname=a.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .header("x-vercel-blob-access", "secret")
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(error_code(resp).await.0, StatusCode::BAD_REQUEST);
    emu.shutdown().await;
}

#[tokio::test]
async fn traversal_names_stay_inside_the_storage_directory() {
    let root = tempfile::tempdir().expect("temp dir");
    let store = root.path().join("store");
    let emu = Emulator::builder()
        .token(TOKEN)
        .storage(StorageConfig::Directory(store.clone()))
        .start()
        .await
        .expect("start");
    for hostile in ["../../escape.txt", "a/../../escape.txt", "./escape.txt"] {
        let resp = Client::new()
            .put(format!(
                "{}/?pathname={}",
                emu.api_url(),
                urlencode(hostile)
            ))
            .bearer_auth(TOKEN)
            .body("outside")
            .send()
            .await
            .expect("put");
        assert_eq!(
            error_code(resp).await.0,
            StatusCode::BAD_REQUEST,
            "{hostile}"
        );
    }
    assert!(!root.path().join("escape.txt").exists());
    // Dots inside names are ordinary characters, stored under hashed file names.
    let result = put(&emu, "..dots/..x..", b"inside", "public").await;
    let url = result["url"].as_str().expect("url");
    let text = Client::new()
        .get(url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert_eq!(text, "inside");
    let names: Vec<_> = std::fs::read_dir(store.join("blobs"))
        .expect("blobs dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.len() == 64 + 4 || n.len() == 64 + 5),
        "{names:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn ranges_and_conditional_reads() {
    let emu = start().await;
    let result = put(&emu, "r.txt", b"0123456789", "public").await;
    let url = result["url"].as_str().expect("url").to_owned();
    let etag = result["etag"].as_str().expect("etag").to_owned();
    let client = Client::new();
    let get = |range: &'static str| client.get(&url).header("range", range).send();

    let r = get("bytes=-3").await.expect("suffix");
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 7-9/10");
    assert_eq!(r.text().await.expect("body"), "789");

    let r = get("bytes=4-").await.expect("open");
    assert_eq!(r.headers()["content-length"], "6");
    assert_eq!(r.text().await.expect("body"), "456789");

    let r = get("bytes=8-1000").await.expect("clamped");
    assert_eq!(r.headers()["content-range"], "bytes 8-9/10");

    let r = get("bytes=10-").await.expect("past end");
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */10");
    assert_eq!(error_code(r).await.0, StatusCode::RANGE_NOT_SATISFIABLE);

    for ignored in ["bytes=0-1,4-5", "bytes=5-2", "lines=1-2", "bytes=abc"] {
        let r = get(ignored).await.expect("ignored range");
        assert_eq!(r.status(), StatusCode::OK, "{ignored}");
        assert_eq!(r.text().await.expect("body"), "0123456789");
    }

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        "*".to_owned(),
        format!("\"other\", {etag}"),
    ] {
        let r = client
            .get(&url)
            .header("if-none-match", &inm)
            .send()
            .await
            .expect("conditional");
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(r.headers()["etag"], etag.as_str());
    }
    let r = client
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .expect("conditional");
    assert_eq!(r.status(), StatusCode::OK);

    let r = client.head(&url).send().await.expect("head");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "10");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert!(r.bytes().await.expect("head body").is_empty());

    let r = client
        .get(format!("{url}?download=1"))
        .send()
        .await
        .expect("download");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"r.txt\""
    );

    let r = client
        .request(Method::POST, &url)
        .send()
        .await
        .expect("post to blob");
    assert_eq!(error_code(r).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let r = client
        .get(format!("{}/public/missing", emu.blob_host_url()))
        .send()
        .await
        .expect("missing");
    assert_eq!(
        error_code(r).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let r = client
        .get(format!("{}/private/r.txt", emu.blob_host_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("wrong host");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    emu.shutdown().await;
}

#[tokio::test]
async fn private_blobs_refuse_client_tokens_and_anonymous_reads() {
    let emu = start().await;
    let result = put(&emu, "p/secret.txt", b"shh", "private").await;
    let url = result["url"].as_str().expect("url").to_owned();
    let client = Client::new();
    assert_eq!(
        error_code(client.get(&url).send().await.expect("anon"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let r = client
        .get(&url)
        .bearer_auth("vercel_blob_rw_teststore_nope")
        .send()
        .await
        .expect("bad token");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("rw token");
    assert_eq!(r.text().await.expect("body"), "shh");
    emu.shutdown().await;
}

#[tokio::test]
async fn body_size_limit_applies_with_and_without_content_length() {
    let emu = Emulator::builder()
        .token(TOKEN)
        .max_body_size(10)
        .start()
        .await
        .expect("start");
    let client = Client::new();
    let resp = client
        .put(format!("{}/?pathname=big.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .body("0123456789X")
        .send()
        .await
        .expect("put");
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("the file length cannot be greater than 10"));

    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("012345"), Ok("6789XY")];
    let resp = client
        .put(format!("{}/?pathname=big2.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("chunked put");
    assert_eq!(error_code(resp).await.0, StatusCode::BAD_REQUEST);
    let listed: serde_json::Value = client
        .get(format!("{}/", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list json");
    assert_eq!(listed["blobs"].as_array().map(Vec::len), Some(0));
    emu.shutdown().await;
}

#[tokio::test]
async fn directory_storage_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = StorageConfig::Directory(dir.path().to_path_buf());
    let emu = Emulator::builder()
        .token(TOKEN)
        .storage(config.clone())
        .start()
        .await
        .expect("start");
    put(&emu, "keep/me.txt", b"persisted", "public").await;
    emu.shutdown().await;
    let emu = Emulator::builder()
        .token(TOKEN)
        .storage(config)
        .start()
        .await
        .expect("restart");
    let head: serde_json::Value = Client::new()
        .get(format!("{}/?url=keep%2Fme.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("head")
        .json()
        .await
        .expect("head json");
    assert_eq!(head["size"], 9);
    let text = Client::new()
        .get(head["url"].as_str().expect("url"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert_eq!(text, "persisted");
    let leftovers = std::fs::read_dir(dir.path().join("tmp"))
        .expect("tmp dir")
        .count();
    assert_eq!(leftovers, 0, "temporary files must not be left behind");
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let emu = start().await;
    let client = Client::new();
    let r = client
        .get(format!("{}/nope", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("unknown");
    assert_eq!(
        error_code(r).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let r = client
        .patch(format!("{}/", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("patch");
    assert_eq!(error_code(r).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let r = client
        .post(format!("{}/delete", emu.api_url()))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .expect("bad json");
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "bad_request".into())
    );
    let r = client
        .get(format!("{}/?limit=0", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("limit");
    assert_eq!(error_code(r).await.0, StatusCode::BAD_REQUEST);
    let r = client
        .get(format!("{}/?cursor=%%%", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("cursor");
    assert_eq!(error_code(r).await.0, StatusCode::BAD_REQUEST);
    emu.shutdown().await;
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let emu = start().await;
    let shown = format!("{emu:?} {:?}", emu.rw_token());
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(Emulator::builder()
        .token("not-a-token")
        .start()
        .await
        .is_err());
    assert!(Emulator::builder()
        .token(TOKEN)
        .store_id("other")
        .start()
        .await
        .is_err());
    emu.shutdown().await;
}

/// A write request stating API version `version` and nothing about suffix
/// or overwrite; `query` is the part after `?`.
fn versioned(
    emu: &RunningEmulator,
    method: Method,
    route: &str,
    query: &str,
    version: &'static str,
) -> reqwest::RequestBuilder {
    Client::new()
        .request(method, format!("{}{route}?{query}", emu.api_url()))
        .bearer_auth(TOKEN)
        .header("x-api-version", version)
}

async fn ok_json(req: reqwest::RequestBuilder) -> serde_json::Value {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).expect("JSON result")
}

async fn read_blob(url: &str) -> String {
    let resp = reqwest::get(url).await.expect("read blob");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("blob body")
}

#[tokio::test]
async fn api_version_9_adds_a_suffix_and_overwrites_by_default() {
    let emu = start().await;
    let put = |pathname: &str, body: &'static str| {
        versioned(
            &emu,
            Method::PUT,
            "/",
            &format!("pathname={}", urlencode(pathname)),
            "9",
        )
        .body(body)
    };

    let suffixed = ok_json(put("v9/a.txt", "one")).await;
    let pathname = suffixed["pathname"].as_str().expect("pathname");
    let random = pathname
        .strip_prefix("v9/a-")
        .and_then(|rest| rest.strip_suffix(".txt"))
        .unwrap_or_else(|| panic!("no suffix before the extension: {pathname}"));
    assert!(
        !random.is_empty() && random.chars().all(|c| c.is_ascii_alphanumeric()),
        "{pathname}"
    );
    assert_eq!(suffixed["contentType"], "text/plain");

    let first = ok_json(put("v9/b.txt", "first").header("x-add-random-suffix", "0")).await;
    assert_eq!(first["pathname"], "v9/b.txt");
    let second = ok_json(put("v9/b.txt", "second").header("x-add-random-suffix", "0")).await;
    assert_eq!(second["pathname"], "v9/b.txt");
    assert_ne!(first["etag"], second["etag"]);
    assert_eq!(
        read_blob(second["url"].as_str().expect("url")).await,
        "second"
    );

    // Copy and multipart create share the old defaults.
    let copied = ok_json(versioned(
        &emu,
        Method::PUT,
        "/",
        "pathname=v9%2Fcopy.txt&fromUrl=v9%2Fb.txt",
        "9",
    ))
    .await;
    assert_ne!(copied["pathname"], "v9/copy.txt");
    assert!(
        copied["pathname"]
            .as_str()
            .is_some_and(|p| p.starts_with("v9/copy-") && p.ends_with(".txt")),
        "{copied}"
    );
    let created = ok_json(
        versioned(&emu, Method::POST, "/mpu", "pathname=v9%2Fbig.bin", "9")
            .header("x-mpu-action", "create"),
    )
    .await;
    assert!(
        created["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("v9/big-") && k.ends_with(".bin")),
        "{created}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn api_version_12_keeps_the_pathname_and_refuses_overwrites() {
    let emu = start().await;
    let put = |body: &'static str| {
        versioned(&emu, Method::PUT, "/", "pathname=v12%2Fa.txt", "12").body(body)
    };
    let first = ok_json(put("first")).await;
    assert_eq!(first["pathname"], "v12/a.txt");

    let refused = put("second").send().await.expect("second put");
    assert_eq!(
        error_code(refused).await,
        (StatusCode::BAD_REQUEST, "bad_request".into())
    );
    assert_eq!(
        read_blob(first["url"].as_str().expect("url")).await,
        "first"
    );

    let refused = versioned(&emu, Method::POST, "/mpu", "pathname=v12%2Fa.txt", "12")
        .header("x-mpu-action", "create")
        .send()
        .await
        .expect("multipart create");
    assert_eq!(error_code(refused).await.0, StatusCode::BAD_REQUEST);

    // Without the header the emulator speaks its newest version.
    let refused = Client::new()
        .put(format!("{}/?pathname=v12%2Fa.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .body("third")
        .send()
        .await
        .expect("unversioned put");
    assert_eq!(error_code(refused).await.0, StatusCode::BAD_REQUEST);
    emu.shutdown().await;
}

#[tokio::test]
async fn malformed_api_version_is_a_json_bad_request() {
    let emu = start().await;
    for version in ["abc", "9.5", "-1", ""] {
        let resp = versioned(&emu, Method::PUT, "/", "pathname=bad.txt", version)
            .body("x")
            .send()
            .await
            .expect("put");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{version:?}");
        let body: serde_json::Value = resp.json().await.expect("error body is JSON");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("x-api-version")),
            "{body}"
        );
        let listed = versioned(&emu, Method::GET, "/", "", version)
            .send()
            .await
            .expect("list");
        assert_eq!(
            error_code(listed).await,
            (StatusCode::BAD_REQUEST, "bad_request".into()),
            "{version:?}"
        );
    }
    let missing = Client::new()
        .get(format!("{}/?url=bad.txt", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("head");
    assert_eq!(
        error_code(missing).await,
        (StatusCode::NOT_FOUND, "not_found".into()),
        "a refused write must not store anything"
    );
    emu.shutdown().await;
}
