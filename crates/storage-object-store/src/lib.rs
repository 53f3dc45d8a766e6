//! What every driver built on the `object_store` crate shares, written once:
//!
//! - [`PolicyHttp`], object_store's HTTP client made of the workspace's own
//!   reqwest 0.12 (rustls with ring, no second TLS stack), which runs every
//!   request under the one [`RetryPolicy`](storage_core::retry::RetryPolicy):
//!   its retries, backoff, `Retry-After`, connect and per-attempt timeouts.
//!   object_store's own retry loop is switched off ([`no_retries`]), so the
//!   policy is the only one.
//! - [`idempotency()`], which decides from a request alone whether it may be
//!   sent twice (conditional writes never are).
//! - [`map_error`], from `object_store::Error` to [`storage_core::Error`] with
//!   the matching kind and a message free of secrets (and [`answer_error`]
//!   for a driver's own requests).
//! - [`PartReader`], an upload body cut into parts with bounded memory.
//!
//! ```
//! use storage_core::retry::RetryPolicy;
//! use storage_object_store::{client_options, no_retries, PolicyHttp};
//! let policy = RetryPolicy::default();
//! let http = PolicyHttp::new(&policy)?;
//! let options = client_options(&policy, true);
//! // …handed to a builder: `.with_http_connector(http).with_client_options(options).with_retry(no_retries())`
//! # let _ = (http, options, no_retries());
//! # Ok::<(), storage_core::Error>(())
//! ```

pub mod connector;
pub mod error;
pub mod idempotency;
pub mod parts;

pub use connector::{client_options, no_retries, PolicyHttp};
pub use error::{answer_error, error_chain, map_error, map_write_error, redact_text, service_code};
pub use idempotency::idempotency;
pub use parts::PartReader;
