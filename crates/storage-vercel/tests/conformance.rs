//! The shared conformance suite and model-based test, each test against a
//! fresh emulator on a real socket. Presigned URLs are absolute (downloads
//! on the emulator's blob host, uploads and deletes on its API), so the
//! suite sends them as they are.

mod support;

use storage_testkit::{Fixture, SignedHttp};
use storage_vercel::Access;

async fn factory() -> Fixture {
    let (store, started) = support::store(Access::Private).await;
    Fixture::from(store)
        .with_signed_http(SignedHttp::absolute())
        .with_guard(started.emulator)
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
