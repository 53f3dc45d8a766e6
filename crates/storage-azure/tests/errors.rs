//! Errors that send the user the right way, classified from real answers:
//! Azurite's for a wrong key and a missing container, a refused port for an
//! absent Azurite, and a tiny server of our own for the statuses Azurite
//! never sends (500, 503, 501).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use storage_azure::{AzureConfig, AzureStore};
use storage_core::retry::RetryPolicy;
use storage_core::{BlobStore, BlobStoreExt, ErrorKind, ListOptions};

fn config_for(cs: &str, container: &str) -> AzureConfig {
    AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(cs.to_string()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.to_string()),
        _ => None,
    })
    .expect("config")
    .with_retry(
        RetryPolicy::default()
            .retries(2, Duration::from_millis(5))
            .timeouts(
                Duration::from_secs(2),
                Duration::from_secs(5),
                Duration::from_secs(10),
            ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_account_key_is_unauthorized_and_names_the_variables() {
    let azurite = common::azurite().await;
    let container = azurite
        .fresh_container()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let wrong = base64::engine::general_purpose::STANDARD.encode([0xCD; 64]);
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={wrong};BlobEndpoint={};",
        azurite.blob_endpoint()
    );
    let store = AzureStore::new(config_for(&cs, &container)).expect("store");
    let key = store.key("x.txt").expect("key");
    for err in [
        store.put_bytes("x.txt", "x").await.expect_err("put"),
        store.head(&key).await.expect_err("head"),
        store.list(ListOptions::new()).await.expect_err("list"),
    ] {
        let text = err.to_string();
        assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{text}");
        assert!(text.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{text}");
        assert!(text.contains("AZURE_STORAGE_CONNECTION_STRING"), "{text}");
        assert!(!text.contains("credentials were accepted"), "{text}");
        assert!(
            !text.contains("<?xml") && !text.contains("<Error>"),
            "{text}"
        );
        assert!(!text.contains(&wrong), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_container_says_so_and_points_at_infra_apply() {
    let azurite = common::azurite().await;
    let store = AzureStore::new(config_for(
        &azurite.connection_string(),
        "no-such-container-here",
    ))
    .expect("store");
    let key = store.key("recordings/a.webm").expect("key");
    for (op, err) in [
        (
            "put",
            store
                .put_bytes("recordings/a.webm", "x")
                .await
                .expect_err("put"),
        ),
        ("head", store.head(&key).await.expect_err("head")),
        (
            "get",
            store.get_bytes("recordings/a.webm").await.expect_err("get"),
        ),
        ("delete", store.delete(&key).await.expect_err("delete")),
        (
            "list",
            store.list(ListOptions::new()).await.expect_err("list"),
        ),
    ] {
        let text = err.to_string();
        assert_eq!(
            err.kind(),
            &ErrorKind::InvalidConfig {
                var: "AZURE_STORAGE_CONTAINER_NAME".into()
            },
            "{op}: {text}"
        );
        assert!(
            text.contains("`no-such-container-here` does not exist"),
            "{op}: {text}"
        );
        assert!(text.contains("ContainerNotFound"), "{op}: {text}");
        assert!(text.contains("blobctl infra apply"), "{op}: {text}");
        assert!(
            !text.contains("<?xml") && !text.contains("check the key"),
            "{op}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_azurite_names_the_endpoint_and_the_variable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
        storage_azure::EMULATOR_ACCOUNT_KEY
    );
    let store = AzureStore::new(config_for(&cs, "recordings")).expect("store");
    let err = store.get_bytes("a.txt").await.expect_err("refused");
    let text = err.to_string();
    assert_eq!(err.kind(), &ErrorKind::Transport, "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("AZURE_STORAGE_CONNECTION_STRING"), "{text}");
}

/// Answers every request with `status` and an Azure-shaped error body.
async fn answering(status: u16, code: &'static str) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>"
            );
            (
                axum::http::StatusCode::from_u16(status).expect("status"),
                [("content-type", "application/xml")],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://{addr}/devstoreaccount1;",
        storage_azure::EMULATOR_ACCOUNT_KEY
    );
    (cs, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failures_are_retried_backend_errors_not_rate_limits() {
    for (status, code) in [
        (503, "ServiceUnavailable"),
        (503, "ServerBusy"),
        (500, "InternalError"),
    ] {
        let (cs, seen) = answering(status, code).await;
        let store = AzureStore::new(config_for(&cs, "recordings")).expect("store");
        let key = store.key("a.txt").expect("key");
        let err = store.head(&key).await.expect_err("fails");
        let text = err.to_string();
        assert_eq!(err.kind(), &ErrorKind::Backend, "{status}: {text}");
        assert!(err.is_retryable(), "{status}: {text}");
        assert!(!text.contains("rate limited"), "{status}: {text}");
        assert!(!text.contains("<?xml"), "{status}: {text}");
        assert_eq!(
            seen.load(Ordering::SeqCst),
            3,
            "{status}: 1 try + 2 retries"
        );
    }
}
