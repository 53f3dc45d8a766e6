//! How long a write waits for the disk: the `LOCAL_STORAGE_FSYNC` setting.
//!
//! Atomicity never depends on it. Every version is written to a temporary
//! file and renamed into place, so readers, a killed process or a crash see
//! the old version or the new one, never a torn file, whatever the setting.
//! What it decides is whether a write that returned survives a power cut or
//! a kernel crash: with [`Fsync::Always`] the new file and the folder its
//! name went into are flushed (`fsync`) before the write returns; with
//! [`Fsync::Never`] the operating system writes them back when it likes, and
//! a machine crash may lose the writes of the last seconds (each lost write
//! leaves the version before it).

use std::fmt;
use std::fs::File;
use std::str::FromStr;

use storage_core::Error;

use crate::beneath::Dir;

/// The variable that chooses between [`Fsync::Always`] and [`Fsync::Never`].
///
/// ```
/// use storage_local::{Fsync, LocalConfig, FSYNC_VAR};
/// let config = LocalConfig::from_lookup(|var| (var == FSYNC_VAR).then(|| "never".into())).unwrap();
/// assert_eq!(config.fsync, Fsync::Never);
/// ```
pub const FSYNC_VAR: &str = "LOCAL_STORAGE_FSYNC";

/// Whether writes are flushed to disk before they return.
///
/// ```
/// use storage_local::{Fsync, LocalConfig};
/// let config = LocalConfig::new("/srv/scratch").fsync(Fsync::Never);
/// assert_eq!(config.fsync, Fsync::Never);
/// assert_eq!("always".parse::<Fsync>().unwrap(), Fsync::Always);
/// assert_eq!(Fsync::default(), Fsync::Always);
/// assert!("sometimes".parse::<Fsync>().unwrap_err().to_string().contains("LOCAL_STORAGE_FSYNC"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Fsync {
    /// A put, copy or delete that returned is on disk: the data file and
    /// every folder that gained or lost a name were flushed. The default.
    #[default]
    Always,
    /// Nothing is flushed. Still atomic, but a power cut or kernel crash may
    /// undo recent writes; for caches, tests and scratch stores.
    Never,
}

impl Fsync {
    /// Flushes `file`'s bytes and attributes, when writes wait for the disk.
    pub(crate) fn file(self, file: &File) -> std::io::Result<()> {
        match self {
            Fsync::Always => file.sync_all(),
            Fsync::Never => Ok(()),
        }
    }

    /// Flushes `dir`'s entries, when writes wait for the disk.
    pub(crate) fn dir(self, dir: &Dir) {
        if self == Fsync::Always {
            dir.sync();
        }
    }
}

impl FromStr for Fsync {
    type Err = Error;

    /// Parses `always` or `never`, ignoring case and surrounding spaces.
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "always" => Ok(Fsync::Always),
            "never" => Ok(Fsync::Never),
            _ => Err(Error::config(
                FSYNC_VAR,
                format!(
                    "`{}` is not a durability setting; set {FSYNC_VAR} to `always` (the default: \
                     a write that returned survives a power cut) or `never` (no fsync, still \
                     atomic)",
                    value.escape_debug()
                ),
            )),
        }
    }
}

impl fmt::Display for Fsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fsync::Always => "always",
            Fsync::Never => "never",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_values_parse_in_any_case_and_round_trip() {
        for (text, mode) in [
            ("always", Fsync::Always),
            (" NEVER ", Fsync::Never),
            ("Always", Fsync::Always),
        ] {
            assert_eq!(text.parse::<Fsync>().expect(text), mode);
            assert_eq!(mode.to_string().parse::<Fsync>().expect("round trip"), mode);
        }
    }

    #[test]
    fn a_bad_value_names_the_variable_and_the_accepted_values() {
        for bad in ["", "yes", "0", "sometimes"] {
            let err = bad.parse::<Fsync>().expect_err(bad);
            assert!(
                matches!(err.kind(), storage_core::ErrorKind::InvalidConfig { var } if var == FSYNC_VAR),
                "{err}"
            );
            let text = err.to_string();
            assert!(
                text.contains("`always`") && text.contains("`never`"),
                "{text}"
            );
        }
    }
}
