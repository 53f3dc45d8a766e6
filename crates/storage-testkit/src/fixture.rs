//! What a factory hands the suite: a store with an empty namespace, plus
//! whatever must stay alive while the test uses it, and, for stores that
//! sign URLs, how the suite reaches those URLs over HTTP.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use storage_core::BlobStore;

use crate::signed_http::SignedHttp;

/// A store for one test, and an optional guard kept alive until the test
/// ends (a temporary directory, a running emulator, a container to delete).
///
/// The factory contract: every call returns a store whose namespace is
/// **empty** (a new temporary directory, a new container, a new emulator),
/// because behaviours list the whole store and expect to see only their own
/// blobs.
///
/// ```
/// use storage_core::memory::MemoryStore;
/// use storage_testkit::Fixture;
///
/// let plain: Fixture = MemoryStore::new().into();
/// let guarded = Fixture::from(MemoryStore::new()).with_guard(String::from("a tempdir handle"));
/// assert_eq!(plain.store().provider(), guarded.store().provider());
/// ```
pub struct Fixture {
    store: Arc<dyn BlobStore>,
    http: Option<SignedHttp>,
    guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A fixture with nothing to keep alive besides the store.
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        Fixture {
            store,
            http: None,
            guard: None,
        }
    }

    /// Says the store's signed URLs can be sent: the signing behaviours then
    /// send every signed request over HTTP with the testkit's own client and
    /// check what the server did. A store that claims a `sign_*`
    /// capability needs this; without it those behaviours fail and say so.
    ///
    /// ```
    /// use storage_core::memory::MemoryStore;
    /// use storage_testkit::{Fixture, SignedHttp};
    ///
    /// // An adapter whose signed URLs are relative to where its router is mounted.
    /// let fixture = Fixture::from(MemoryStore::new())
    ///     .with_signed_http(SignedHttp::relative_to("http://127.0.0.1:8080"));
    /// assert!(fixture.signed_http().is_some());
    /// ```
    pub fn with_signed_http(mut self, http: SignedHttp) -> Self {
        self.http = Some(http);
        self
    }

    /// Keeps `guard` alive until the test is over; it is dropped after the
    /// store, inside the test's runtime, so a guard may stop a server task.
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }

    /// The store under test.
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// How signed requests reach the store's server, if the factory said.
    pub fn signed_http(&self) -> Option<&SignedHttp> {
        self.http.as_ref()
    }

    /// What a behaviour receives: the store and the HTTP side.
    pub(crate) fn target(&self) -> Target {
        Target {
            store: self.store.clone(),
            http: self.http.clone(),
        }
    }

    /// Drops the store before the guard: a guard such as a temporary
    /// directory must outlive every handle that may still touch it.
    pub(crate) fn teardown(self) {
        let Fixture { store, http, guard } = self;
        drop(store);
        drop(http);
        drop(guard);
    }
}

/// What one behaviour runs against: the store under test and, when the
/// factory provided one, the [`SignedHttp`] that sends its signed requests.
/// Behaviours that need only the store take an `Arc<dyn BlobStore>`, which a
/// `Target` converts into.
#[derive(Clone, Debug)]
pub struct Target {
    store: Arc<dyn BlobStore>,
    http: Option<SignedHttp>,
}

impl Target {
    /// A target with no HTTP side, for running store-only behaviours by hand.
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        Target { store, http: None }
    }

    /// The store under test.
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// How signed requests are sent, if the fixture said.
    pub fn signed_http(&self) -> Option<&SignedHttp> {
        self.http.as_ref()
    }
}

impl From<Target> for Arc<dyn BlobStore> {
    fn from(target: Target) -> Self {
        target.store
    }
}

/// Any store, including an `Arc<dyn BlobStore>` (taken as is, not wrapped
/// again). One impl covers both because `Arc<dyn BlobStore>` is itself a
/// `BlobStore`, which rules out a separate `From<Arc<dyn BlobStore>>`.
impl<S: BlobStore + 'static> From<S> for Fixture {
    fn from(store: S) -> Self {
        if let Some(shared) = (&store as &dyn Any).downcast_ref::<Arc<dyn BlobStore>>() {
            return Fixture::new(shared.clone());
        }
        Fixture::new(Arc::new(store))
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("http", &self.http)
            .field("guard", &self.guard.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage_core::memory::MemoryStore;

    #[test]
    fn an_arc_dyn_store_is_not_wrapped_twice() {
        let arc: Arc<dyn BlobStore> = Arc::new(MemoryStore::new());
        let fixture = Fixture::from(arc.clone());
        assert!(Arc::ptr_eq(&arc, fixture.store()));
    }
}
