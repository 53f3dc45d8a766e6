//! Model-based property test: random sequences of operations run against a
//! fresh store and against a deliberately simple model (a `BTreeMap`), which
//! must agree on every observable result.
//!
//! What is compared, step by step: success versus error kind; bytes, sizes
//! and content types; the resolved range of a ranged read; listed keys,
//! sizes, etags and folders (walking every page); and the etag relations a
//! caller relies on: `put`/`copy` return the etag that `head`, `get` and
//! `list` then report, and every write gives the key an etag it never had.
//!
//! Operations the store's [`Capabilities`] lack are never generated. A
//! failure is shrunk by proptest to a short sequence, printed one step per
//! line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::ops::Range;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use storage_core::{
    BlobKey, BlobStore, Body, ByteRange, Capabilities, CopyOptions, ErrorKind, GetOptions,
    ListOptions, PutMode, PutOptions,
};

use crate::runner::{make_fixture, runtime};
use crate::support::{list_all, Store};
use crate::Fixture;

/// Keys for stores where `a` and `a/x` can coexist: nested keys, a key that
/// is also a folder, and siblings that sort around the `/`.
const NESTED_KEYS: &[&str] = &["a", "a-b", "a/x", "a/x/y", "a/z.txt", "ab", "b.json", "b/c"];

/// Keys for stores where a name cannot be both a blob and a folder.
const FLAT_KEYS: &[&str] = &[
    "a",
    "a-b",
    "ab",
    "b/x.txt",
    "b/y",
    "c/d/e.json",
    "c/d/g",
    "c/f",
];

const PREFIXES: &[&str] = &["", "a", "a/", "a/x", "b", "b/", "c/d/", "z"];

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/json",
    "image/png",
    "application/x-model",
];

/// An etag no store issues, for `IfMatch` when there is no real stale one.
const NEVER_ISSUED: &str = "\"storage-testkit-never-issued\"";

/// How a write treats what is already at its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `PutMode::Overwrite`.
    Overwrite,
    /// `PutMode::Create`.
    Create,
    /// `PutMode::IfMatch` with the key's current etag (a never-issued one
    /// when the key is absent).
    IfMatchCurrent,
    /// `PutMode::IfMatch` with an etag the key had before, or a never-issued
    /// one.
    IfMatchStale,
}

/// One step of a generated sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `put` of `data`, with an explicit content type or an inferred one.
    Put {
        /// The key written.
        key: &'static str,
        /// The body.
        data: Vec<u8>,
        /// `None` lets the store infer it from the key.
        content_type: Option<&'static str>,
        /// The write mode.
        mode: Mode,
    },
    /// `get`, whole or ranged.
    Get {
        /// The key read.
        key: &'static str,
        /// The range, if any.
        range: Option<ByteRange>,
    },
    /// `head`.
    Head {
        /// The key read.
        key: &'static str,
    },
    /// `delete`.
    Delete {
        /// The key deleted.
        key: &'static str,
    },
    /// A full listing, every page walked.
    List {
        /// The prefix.
        prefix: &'static str,
        /// Fold folders.
        delimiter: bool,
        /// Page size.
        limit: usize,
    },
    /// `copy` between two different keys.
    Copy {
        /// The source.
        from: &'static str,
        /// The destination.
        to: &'static str,
        /// The destination's write mode.
        mode: Mode,
    },
}

fn range_strategy() -> impl Strategy<Value = ByteRange> {
    prop_oneof![
        (0u64..14, 0u64..16).prop_map(|(start, end)| ByteRange::Bounded { start, end }),
        (0u64..14).prop_map(ByteRange::From),
        (0u64..14).prop_map(ByteRange::Suffix),
    ]
}

/// Operations a store with `caps` supports, over `keys`.
fn op_strategy(caps: Capabilities, keys: &'static [&'static str]) -> BoxedStrategy<Op> {
    let mut modes = vec![Mode::Overwrite];
    if caps.put_create {
        modes.push(Mode::Create);
    }
    if caps.put_if_match {
        modes.extend([Mode::IfMatchCurrent, Mode::IfMatchStale]);
    }
    let key = select(keys);
    let mode = select(modes);
    let range = if caps.ranges {
        option::of(range_strategy()).boxed()
    } else {
        Just(None).boxed()
    };
    let delimiter = if caps.list_delimiter {
        any::<bool>().boxed()
    } else {
        Just(false).boxed()
    };
    let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (
            4,
            (
                key.clone(),
                vec(any::<u8>(), 0..12),
                option::of(select(CONTENT_TYPES)),
                mode.clone(),
            )
                .prop_map(|(key, data, content_type, mode)| Op::Put {
                    key,
                    data,
                    content_type,
                    mode,
                })
                .boxed(),
        ),
        (
            2,
            (key.clone(), range)
                .prop_map(|(key, range)| Op::Get { key, range })
                .boxed(),
        ),
        (1, key.clone().prop_map(|key| Op::Head { key }).boxed()),
        (1, key.clone().prop_map(|key| Op::Delete { key }).boxed()),
        (
            2,
            (select(PREFIXES), delimiter, 1usize..5)
                .prop_map(|(prefix, delimiter, limit)| Op::List {
                    prefix,
                    delimiter,
                    limit,
                })
                .boxed(),
        ),
    ];
    if caps.copy {
        ops.push((
            1,
            (key.clone(), key, mode)
                .prop_filter("copy needs two different keys", |(from, to, _)| from != to)
                .prop_map(|(from, to, mode)| Op::Copy { from, to, mode })
                .boxed(),
        ));
    }
    Union::new_weighted(ops).boxed()
}

