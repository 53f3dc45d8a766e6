//! The in-memory store, the reference adapter, against the shared
//! conformance suite and the model-based property test.

use storage_core::memory::MemoryStore;

/// Each call is a new, empty store: clones share blobs, new stores do not.
/// The memory store has no HTTP endpoint and signs nothing, so the fixture
/// has no HTTP side: the signing behaviours check that every `signed_url`
/// is `Unsupported` and stores nothing.
async fn factory() -> MemoryStore {
    MemoryStore::new()
}

storage_testkit::conformance_tests!(factory);
storage_testkit::model_tests!(factory);
