//! The shared conformance suite and model-based test against Azurite, a
//! fresh container per test.

mod common;

storage_testkit::conformance_tests!(common::fresh_store);
storage_testkit::model_tests!(common::fresh_store);
