//! The shared conformance suite and model-based test against the emulator,
//! a fresh bucket per test.
//!
//! The store's endpoint is the signature-checking gateway in front of the
//! emulator (see `common/gateway.rs`), so signed URLs, which are absolute
//! (`http://127.0.0.1:<port>/<bucket>/<object>?X-Goog-…`), are sent as they
//! are and refused as Cloud Storage would refuse them.

mod common;

use storage_gcs::GcsStore;
use storage_testkit::{Fixture, SignedHttp};

async fn factory() -> Fixture {
    let emulator = common::emulator().await;
    let bucket = common::fresh_bucket().await;
    let gateway = common::gateway::url(emulator.url());
    let store = GcsStore::new(common::config_for(&gateway, &bucket))
        .unwrap_or_else(|e| panic!("GcsStore::new: {e}"));
    Fixture::from(store).with_signed_http(SignedHttp::absolute())
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
