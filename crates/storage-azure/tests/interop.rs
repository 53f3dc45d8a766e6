//! Interoperability with other Azure clients, over plain REST against
//! Azurite: what the adapter writes is what any client reads (the standard
//! response headers and `x-ms-meta-*`), and a blob another client wrote with
//! Put Blob reads back through the adapter with its properties.
//!
//! The REST calls are built by hand (no adapter code but the one Shared Key
//! signer, which its own known-vector test pins), so the adapter's writer
//! and reader cannot share a bug that cancels itself out.

mod common;

use futures::TryStreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use storage_azure::shared_key::SharedKey;
use storage_core::{
    BlobStore, BlobStoreExt, GetOptions, ListOptions, PutOptions, SignMethod, SignOptions,
};
use storage_testkit::azurite::{ACCOUNT, ACCOUNT_KEY};

const VERSION: &str = "2021-08-06";

/// A Shared Key signed request to `<endpoint>/<container>/<blob>` (ASCII
/// names only, so the path needs no encoding). `ms_headers` are the
/// `x-ms-*` headers besides date and version, names lowercase.
fn shared_key_request(
    method: reqwest::Method,
    endpoint: &str,
    container: &str,
    blob: &str,
    ms_headers: &[(&str, &str)],
    body: &'static [u8],
) -> reqwest::RequestBuilder {
    let url = reqwest::Url::parse(&format!("{endpoint}/{container}/{blob}")).expect("url");
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut headers = HeaderMap::new();
    for (name, value) in ms_headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        headers.insert(name, HeaderValue::from_str(value).expect("header value"));
    }
    headers.insert("x-ms-date", HeaderValue::from_str(&date).expect("date"));
    headers.insert("x-ms-version", HeaderValue::from_static(VERSION));
    headers.insert("content-length", HeaderValue::from(body.len()));
    SharedKey::new(ACCOUNT, ACCOUNT_KEY)
        .expect("key")
        .sign(method.as_str(), &url, &mut headers);
    reqwest::Client::new()
        .request(method, url)
        .headers(headers)
        .body(body)
}

fn header<'a>(answer: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    answer.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_writes_what_a_rest_client_reads() {
    let store = common::fresh_store().await;
    let endpoint = store.config().endpoint().to_string();
    let container = store.config().container().to_string();
    let key = store.key("media/clip.webm").expect("key");
    let written = store
        .put(
            &key,
            b"clip bytes".to_vec().into(),
            PutOptions::new()
                .content_type("video/webm")
                .cache_control("public, max-age=3600")
                .content_disposition("attachment; filename=\"clip.webm\"")
                .metadata("owner", "alice")
                .metadata("take", "2"),
        )
        .await
        .expect("put");

    let answer = shared_key_request(
        reqwest::Method::GET,
        &endpoint,
        &container,
        "media/clip.webm",
        &[],
        b"",
    )
    .send()
    .await
    .expect("REST GET");
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "content-type"), Some("video/webm"));
    assert_eq!(
        header(&answer, "cache-control"),
        Some("public, max-age=3600")
    );
    assert_eq!(
        header(&answer, "content-disposition"),
        Some("attachment; filename=\"clip.webm\"")
    );
    assert_eq!(header(&answer, "x-ms-meta-owner"), Some("alice"));
    assert_eq!(header(&answer, "x-ms-meta-take"), Some("2"));
    assert_eq!(header(&answer, "x-ms-blob-type"), Some("BlockBlob"));
    assert_eq!(header(&answer, "etag"), Some(written.etag.as_str()));
    assert_eq!(answer.bytes().await.expect("body").as_ref(), b"clip bytes");

    // The same headers reach a browser through a read SAS with no overrides.
    let sas = store
        .signed_url(&key, SignOptions::new(SignMethod::Get))
        .await
        .expect("sign");
    let answer = reqwest::get(&sas.url).await.expect("SAS GET");
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "content-type"), Some("video/webm"));
    assert_eq!(
        header(&answer, "cache-control"),
        Some("public, max-age=3600")
    );
    assert_eq!(
        header(&answer, "content-disposition"),
        Some("attachment; filename=\"clip.webm\"")
    );
    assert_eq!(header(&answer, "x-ms-meta-owner"), Some("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_written_by_a_rest_client_reads_through_the_adapter() {
    let store = common::fresh_store().await;
    let endpoint = store.config().endpoint().to_string();
    let container = store.config().container().to_string();
    let answer = shared_key_request(
        reqwest::Method::PUT,
        &endpoint,
        &container,
        "other/report.csv",
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-blob-content-type", "text/csv"),
            ("x-ms-blob-cache-control", "no-cache"),
            ("x-ms-blob-content-disposition", "inline"),
            ("x-ms-meta-foo", "bar"),
        ],
        b"a,b\n1,2\n",
    )
    .send()
    .await
    .expect("REST PUT");
    assert_eq!(answer.status(), 201, "{:?}", answer.text().await);
    let rest_etag = header(&answer, "etag").expect("etag").to_string();

    let key = store.key("other/report.csv").expect("key");
    let head = store.head(&key).await.expect("head");
    assert_eq!(head.size, 8);
    assert_eq!(head.content_type, "text/csv");
    assert_eq!(head.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(head.content_disposition.as_deref(), Some("inline"));
    assert_eq!(head.metadata.get("foo").map(String::as_str), Some("bar"));
    assert_eq!(head.metadata.len(), 1, "{:?}", head.metadata);
    assert_eq!(head.etag, rest_etag);

    let blob = store.get(&key, GetOptions::new()).await.expect("get");
    assert_eq!(blob.meta, head);
    let chunks: Vec<bytes::Bytes> = blob.into_stream().try_collect().await.expect("body");
    assert_eq!(chunks.concat(), b"a,b\n1,2\n");

    let page = store
        .list(ListOptions::new().prefix("other/"))
        .await
        .expect("list");
    assert_eq!(page.entries.len(), 1, "{page:?}");
    let entry = &page.entries[0];
    assert_eq!(entry.key, key);
    assert_eq!(entry.size, 8);
    assert_eq!(entry.etag, rest_etag);
    assert_eq!(
        store.get_bytes("other/report.csv").await.expect("bytes"),
        "a,b\n1,2\n"
    );
}
