//! Runs one behaviour against a fresh fixture on its own runtime, turning a
//! failure, a panic or a hang into a panic that names the behaviour and the
//! provider.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use crate::{Fixture, Outcome, Target};

/// How long one behaviour (or one factory call) may take before it counts as
/// hung; `STORAGE_TESTKIT_TIMEOUT_SECS` overrides it for slow backends.
fn time_limit() -> Duration {
    let secs = std::env::var("STORAGE_TESTKIT_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// The runtime every test builds for itself, so user crates need no tokio.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("storage-testkit: cannot start a tokio runtime: {e}"),
    }
}

/// Calls the factory, failing the test with a clear message if it hangs.
pub(crate) async fn make_fixture<F, Fut, X>(factory: &F, what: &str) -> Fixture
where
    F: Fn() -> Fut,
    Fut: Future<Output = X>,
    X: Into<Fixture>,
{
    match tokio::time::timeout(time_limit(), factory()).await {
        Ok(fixture) => fixture.into(),
        Err(_) => panic!(
            "{what}: the factory did not return a store within {:?}",
            time_limit()
        ),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}

/// Runs `behaviour` named `name` against a store from `factory`.
///
/// Used by [`conformance_tests!`](crate::conformance_tests); call it
/// directly only to run a behaviour outside that macro.
#[doc(hidden)]
pub fn run<F, Fut, X, B, BFut>(factory: F, name: &'static str, behaviour: B)
where
    F: Fn() -> Fut,
    Fut: Future<Output = X>,
    X: Into<Fixture>,
    B: FnOnce(Target) -> BFut,
    BFut: Future<Output = Outcome>,
{
    let rt = runtime();
    let what = format!("conformance behaviour `{name}`");
    let fixture = rt.block_on(make_fixture(&factory, &what));
    let target = fixture.target();
    let provider = target.store().provider();
    let outcome = rt.block_on(async {
        let run = AssertUnwindSafe(behaviour(target)).catch_unwind();
        tokio::time::timeout(time_limit(), run).await
    });
    rt.block_on(async move { fixture.teardown() });
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(failure))) => {
            panic!("{what} failed on provider `{provider}`: {failure}")
        }
        Ok(Err(payload)) => panic!(
            "{what} panicked on provider `{provider}`: {}",
            panic_text(payload.as_ref())
        ),
        Err(_) => panic!(
            "{what} did not finish within {:?} on provider `{provider}` (set STORAGE_TESTKIT_TIMEOUT_SECS for slow backends)",
            time_limit()
        ),
    }
}
