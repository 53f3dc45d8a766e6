//! The shared conformance suite for [`BlobStore`](storage_core::BlobStore)
//! adapters: one named test per behaviour of the contract, and a model-based
//! property test that compares random operation sequences with a simple
//! in-memory model.
//!
//! # Using it for your own adapter
//!
//! An adapter implements [`storage_core::driver::Driver`]: only the raw
//! calls (write, read, stat, delete, list, copy, sign) and its
//! capabilities. The portable layer in `storage-core` turns every driver
//! into a [`BlobStore`](storage_core::BlobStore), with option validation,
//! capability checks (`Unsupported` before any I/O), error tagging,
//! tracing, the retry policy's deadline and resumed downloads, so the
//! adapter neither repeats nor can forget them. A network driver sends its
//! requests through [`storage_core::retry::RetryPolicy::run`] and returns
//! its policy from `Driver::retry_policy`; [`fault_proxy`] puts faults
//! between it and its backend in tests.
//!
//! It then adds the testkit as a dev-dependency and writes one test file
//! with a factory:
//!
//! ```toml
//! [dev-dependencies]
//! storage-testkit = "0.1"
//! tempfile = "3"
//! ```
//!
//! ```ignore
//! // tests/conformance.rs
//! use storage_testkit::Fixture;
//!
//! /// Every call must return a store whose namespace is empty.
//! async fn factory() -> Fixture {
//!     let dir = tempfile::tempdir().expect("tempdir");
//!     let store = my_adapter::DiskStore::open(dir.path()).await.expect("open store");
//!     // The guard keeps the directory alive until the test is over.
//!     Fixture::from(store).with_guard(dir)
//! }
//!
//! storage_testkit::conformance_tests!(factory);
//! storage_testkit::model_tests!(factory);
//! ```
//!
//! `cargo test --test conformance` then runs one test per behaviour, named
//! after it (`put_get_roundtrip`, `conditional_concurrent_creates_one_winner`
//! …), so `cargo test --test conformance conditional_` runs one group, and
//! `model_based_operations`. A failure names the behaviour, the provider and
//! what was expected versus seen.
//!
//! # The factory contract
//!
//! - It is an `async fn()` (no arguments) returning anything
//!   `Into<`[`Fixture`]`>`: a store type, an `Arc<dyn BlobStore>`, or a
//!   [`Fixture`] with a guard. A synchronous setup is simply an `async fn`
//!   that does not await.
//! - Each call returns a store whose namespace is **empty**: a new temporary
//!   directory, a new container, a new emulator. Behaviours list the whole
//!   store and expect only their own blobs.
//! - It may be called many times (once per behaviour, once per property-test
//!   case), each on a fresh multi-thread tokio runtime that the testkit
//!   builds, so the adapter's crate needs no tokio of its own.
//! - When setup fails (an emulator that will not start), panic with a
//!   message that says why: there are no silent skips.
//!
//! # Capabilities
//!
//! Behaviours read [`Capabilities`](storage_core::Capabilities) first. When
//! a capability is absent they do not pass silently: they check that the
//! store answers the operation or option with `ErrorKind::Unsupported` and
//! stores nothing. The property test only generates operations the store
//! claims to support.
//!
//! # Signed URLs: the HTTP side
//!
//! The signing behaviours do not stop at the shape of a
//! [`SignedRequest`](storage_core::SignedRequest): they send it, with the
//! testkit's own plain HTTP client, exactly as a browser would (its method,
//! URL and listed headers), and check through the store what happened. A
//! store that claims a `sign_*` capability therefore needs a fixture that
//! says how its URLs are reached, with [`Fixture::with_signed_http`]:
//!
//! ```ignore
//! async fn factory() -> Fixture {
//!     let emulator = my_adapter::Emulator::start().await.expect("emulator");
//!     let store = my_adapter::Store::new(emulator.config()).expect("store");
//!     Fixture::from(store)
//!         // URLs are absolute and point at the emulator …
//!         .with_signed_http(SignedHttp::absolute())
//!         // … or relative (`/blobs/…`) to where the app mounts a router:
//!         // .with_signed_http(SignedHttp::relative_to("http://127.0.0.1:8080"))
//!         .with_guard(emulator)
//! }
//! ```
//!
//! - Whatever serves the URLs must be running for the whole test: start it
//!   in the factory (on a loopback port; the factory runs on the test's
//!   runtime, so `tokio::spawn` works) and keep it alive with the guard, as
//!   `storage-local`'s `tests/conformance.rs` does with its axum router.
//! - A provider whose upload URLs cannot bind a content type (Azure's SAS)
//!   says so with the `sign_content_type` capability; the suite then checks
//!   that another type is stored as sent rather than refused. The size
//!   bound follows the store's `sign_max_size` capability.
//! - The behaviours check: a signed `GET` returns exactly the bytes and
//!   content type; a signed `PUT` writes them (`head` shows size and
//!   type); a signed `DELETE` deletes; and a URL used with another method,
//!   after its expiry (1 s; one shared wait of about two seconds), or edited
//!   to name another key is refused with a 4xx and changes nothing. See
//!   [`behaviours::signing`] and [`behaviours::signing_refusals`].
//! - A store without a `sign_*` capability needs no HTTP side: the
//!   behaviours check `Unsupported` and that nothing was stored. A store
//!   that claims one without an HTTP side fails, with a message that says
//!   to add it.
//!
//! # Environment
//!
//! - `PROPTEST_CASES` raises the number of property-test cases (at least 256).
//! - `STORAGE_TESTKIT_TIMEOUT_SECS` (default 300) bounds each behaviour and
//!   each factory call, so a hung backend fails instead of stalling CI.
//!
//! # Reliability tests
//!
//! [`fault_proxy::FaultProxy`] sits between an adapter and its backend and
//! injects resets, error statuses, stalls and re-chunked responses, chosen
//! by a seeded plan or scripted per request, and records every request it
//! saw, so a test can prove the adapter's retries recover and never replay
//! a non-idempotent request.