/// What the model holds for one key.
#[derive(Debug, Clone)]
struct Stored {
    data: Vec<u8>,
    content_type: String,
    etag: String,
}

/// The reference: a map of blobs plus every etag each key has had, with the
/// bytes it had then.
#[derive(Debug, Default)]
struct Model {
    blobs: BTreeMap<String, Stored>,
    etags: BTreeMap<String, Vec<(String, Vec<u8>)>>,
    /// Whether every write must give a new etag; otherwise etags are content
    /// hashes and must only differ when the bytes do.
    etag_per_write: bool,
}

impl Model {
    fn resolve(&self, key: &str, mode: Mode) -> PutMode {
        let current = self.blobs.get(key).map(|s| s.etag.clone());
        match mode {
            Mode::Overwrite => PutMode::Overwrite,
            Mode::Create => PutMode::Create,
            Mode::IfMatchCurrent => {
                PutMode::IfMatch(current.unwrap_or_else(|| NEVER_ISSUED.into()))
            }
            Mode::IfMatchStale => PutMode::IfMatch(
                self.etags
                    .get(key)
                    .and_then(|all| {
                        all.iter()
                            .rev()
                            .map(|(e, _)| e)
                            .find(|e| Some(*e) != current.as_ref())
                    })
                    .cloned()
                    .unwrap_or_else(|| NEVER_ISSUED.into()),
            ),
        }
    }

    /// The error `mode` must produce at `key`, if any.
    fn mode_error(&self, key: &str, mode: &PutMode) -> Option<ErrorKind> {
        let current = self.blobs.get(key);
        match mode {
            PutMode::Overwrite => None,
            PutMode::Create => current.map(|_| ErrorKind::AlreadyExists),
            PutMode::IfMatch(etag) => match current {
                Some(s) if &s.etag == etag => None,
                _ => Some(ErrorKind::PreconditionFailed),
            },
        }
    }

    /// Records a successful write, checking its etag is new for the key
    /// (or, with content-hash etags, new unless the bytes are the same).
    fn record(&mut self, key: &str, stored: Stored) -> Result<(), String> {
        let history = self.etags.entry(key.to_string()).or_default();
        let reused = history.iter().find(|(etag, data)| {
            *etag == stored.etag && (self.etag_per_write || *data != stored.data)
        });
        if let Some((etag, _)) = reused {
            let seen: Vec<&String> = history.iter().map(|(e, _)| e).collect();
            return Err(format!(
                "the write gave {key:?} etag {etag:?}, which it already had for other bytes or an \
                 earlier write (etags: {seen:?})"
            ));
        }
        history.push((stored.etag.clone(), stored.data.clone()));
        self.blobs.insert(key.to_string(), stored);
        Ok(())
    }

    /// (key, size, etag) of listed blobs and the folders, as a listing of
    /// every page must show them.
    fn listing(&self, prefix: &str, delimiter: bool) -> (Vec<(String, u64, String)>, Vec<String>) {
        let mut entries = Vec::new();
        let mut folders: Vec<String> = Vec::new();
        for (key, stored) in self.blobs.iter().filter(|(k, _)| k.starts_with(prefix)) {
            match key[prefix.len()..].find('/').filter(|_| delimiter) {
                Some(i) => {
                    let folder = key[..prefix.len() + i + 1].to_string();
                    if folders.last() != Some(&folder) {
                        folders.push(folder);
                    }
                }
                None => entries.push((key.clone(), stored.data.len() as u64, stored.etag.clone())),
            }
        }
        (entries, folders)
    }
}

/// HTTP range semantics, written out independently of `ByteRange::resolve`.
fn resolve_range(range: ByteRange, size: u64) -> Option<Range<u64>> {
    match range {
        ByteRange::Bounded { start, end } => {
            (start < end && start < size).then(|| start..end.min(size))
        }
        ByteRange::From(start) => (start < size).then_some(start..size),
        ByteRange::Suffix(0) => None,
        ByteRange::Suffix(_) if size == 0 => None,
        ByteRange::Suffix(n) => Some(size.saturating_sub(n)..size),
    }
}

