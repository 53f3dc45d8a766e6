//! The in-memory store, the reference adapter, against the shared
//! conformance suite and the model-based property test.

use storage_core::memory::MemoryStore;

/// Each call is a new, empty store: clones share blobs, new stores do not.
async fn factory() -> MemoryStore {
    MemoryStore::new()
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