pub mod azurite;
pub mod behaviours;
pub mod browser;
pub mod data;
mod failure;
pub mod fault_proxy;
mod fixture;
pub mod gcs_emulator;
pub mod memory_bound;
pub mod model;
pub mod moto;
pub mod node;
pub mod python;
mod runner;
pub mod server_process;
mod signed_http;
mod support;

use futures::future::BoxFuture;

pub use failure::{Failure, Outcome};
pub use fixture::{Fixture, Target};
#[doc(hidden)]
pub use runner::run;
pub use signed_http::SignedHttp;

/// A behaviour as a plain function pointer, for running the suite by hand.
/// Store-only behaviours ignore the target's HTTP side; build one with
/// [`Target::new`] from an `Arc<dyn BlobStore>`.
pub type BehaviourFn = fn(Target) -> BoxFuture<'static, Outcome>;

/// The one list of behaviours. It hands `callback` the list as
/// `[group::name, …]` after the caller's arguments, so every consumer (the
/// test generator, [`all_behaviours`]) sees the same behaviours.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_behaviours {
    ($callback:ident ! ( $($args:tt)* )) => {
        $crate::$callback! {
            ( $($args)* )
            [
                put_get::put_get_roundtrip,
                put_get::put_get_binary_bytes_exact,
                put_get::put_get_empty_blob,
                put_get::put_get_overwrite_by_default,
                put_get::put_get_put_meta_equals_head,
                put_get::put_get_get_meta_equals_head,
                put_get::put_get_get_missing_is_not_found,
                put_get::put_get_head_missing_is_not_found,
                put_get::put_get_streamed_unknown_length,
                put_get::put_get_streamed_known_length,
                put_get::put_get_failing_stream_stores_nothing,
                put_get::put_get_failing_stream_keeps_old_blob,
                put_get::put_get_length_mismatch_is_invalid_input,
                put_get::put_get_last_modified_is_recent,
                metadata::metadata_content_type_roundtrip,
                metadata::metadata_content_type_with_parameters,
                metadata::metadata_content_type_inferred_from_extension,
                metadata::metadata_content_type_defaults_to_octet_stream,
                metadata::metadata_cache_control_roundtrip,
                metadata::metadata_content_disposition_roundtrip,
                metadata::metadata_user_metadata_roundtrip,
                metadata::metadata_overwrite_clears_previous,
                metadata::metadata_invalid_name_is_invalid_input,
                metadata::metadata_crlf_header_value_is_invalid_input,
                metadata::metadata_etag_changes_on_overwrite,
                conditional::conditional_create_when_absent,
                conditional::conditional_create_when_present_fails,
                conditional::conditional_if_match_current_succeeds,
                conditional::conditional_if_match_stale_fails,
                conditional::conditional_if_match_missing_fails,
                conditional::conditional_etag_from_before_delete_is_stale,
                conditional::conditional_concurrent_creates_one_winner,
                conditional_reads::conditional_get_if_match_current_reads,
                conditional_reads::conditional_get_if_match_stale_fails,
                conditional_reads::conditional_get_if_none_match_current_is_not_modified,
                conditional_reads::conditional_get_if_none_match_stale_reads,
                delete::delete_removes,
                delete::delete_missing_is_ok,
                delete::delete_then_recreate,
                delete::delete_leaves_siblings,
                delete::delete_file_and_folder_same_name,
                list::list_empty_store,
                list::list_sorted_by_bytes,
                list::list_prefix_filter,
                list::list_prefix_not_path_aware,
                list::list_prefix_without_match_is_empty,
                list::list_pagination_visits_each_once,
                list::list_single_page_has_no_cursor,
                list::list_entries_match_head,
                list::list_all_follows_pages,
                list::list_deleted_keys_disappear,
                delimiter::delimiter_folds_folders,
                delimiter::delimiter_with_prefix_lists_one_level,
                delimiter::delimiter_nested_one_level_deep,
                delimiter::delimiter_prefix_mid_segment,
                delimiter::delimiter_pagination_mixed,
                ranges::ranges_bounded,
                ranges::ranges_from_offset,
                ranges::ranges_suffix,
                ranges::ranges_suffix_longer_than_blob,
                ranges::ranges_end_past_size_clamps,
                ranges::ranges_single_last_byte,
                ranges::ranges_start_past_size_is_invalid_input,
                copy::copy_bytes_equal,
                copy::copy_preserves_metadata,
                copy::copy_missing_source_is_not_found,
                copy::copy_create_refuses_existing_destination,
                copy::copy_create_to_free_destination,
                copy::copy_if_match_destination,
                copy::copy_leaves_source_unchanged,
                copy::copy_gives_new_etag,
                keys::keys_unicode,
                keys::keys_emoji,
                keys::keys_percent_sequences,
                keys::keys_spaces_and_specials,
                keys::keys_dot_names,
                keys::keys_max_length,
                keys::keys_case_sensitive,
                invalid_keys::invalid_keys_refused_on_write,
                invalid_keys::invalid_keys_refused_on_read,
                invalid_keys::invalid_keys_list_prefix,
                large::large_streamed_unknown_length,
                large::large_streamed_known_length,
                large::large_ranged_read_in_middle,
                concurrency::concurrency_writers_one_whole_winner,
                concurrency::concurrency_readers_see_whole_blobs,
                concurrency::concurrency_parallel_distinct_keys,
                signing::signing_get,
                signing::signing_put,
                signing::signing_put_other_content_type,
                signing::signing_put_max_size,
                signing::signing_delete,
                signing::signing_expiry_over_seven_days_is_invalid_input,
                signing_refusals::signing_other_method_is_refused,
                signing_refusals::signing_expired_url_is_refused,
                signing_refusals::signing_url_cannot_reach_another_key,
            ]
        }
    };
}