fn key(name: &str) -> Result<BlobKey, String> {
    BlobKey::new(name).map_err(|e| format!("the model's key {name:?} is invalid: {e}"))
}

/// Checks an error result against the kinds the model allows.
fn expect_error<T: std::fmt::Debug>(
    result: storage_core::Result<T>,
    kinds: &[ErrorKind],
) -> Result<(), String> {
    match result {
        Err(e) if kinds.iter().any(|k| crate::failure::same_kind(k, e.kind())) => Ok(()),
        Err(e) => Err(format!(
            "expected error {kinds:?}, saw error {:?} ({e})",
            e.kind()
        )),
        Ok(v) => Err(format!(
            "expected error {kinds:?}, saw success {}",
            crate::failure::short_debug(&v)
        )),
    }
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, expected: T, seen: T) -> Result<(), String> {
    if expected == seen {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, saw {seen:?}"))
    }
}

/// Applies `op` to the store and the model, comparing what each observes.
async fn step(store: &Store, model: &mut Model, op: &Op) -> Result<(), String> {
    match op {
        Op::Put {
            key: name,
            data,
            content_type,
            mode,
        } => {
            let k = key(name)?;
            let put_mode = model.resolve(name, *mode);
            let expected_error = model.mode_error(name, &put_mode);
            let mut opts = PutOptions::new().mode(put_mode);
            if let Some(ct) = content_type {
                opts = opts.content_type(*ct);
            }
            let content_type = opts.content_type_for(&k);
            let result = store.put(&k, Body::from(data.clone()), opts).await;
            if let Some(kind) = expected_error {
                return expect_error(result, &[kind]);
            }
            let meta = result.map_err(|e| format!("expected success, saw error {e}"))?;
            same("size", data.len() as u64, meta.size)?;
            same("content_type", &content_type, &meta.content_type)?;
            model.record(
                name,
                Stored {
                    data: data.clone(),
                    content_type,
                    etag: meta.etag,
                },
            )
        }
        Op::Get { key: name, range } => {
            let k = key(name)?;
            let opts = match range {
                Some(r) => GetOptions::new().range(*r),
                None => GetOptions::new(),
            };
            let result = store.get(&k, opts).await;
            // Ranges that select nothing in any blob are refused before I/O.
            if range.is_some_and(|r| r.validate().is_err()) {
                return expect_error(result, &[ErrorKind::InvalidInput]);
            }
            let Some(stored) = model.blobs.get(*name) else {
                return expect_error(result, &[ErrorKind::NotFound]);
            };
            let size = stored.data.len() as u64;
            let resolved = match range {
                None => 0..size,
                Some(r) => match resolve_range(*r, size) {
                    Some(resolved) => resolved,
                    None => return expect_error(result, &[ErrorKind::InvalidInput]),
                },
            };
            let blob = result.map_err(|e| format!("expected success, saw error {e}"))?;
            same("range", resolved.clone(), blob.range.clone())?;
            same("size (of the whole blob)", size, blob.meta.size)?;
            same("etag", &stored.etag, &blob.meta.etag)?;
            same(
                "content_type",
                &stored.content_type,
                &blob.meta.content_type,
            )?;
            let bytes = blob
                .bytes()
                .await
                .map_err(|e| format!("reading the body failed: {e}"))?;
            same(
                "bytes",
                &stored.data[resolved.start as usize..resolved.end as usize],
                &bytes[..],
            )
        }
        Op::Head { key: name } => {
            let result = store.head(&key(name)?).await;
            let Some(stored) = model.blobs.get(*name) else {
                return expect_error(result, &[ErrorKind::NotFound]);
            };
            let meta = result.map_err(|e| format!("expected success, saw error {e}"))?;
            same("size", stored.data.len() as u64, meta.size)?;
            same("etag", &stored.etag, &meta.etag)?;
            same("content_type", &stored.content_type, &meta.content_type)
        }
        Op::Delete { key: name } => {
            store
                .delete(&key(name)?)
                .await
                .map_err(|e| format!("expected success, saw error {e}"))?;
            model.blobs.remove(*name);
            Ok(())
        }
        Op::List {
            prefix,
            delimiter,
            limit,
        } => {
            let opts = ListOptions::new()
                .prefix(*prefix)
                .delimiter(*delimiter)
                .limit(*limit);
            let (entries, folders) = list_all(store, opts)
                .await
                .map_err(|f| f.message().to_string())?;
            let entries: Vec<(String, u64, String)> = entries
                .into_iter()
                .map(|e| (e.key.into_string(), e.size, e.etag))
                .collect();
            same(
                "(entries as (key, size, etag), folders)",
                model.listing(prefix, *delimiter),
                (entries, folders),
            )
        }
        Op::Copy { from, to, mode } => {
            let (source, dest) = (key(from)?, key(to)?);
            let put_mode = model.resolve(to, *mode);
            let mode_error = model.mode_error(to, &put_mode);
            let result = store
                .copy(&source, &dest, CopyOptions::new().mode(put_mode))
                .await;
            let Some(stored) = model.blobs.get(*from).cloned() else {
                // Which check a backend makes first is its own business.
                let mut kinds = vec![ErrorKind::NotFound];
                kinds.extend(mode_error);
                return expect_error(result, &kinds);
            };
            if let Some(kind) = mode_error {
                return expect_error(result, &[kind]);
            }
            let meta = result.map_err(|e| format!("expected success, saw error {e}"))?;
            same("size", stored.data.len() as u64, meta.size)?;
            same("content_type", &stored.content_type, &meta.content_type)?;
            model.record(
                to,
                Stored {
                    etag: meta.etag,
                    ..stored
                },
            )
        }
    }
}

