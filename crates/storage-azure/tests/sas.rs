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

/// Why the service refused a request (`x-ms-error-code`), so each refusal
/// is checked for its own reason and not just for a 403.
fn error_code(answer: &reqwest::Response) -> &str {
    answer
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<none>")
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
    // Azurite answers a bad signature with the code it uses for an expired
    // one (Azure says `AuthenticationFailed`).
    assert_eq!(error_code(&refused), "AuthorizationFailure");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sas_put_creates_the_blob_with_its_content_type() {
    let store = common::fresh_store().await;
    let key = store.key("uploads/new take.webm").expect("key");
    let put = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Put)
                .content_type("audio/webm")
                .content_disposition("attachment; filename=\"take.webm\""),
        )
        .await
        .expect("sign put");
    // Send exactly what the SignedRequest lists, as a browser would.
    let answer = send(&put, reqwest::Method::PUT, "webm bytes")
        .send()
        .await
        .expect("PUT");
    assert_eq!(answer.status(), 201, "{:?}", answer.text().await);
    let meta = store.head(&key).await.expect("head");
    assert_eq!(meta.content_type, "audio/webm");
    assert_eq!(
        meta.content_disposition.as_deref(),
        Some("attachment; filename=\"take.webm\"")
    );
    assert_eq!(meta.size, 10);
    assert_eq!(
        store.get_bytes("uploads/new take.webm").await.expect("get"),
        "webm bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_sas_cannot_write_and_expired_sas_is_refused() {
    let store = common::fresh_store().await;
    store.put_bytes("r.txt", "original").await.expect("put");
    let key = store.key("r.txt").expect("key");

    let read = store
        .signed_url(&key, SignOptions::new(SignMethod::Get))
        .await
        .expect("sign get");
    let refused = reqwest::Client::new()
        .put(&read.url)
        .header("x-ms-blob-type", "BlockBlob")
        .body("overwritten")
        .send()
        .await
        .expect("PUT with read SAS");
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(&refused), "AuthorizationPermissionMismatch");
    assert_eq!(store.get_bytes("r.txt").await.expect("get"), "original");

    // Signed two hours ago for fifteen minutes: the whole window is past.
    let past = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    let expired_get = store
        .signed_url_at(&key, SignOptions::new(SignMethod::Get), past)
        .await
        .expect("sign expired get");
    assert!(expired_get.expires_at < std::time::SystemTime::now());
    let refused = send(&expired_get, reqwest::Method::GET, "")
        .send()
        .await
        .expect("GET expired");
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(&refused), "AuthorizationFailure");
    // Signed at the same past instant but still within its window, the same
    // URL shape works: the refusal above is the expiry, not the signature.
    let still_valid = store
        .signed_url_at(
            &key,
            SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(3 * 3600)),
            past,
        )
        .await
        .expect("sign long get");
    let answer = send(&still_valid, reqwest::Method::GET, "")
        .send()
        .await
        .expect("GET still valid");
    assert_eq!(answer.status(), 200);

    let fresh = store.key("never.txt").expect("key");
    let expired_put = store
        .signed_url_at(&fresh, SignOptions::new(SignMethod::Put), past)
        .await
        .expect("sign expired put");
    let refused = send(&expired_put, reqwest::Method::PUT, "late")
        .send()
        .await
        .expect("PUT expired");
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(&refused), "AuthorizationFailure");
    assert!(!store.exists("never.txt").await.expect("exists"));

    let expired_delete = store
        .signed_url_at(&key, SignOptions::new(SignMethod::Delete), past)
        .await
        .expect("sign expired delete");
    let refused = send(&expired_delete, reqwest::Method::DELETE, "")
        .send()
        .await
        .expect("DELETE expired");
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(&refused), "AuthorizationFailure");
    assert!(store.exists("r.txt").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_account_key_is_refused_without_leaking_it() {
    use base64::Engine;
    let azurite = common::azurite().await;
    let container = azurite
        .fresh_container()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A well-formed key that is not Azurite's, with a recognisable encoding.
    let wrong = base64::engine::general_purpose::STANDARD.encode([0xAB; 64]);
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={wrong};BlobEndpoint={};",
        azurite.blob_endpoint()
    );
    let config = storage_azure::AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("config");
    let store = storage_azure::AzureStore::new(config.clone()).expect("store");
    let shown = format!("{config:?} {store:?}");
    assert!(!shown.contains(&wrong), "{shown}");

    let key = store.key("x.txt").expect("key");
    let errors = [
        store.put_bytes("x.txt", "x").await.expect_err("put"),
        store.head(&key).await.expect_err("head"),
        store.get_bytes("x.txt").await.expect_err("get"),
        store
            .list(storage_core::ListOptions::new())
            .await
            .expect_err("list"),
    ];
    for err in errors {
        let text = format!("{err} {err:?}");
        assert!(
            matches!(err.kind(), ErrorKind::Forbidden | ErrorKind::Unauthorized),
            "{text}"
        );
        assert!(!err.is_retryable(), "{text}");
        assert!(!text.contains(&wrong), "{text}");
    }

    // A SAS signed with the wrong key is refused, and its signature stays
    // out of the request's Debug.
    let get = store
        .signed_url(&key, SignOptions::new(SignMethod::Get))
        .await
        .expect("sign");
    let sig = get.url.split("sig=").nth(1).expect("sig").to_string();
    assert!(!format!("{get:?}").contains(&sig));
    let refused = reqwest::get(&get.url).await.expect("GET");
    assert_eq!(refused.status(), 403);
}