/// Expands to one `#[test]` per behaviour; see [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($factory:path) [ $( $group:ident :: $name:ident ),* $(,)? ]) => {
        $(
            #[test]
            fn $name() {
                // A behaviour takes the whole `Target` or just the store
                // (`Target: Into<Arc<dyn BlobStore>>`); `into` picks which.
                $crate::run($factory, stringify!($name), |target: $crate::Target| {
                    $crate::behaviours::$group::$name(::core::convert::Into::into(target))
                });
            }
        )*
    };
}

/// Builds the table behind [`all_behaviours`].
#[doc(hidden)]
#[macro_export]
macro_rules! __behaviour_table {
    (() [ $( $group:ident :: $name:ident ),* $(,)? ]) => {
        vec![
            $(
                (
                    stringify!($name),
                    (|target: $crate::Target| ::std::boxed::Box::pin(
                        $crate::behaviours::$group::$name(::core::convert::Into::into(target)),
                    )) as $crate::BehaviourFn,
                )
            ),*
        ]
    };
}

/// Expands, in the calling module, one `#[test] fn <behaviour>()` per
/// conformance behaviour, each running against a fresh store from
/// `$factory` (an `async fn() -> impl Into<Fixture>`; see the
/// [crate docs](crate) for the factory contract).
///
/// ```ignore
/// async fn factory() -> storage_core::memory::MemoryStore {
///     storage_core::memory::MemoryStore::new()
/// }
/// storage_testkit::conformance_tests!(factory);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::__with_behaviours!(__conformance_test_fns!($factory));
    };
}

/// Every behaviour with its name, in suite order, for running the suite
/// without the macro (a custom harness, a smoke check at start-up).
///
/// ```
/// let all = storage_testkit::all_behaviours();
/// assert!(all.iter().any(|(name, _)| *name == "put_get_roundtrip"));
/// ```
pub fn all_behaviours() -> Vec<(&'static str, BehaviourFn)> {
    __with_behaviours!(__behaviour_table!())
}

#[cfg(test)]
mod tests {
    //! The suite must fail a store that breaks the contract, not only pass
    //! the reference one.

