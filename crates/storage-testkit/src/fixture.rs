//! What a factory hands the suite: a store with an empty namespace, plus
//! whatever must stay alive while the test uses it.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use storage_core::BlobStore;

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
    guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A fixture with nothing to keep alive besides the store.
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        Fixture { store, guard: None }
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

    /// Drops the store before the guard: a guard such as a temporary
    /// directory must outlive every handle that may still touch it.
    pub(crate) fn teardown(self) {
        let Fixture { store, guard } = self;
        drop(store);
        drop(guard);
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
