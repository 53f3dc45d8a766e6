//! How a behaviour reports that a store broke the contract, and the small
//! checking vocabulary the behaviours share.

use std::fmt::{self, Debug, Display};
use std::panic::Location;

use storage_core::{Error, ErrorKind};

/// A broken expectation: what was expected, what the store did, and where in
/// the testkit the check lives.
///
/// The runner adds the behaviour's name and the store's provider when it
/// reports the failure, so the message here only has to describe the check.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
    location: &'static Location<'static>,
}

impl Failure {
    /// A failure described by `message`, located at the caller.
    #[track_caller]
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            location: Location::caller(),
        }
    }

    /// The description of the broken expectation.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (check at {}:{})",
            self.message,
            self.location.file(),
            self.location.line()
        )
    }
}

impl Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display::fmt(self, f)
    }
}

impl std::error::Error for Failure {}

/// What a behaviour returns.
pub type Outcome = Result<(), Failure>;

/// Debug output of a value, cut short so a 24 MiB body cannot flood a report.
pub(crate) fn short_debug(value: &impl Debug) -> String {
    let text = format!("{value:?}");
    if text.chars().count() > 400 {
        let cut: String = text.chars().take(400).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Fails with "`what`: expected …, saw …" unless the values are equal.
#[track_caller]
pub(crate) fn expect_eq<T: PartialEq + Debug>(what: impl Display, expected: T, seen: T) -> Outcome {
    if expected == seen {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{what}: expected {}, saw {}",
            short_debug(&expected),
            short_debug(&seen)
        )))
    }
}

/// Fails with `message()` unless `condition` holds.
#[track_caller]
pub(crate) fn ensure(condition: bool, message: impl FnOnce() -> String) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(Failure::new(message()))
    }
}

/// Whether two kinds are the same variant; `Unsupported { op }` matches any
/// `op`, since the operation's name is the adapter's to choose.
pub(crate) fn same_kind(a: &ErrorKind, b: &ErrorKind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The kind a store must answer an operation it lacks the capability for.
pub(crate) fn unsupported() -> ErrorKind {
    ErrorKind::Unsupported { op: "any" }
}

/// Turns store results into failures that say what the call was for.
pub(crate) trait Check<T> {
    /// The value, or a failure saying `what` unexpectedly failed.
    fn check(self, what: impl Display) -> Result<T, Failure>;

    /// The error, or a failure unless it is of `kind`.
    fn expect_kind(self, what: impl Display, kind: ErrorKind) -> Result<Error, Failure>;

    /// The error, or a failure unless it is one of `kinds`.
    fn expect_one_of(self, what: impl Display, kinds: &[ErrorKind]) -> Result<Error, Failure>;
}

impl<T: Debug> Check<T> for storage_core::Result<T> {
    #[track_caller]
    fn check(self, what: impl Display) -> Result<T, Failure> {
        // `track_caller` does not reach into closures, so take the location here.
        let location = Location::caller();
        self.map_err(|e| Failure {
            message: format!("{what}: expected success, saw error {e}"),
            location,
        })
    }

    #[track_caller]
    fn expect_kind(self, what: impl Display, kind: ErrorKind) -> Result<Error, Failure> {
        self.expect_one_of(what, &[kind])
    }

    #[track_caller]
    fn expect_one_of(self, what: impl Display, kinds: &[ErrorKind]) -> Result<Error, Failure> {
        let wanted = kinds
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(" or ");
        match self {
            Ok(value) => Err(Failure::new(format!(
                "{what}: expected error {wanted}, saw success {}",
                short_debug(&value)
            ))),
            Err(e) if kinds.iter().any(|k| same_kind(k, e.kind())) => Ok(e),
            Err(e) => Err(Failure::new(format!(
                "{what}: expected error {wanted}, saw error {:?} ({e})",
                e.kind()
            ))),
        }
    }
}
