//! Code shared by the runnable examples, kept in a library so the tests can
//! start the example services in-process.

pub mod quickstart;
pub mod recordings_service;
