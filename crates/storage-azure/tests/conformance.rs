//! The shared conformance suite and model-based test against Azurite, a
//! fresh container per test.
//!
//! SAS URLs are absolute (`http://127.0.0.1:<port>/devstoreaccount1/…`), so
//! the suite sends them as they are. A service SAS has no field for an
//! upload's content type, which `capabilities().sign_content_type` says.

mod common;

use storage_testkit::{Fixture, SignedHttp};

async fn factory() -> Fixture {
    Fixture::from(common::fresh_store().await).with_signed_http(SignedHttp::absolute())
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
