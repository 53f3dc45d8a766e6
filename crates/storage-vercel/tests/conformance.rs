//! The shared conformance suite and model-based test, each test against a
//! fresh emulator on a real socket.

mod support;

use storage_testkit::Fixture;
use storage_vercel::Access;

async fn factory() -> Fixture {
    let (store, started) = support::store(Access::Private).await;
    Fixture::from(store).with_guard(started.emulator)
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
