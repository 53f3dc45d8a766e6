//! The conformance behaviours, one async function each, grouped by the part
//! of the contract they prove.
//!
//! Every behaviour takes a store whose namespace is empty (an
//! `Arc<dyn BlobStore>`, or the whole [`Target`](crate::Target) when it also
//! sends requests over HTTP) and returns
//! `Ok(())` or a [`Failure`](crate::Failure) saying what was expected and
//! what the store did. A behaviour that needs a capability the store lacks
//! checks the other side instead: that the store answers the operation or
//! option with `ErrorKind::Unsupported` and stores nothing.
//!
//! The list of behaviours lives in one place, the `with_behaviours!` macro in
//! this crate's root; [`all_behaviours`](crate::all_behaviours) and
//! [`conformance_tests!`](crate::conformance_tests) both read it.

pub mod concurrency;
pub mod conditional;
pub mod conditional_reads;
pub mod copy;
pub mod delete;
pub mod delimiter;
pub mod invalid_keys;
pub mod keys;
pub mod large;
pub mod list;
pub mod metadata;
pub mod put_get;
pub mod ranges;
pub mod signing;
pub mod signing_refusals;