/// Runs one generated sequence against a fresh store.
async fn check_sequence(store: &Store, ops: &[Op]) -> Result<(), String> {
    let mut model = Model {
        etag_per_write: store.capabilities().etag_per_write,
        ..Model::default()
    };
    for (i, op) in ops.iter().enumerate() {
        step(store, &mut model, op)
            .await
            .map_err(|why| format!("step {i} {op:?}: {why}"))?;
    }
    Ok(())
}

fn config() -> Config {
    // `Config::default()` reads PROPTEST_CASES; it may raise the count, never
    // lower it below 256. No regression files: the suite runs inside other
    // crates, and the shrunk sequence is printed instead.
    let defaults = Config::default();
    Config {
        cases: defaults.cases.max(256),
        failure_persistence: None,
        ..defaults
    }
}

/// Runs the property test against stores from `factory`.
///
/// Used by [`model_tests!`](crate::model_tests).
#[doc(hidden)]
pub fn run<F, Fut, X>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = X>,
    X: Into<Fixture>,
{
    let rt = runtime();
    let what = "model_based_operations";
    let probe = rt.block_on(make_fixture(&factory, what));
    let caps = probe.store().capabilities();
    let provider = probe.store().provider();
    rt.block_on(async move { probe.teardown() });
    let keys = if caps.file_and_folder_same_name {
        NESTED_KEYS
    } else {
        FLAT_KEYS
    };
    let strategy = vec(op_strategy(caps, keys), 1..40);
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |ops| {
        rt.block_on(async {
            let fixture = make_fixture(&factory, what).await;
            let outcome = check_sequence(fixture.store(), &ops).await;
            fixture.teardown();
            outcome
        })
        .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => {
            let mut steps = String::new();
            for (i, op) in ops.iter().enumerate() {
                let _ = writeln!(steps, "  {i:>2}: {op:?}");
            }
            panic!(
                "{what} failed on provider `{provider}`.\n{reason}\nminimal failing sequence ({} steps, run in order on one fresh store):\n{steps}",
                ops.len()
            );
        }
        Err(TestError::Abort(reason)) => {
            panic!("{what} aborted on provider `{provider}`: {reason}")
        }
    }
}

/// Expands, in the calling module, `#[test] fn model_based_operations()`:
/// at least 256 random operation sequences (more with `PROPTEST_CASES`),
/// each on a fresh store from `$factory` (an `async fn() -> impl
/// Into<Fixture>`), compared step by step with the model.
///
/// ```ignore
/// async fn factory() -> storage_core::memory::MemoryStore {
///     storage_core::memory::MemoryStore::new()
/// }
/// storage_testkit::model_tests!(factory);
/// ```
#[macro_export]
macro_rules! model_tests {
    ($factory:path) => {
        #[test]
        fn model_based_operations() {
            $crate::model::run($factory);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ranges_follow_http() {
        assert_eq!(
            resolve_range(ByteRange::Bounded { start: 2, end: 50 }, 10),
            Some(2..10)
        );
        assert_eq!(resolve_range(ByteRange::From(10), 10), None);
        assert_eq!(resolve_range(ByteRange::Suffix(3), 10), Some(7..10));
        assert_eq!(resolve_range(ByteRange::Suffix(0), 10), None);
    }

    #[test]
    fn model_folds_folders_once() {
        let mut model = Model::default();
        for (k, e) in [("a/x", "1"), ("a/y", "2"), ("ab", "3")] {
            let stored = Stored {
                data: vec![],
                content_type: "x/y".into(),
                etag: e.into(),
            };
            assert!(model.record(k, stored).is_ok());
        }
        let (entries, folders) = model.listing("a", true);
        assert_eq!(folders, ["a/"]);
        assert_eq!(entries.len(), 1);
    }
}
