//! Signed URLs against Azurite with a plain HTTP client: each works for its
//! one method, and a tampered signature or another method is refused.

mod common;

use std::time::Duration;

use storage_core::{BlobStore, BlobStoreExt, ErrorKind, SignMethod, SignOptions};

fn send(
    req: &storage_core::SignedRequest,
    method: reqwest::Method,
    body: &'static str,
) -> reqwest::RequestBuilder {
    let mut builder = reqwest::Client::new().request(method, &req.url).body(body);
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    builder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sas_get_put_delete_work_and_only_for_their_method() {
    let store = common::fresh_store().await;
    store.put_bytes("docs/a b.txt", "hello").await.expect("put");
    let key = store.key("docs/a b.txt").expect("key");

    let get = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Get)
                .content_type("text/markdown")
                .content_disposition("attachment; filename=\"x.md\""),
        )
        .await
        .expect("sign get");
    assert!(
        get.url.contains("sp=r&") && get.url.contains("sr=b"),
        "{get:?}"
    );
    let answer = send(&get, reqwest::Method::GET, "")
        .send()
        .await
        .expect("GET");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "text/markdown");
    assert_eq!(
        answer.headers()["content-disposition"],
        "attachment; filename=\"x.md\""
    );
    assert_eq!(answer.text().await.expect("body"), "hello");

    // Wrong method on a read-only URL.
    let refused = send(&get, reqwest::Method::DELETE, "")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(refused.status(), 403);

    // Tampered signature.
    let tampered = get.url.replace("sig=", "sig=AAAA");
    let refused = reqwest::get(&tampered).await.expect("GET tampered");
    assert_eq!(refused.status(), 403);

    let put = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Put).content_type("text/plain"),
        )
        .await
        .expect("sign put");
    assert!(put
        .headers
        .iter()
        .any(|(n, v)| n == "x-ms-blob-type" && v == "BlockBlob"));
    let answer = send(&put, reqwest::Method::PUT, "uploaded")
        .send()
        .await
        .expect("PUT");
    assert_eq!(answer.status(), 201, "{:?}", answer.text().await);
    assert_eq!(
        store.get_bytes("docs/a b.txt").await.expect("get"),
        "uploaded"
    );
    let refused = send(&put, reqwest::Method::GET, "")
        .send()
        .await
        .expect("GET on put URL");
    assert_eq!(refused.status(), 403);

    let delete = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Delete).expires_in(Duration::from_secs(60)),
        )
        .await
        .expect("sign delete");
    let refused = send(&delete, reqwest::Method::GET, "")
        .send()
        .await
        .expect("GET on delete URL");
    assert_eq!(refused.status(), 403);
    let answer = send(&delete, reqwest::Method::DELETE, "")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(answer.status(), 202);
    assert!(!store.exists("docs/a b.txt").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_bounds_and_max_size() {
    let store = common::fresh_store().await;
    let key = store.key("k").expect("key");
    let err = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(8 * 24 * 3600)),
        )
        .await
        .expect_err("8 days");
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    let err = store
        .signed_url(&key, SignOptions::new(SignMethod::Put).max_size(10))
        .await
        .expect_err("max_size");
    assert!(matches!(err.kind(), ErrorKind::Unsupported { .. }), "{err}");
    let ok = store
        .signed_url(&key, SignOptions::new(SignMethod::Get))
        .await
        .expect("default");
    let left = ok
        .expires_at
        .duration_since(std::time::SystemTime::now())
        .expect("future");
    assert!(left <= Duration::from_secs(15 * 60) && left > Duration::from_secs(14 * 60));
    assert!(!format!("{ok:?}").contains(ok.url.split("sig=").nth(1).unwrap_or("-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_requests_do_not_leak_the_sas_or_key() {
    let azurite = common::azurite().await;
    let cs = format!(
        "BlobEndpoint={};SharedAccessSignature=sv=2022-11-02&sp=r&sr=c&sig=LEAKYSIGNATURE",
        azurite.blob_endpoint()
    );
    let config = storage_azure::AzureConfig::from_lookup(|var| {
        (var == "AZURE_STORAGE_CONNECTION_STRING").then(|| cs.clone())
    })
    .expect("config");
    let store = storage_azure::AzureStore::new(config).expect("store");
    let err = store.put_bytes("x.txt", "x").await.expect_err("bad SAS");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("LEAKYSIGNATURE"), "{text}");
    assert!(!text.contains(storage_azure::EMULATOR_ACCOUNT_KEY));
    assert!(!err.is_retryable(), "{text}");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Forbidden | ErrorKind::Unauthorized | ErrorKind::NotFound
        ),
        "{text}"
    );
    let sign = store
        .signed_url(
            &store.key("x.txt").expect("key"),
            SignOptions::new(SignMethod::Get),
        )
        .await;
    assert!(matches!(
        sign.expect_err("fixed SAS").kind(),
        ErrorKind::Unsupported { .. }
    ));
}
