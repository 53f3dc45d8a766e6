//! The shared conformance suite and model-based test against moto, a fresh
//! bucket per test, through the testkit's gateway (`storage_testkit::moto::Moto::strict`), which
//! adds the checks of S3 moto does not make: presigned URLs' signatures and
//! expiry, `If-Match` on `CompleteMultipartUpload`. Presigned URLs are
//! absolute (`http://127.0.0.1:<gateway port>/<bucket>/<key>?X-Amz-…`), so
//! the suite sends them as they are.

mod common;

use storage_s3::S3Store;

use storage_testkit::{Fixture, SignedHttp};

async fn factory() -> Fixture {
    let gateway = common::moto()
        .await
        .strict()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = common::fresh_bucket().await;
    let store = S3Store::new(common::config_for(&gateway.url(), &bucket))
        .unwrap_or_else(|e| panic!("S3Store::new: {e}"));
    Fixture::from(store)
        .with_signed_http(SignedHttp::absolute())
        .with_guard(gateway)
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
