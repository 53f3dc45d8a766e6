//! The shared conformance suite and model-based property test, run against a
//! fresh local store in a new temporary directory for every test and case.

use storage_local::{LocalConfig, LocalStore};
use storage_testkit::Fixture;

async fn fresh_store() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory for the store");
    let config = LocalConfig::new(dir.path())
        .signing_key("conformance-signing-key-0123456789abcdef")
        .expect("signing key");
    let store = LocalStore::new(config).expect("open the local store");
    Fixture::from(store).with_guard(dir)
}

storage_testkit::conformance_tests!(fresh_store);
storage_testkit::model_tests!(fresh_store);
