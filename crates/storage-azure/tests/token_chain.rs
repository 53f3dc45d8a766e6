//! The Entra ID path: an account named without a key takes tokens from the
//! credential chain and carries them on every request it sends.
//!
//! Azurite accepts OAuth only over HTTPS with a certificate of its own, so
//! this runs against a small recording server on loopback that plays both
//! the Entra ID authority (client-secret token endpoint) and the blob
//! service (Put Blob, Put Block, Put Block List, Get Blob), keeping the
//! bytes so a read-back proves the upload was assembled as sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use storage_azure::{AzureConfig, AzureCredentials, AzureStore};
use storage_core::{BlobStore, BlobStoreExt};

const TOKEN: &str = "token-from-the-authority";
const SECRET: &str = "client-secret-never-shown";

#[derive(Default)]
struct Seen {
    token_requests: usize,
    /// `(method, path?query, Authorization)` of every blob request.
    blob_requests: Vec<(String, String, Option<String>)>,
    blobs: HashMap<String, Vec<u8>>,
    blocks: HashMap<String, Vec<u8>>,
}

type Shared = Arc<Mutex<Seen>>;

fn query_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn blob_answer(status: StatusCode) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("etag", "\"0x1\"".parse().expect("etag"));
    headers.insert(
        "last-modified",
        httpdate::fmt_http_date(std::time::SystemTime::now())
            .parse()
            .expect("date"),
    );
    (status, headers).into_response()
}

async fn handle(State(seen): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let mut seen = seen.lock().expect("lock");
    if path.ends_with("/oauth2/v2.0/token") {
        seen.token_requests += 1;
        let form = String::from_utf8_lossy(&body);
        assert!(
            form.contains("client_secret="),
            "a client-secret grant: {form}"
        );
        let answer =
            format!(r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"{TOKEN}"}}"#);
        return ([("content-type", "application/json")], answer).into_response();
    }
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.blob_requests
        .push((parts.method.to_string(), format!("{path}?{query}"), auth));
    match (parts.method, query_value(&query, "comp").as_deref()) {
        (Method::PUT, None) => {
            seen.blobs.insert(path, body.to_vec());
            blob_answer(StatusCode::CREATED)
        }
        (Method::PUT, Some("block")) => {
            let id = query_value(&query, "blockid").expect("block id");
            seen.blocks.insert(format!("{path}#{id}"), body.to_vec());
            blob_answer(StatusCode::CREATED)
        }
        (Method::PUT, Some("blocklist")) => {
            let list = String::from_utf8_lossy(&body).to_string();
            let mut assembled = Vec::new();
            for part in list.split("<Latest>").skip(1) {
                let id = part.split("</Latest>").next().expect("block id");
                let block = seen
                    .blocks
                    .get(&format!("{path}#{id}"))
                    .expect("a staged block")
                    .clone();
                assembled.extend_from_slice(&block);
            }
            seen.blobs.insert(path, assembled);
            blob_answer(StatusCode::CREATED)
        }
        (Method::GET, None) => match seen.blobs.get(&path) {
            Some(bytes) => {
                let mut answer = blob_answer(StatusCode::OK);
                answer
                    .headers_mut()
                    .insert("content-length", bytes.len().into());
                *answer.body_mut() = axum::body::Body::from(bytes.clone());
                answer
            }
            None => (StatusCode::NOT_FOUND, [("x-ms-error-code", "BlobNotFound")]).into_response(),
        },
        _ => StatusCode::NOT_IMPLEMENTED.into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_a_token_from_the_chain() {
    let seen = Shared::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().fallback(handle).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let base = format!("http://{addr}");
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_ACCOUNT_NAME" => Some("acct".into()),
        "AZURE_STORAGE_ENDPOINT" => Some(format!("{base}/acct")),
        "AZURE_STORAGE_CONTAINER_NAME" => Some("recordings".into()),
        "AZURE_CLIENT_ID" => Some("app-id".into()),
        "AZURE_TENANT_ID" => Some("tenant-id".into()),
        "AZURE_CLIENT_SECRET" => Some(SECRET.into()),
        "AZURE_AUTHORITY_HOST" => Some(base.clone()),
        _ => None,
    })
    .expect("config");
    assert!(matches!(
        config.credentials(),
        AzureCredentials::TokenChain(_)
    ));
    assert!(!format!("{config:?}").contains(SECRET), "{config:?}");
    let store = AzureStore::new(config.with_part_size(1 << 20).expect("part size")).expect("store");

    let small = vec![7u8; 1000];
    store
        .put_bytes("a/small.bin", small.clone())
        .await
        .expect("small put");
    // Streamed (a body in memory this small would be one Put Blob): three
    // blocks and a commit.
    let large: Vec<u8> = (0..(5u32 << 19)).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<storage_core::Result<Bytes>> = large
        .chunks(64 << 10)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let body = storage_core::Body::from_stream(futures::stream::iter(chunks), None);
    store
        .put(
            &store.key("a/large.bin").expect("key"),
            body,
            storage_core::PutOptions::new(),
        )
        .await
        .expect("block put");
    assert_eq!(
        store.get_bytes("a/small.bin").await.expect("get small"),
        small
    );
    assert_eq!(
        store.get_bytes("a/large.bin").await.expect("get large"),
        large
    );

    let seen = seen.lock().expect("lock");
    assert_eq!(
        seen.token_requests, 1,
        "the token is fetched once and cached"
    );
    let methods: Vec<&str> = seen
        .blob_requests
        .iter()
        .map(|(m, _, _)| m.as_str())
        .collect();
    assert!(
        seen.blob_requests.len() >= 7,
        "Put Blob, 3 Put Block, Put Block List, 2 Get Blob: {methods:?}"
    );
    for (method, path, auth) in &seen.blob_requests {
        assert_eq!(
            auth.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{method} {path}"
        );
        assert!(!path.contains("sig="), "no SAS on a token request: {path}");
    }
}
