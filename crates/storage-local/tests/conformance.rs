//! The shared conformance suite and model-based property test, run against a
//! fresh local store in a new temporary directory for every test and case.
//!
//! Each store's signed-URL router is served on a loopback port of its own,
//! nested under `/blobs` as an app would mount it, and the store signs
//! absolute URLs to that address, so the suite's signing behaviours send
//! the URLs to the real router.

use storage_local::{http, LocalConfig, LocalStore};
use storage_testkit::{Fixture, SignedHttp};

/// Stops the router's server task when the test is over.
struct Serving(tokio::task::JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn fresh_store() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory for the store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the signed-URL router");
    let addr = listener.local_addr().expect("the router's address");
    let config = LocalConfig::new(dir.path())
        .base_url(&format!("http://{addr}/blobs"))
        .expect("base URL")
        .signing_key("conformance-signing-key-0123456789abcdef")
        .expect("signing key");
    let store = LocalStore::new(config).expect("open the local store");
    let app = axum::Router::new().nest("/blobs", http::router(store.clone()));
    let server = tokio::spawn(async move {
        // The task is aborted at teardown; an error before then shows up as
        // refused connections in the signing behaviours.
        let _ = axum::serve(listener, app).await;
    });
    Fixture::from(store)
        .with_signed_http(SignedHttp::absolute())
        .with_guard((Serving(server), dir))
}

storage_testkit::conformance_tests!(fresh_store);
storage_testkit::model_tests!(fresh_store);