    use std::time::SystemTime;

    use storage_core::driver::Driver;
    use storage_core::memory::MemoryStore;
    use storage_core::{
        async_trait, Blob, BlobKey, BlobMeta, Body, Capabilities, CopyOptions, GetOptions,
        ListOptions, ListPage, Provider, PutOptions, Result, SignOptions, SignedRequest,
    };

    use super::*;

    /// How a [`Broken`] driver breaks the contract.
    #[derive(Debug, Clone, Copy)]
    enum Fault {
        /// `delete` silently does nothing.
        IgnoresDeletes,
        /// Claims every signing capability and returns well-formed
        /// requests whose URL leads nowhere, as a careless adapter might.
        SignsGarbage,
    }

    /// The memory store with one [`Fault`].
    #[derive(Debug, Clone)]
    struct Broken {
        inner: MemoryStore,
        fault: Fault,
    }

    impl Broken {
        fn new(fault: Fault) -> Self {
            Broken {
                inner: MemoryStore::new(),
                fault,
            }
        }
    }

    #[async_trait]
    impl Driver for Broken {
        fn provider(&self) -> Provider {
            match self.fault {
                Fault::IgnoresDeletes => Provider::Custom("ignores-deletes"),
                Fault::SignsGarbage => Provider::Custom("signs-garbage"),
            }
        }
        fn supports(&self) -> Capabilities {
            match self.fault {
                Fault::IgnoresDeletes => self.inner.supports(),
                Fault::SignsGarbage => Capabilities::all(),
            }
        }
        async fn write_blob(
            &self,
            key: &BlobKey,
            body: Body,
            opts: PutOptions,
        ) -> Result<BlobMeta> {
            self.inner.write_blob(key, body, opts).await
        }
        async fn read_blob(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
            self.inner.read_blob(key, opts).await
        }
        async fn stat_blob(&self, key: &BlobKey) -> Result<BlobMeta> {
            self.inner.stat_blob(key).await
        }
        async fn delete_blob(&self, key: &BlobKey) -> Result<()> {
            match self.fault {
                Fault::IgnoresDeletes => Ok(()),
                Fault::SignsGarbage => self.inner.delete_blob(key).await,
            }
        }
        async fn list_blobs(&self, opts: ListOptions) -> Result<ListPage> {
            self.inner.list_blobs(opts).await
        }
        async fn copy_blob(
            &self,
            from: &BlobKey,
            to: &BlobKey,
            opts: CopyOptions,
        ) -> Result<BlobMeta> {
            self.inner.copy_blob(from, to, opts).await
        }
        async fn sign_blob(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
            match self.fault {
                Fault::IgnoresDeletes => self.inner.sign_blob(key, opts).await,
                // Port 9 (discard) on loopback: nothing listens there.
                Fault::SignsGarbage => Ok(SignedRequest::new(
                    opts.method,
                    format!("http://127.0.0.1:9/{}?sig=made-up", key.as_str()),
                    Vec::new(),
                    SystemTime::now() + opts.expires_in,
                )),
            }
        }
    }

    async fn ignores_deletes() -> Broken {
        Broken::new(Fault::IgnoresDeletes)
    }

    async fn signs_garbage() -> Fixture {
        Fixture::from(Broken::new(Fault::SignsGarbage)).with_signed_http(SignedHttp::absolute())
    }

    async fn signs_without_http_side() -> Broken {
        Broken::new(Fault::SignsGarbage)
    }

    #[test]
    #[should_panic(expected = "`delete_removes` failed on provider `ignores-deletes`")]
    fn a_behaviour_failure_names_the_behaviour_and_provider() {
        run(ignores_deletes, "delete_removes", |target: Target| {
            behaviours::delete::delete_removes(target.into())
        });
    }

    #[test]
    #[should_panic(expected = "minimal failing sequence")]
    fn the_model_catches_ignored_deletes() {
        model::run(ignores_deletes);
    }

    #[test]
    #[should_panic(expected = "`signing_get` failed on provider `signs-garbage`")]
    fn a_signed_url_that_leads_nowhere_fails() {
        run(
            signs_garbage,
            "signing_get",
            behaviours::signing::signing_get,
        );
    }

    #[test]
    #[should_panic(expected = "with_signed_http")]
    fn a_signing_store_without_an_http_side_fails() {
        run(
            signs_without_http_side,
            "signing_put",
            behaviours::signing::signing_put,
        );
    }

    #[test]
    fn every_behaviour_has_a_unique_name() {
        let mut names: Vec<_> = all_behaviours().into_iter().map(|(n, _)| n).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(count >= 45, "{count} behaviours");
    }
}
