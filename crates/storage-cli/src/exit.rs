//! Exit codes scripts can trust, and the one-line error message.
//!
//! - `0`: the verb did what was asked;
//! - `1`: an operation failed (not found, forbidden, missing variable, I/O);
//! - `2`: the command line is wrong (clap's own usage errors exit 2 too),
//!   including a key that breaks the key rules.

use std::process::ExitCode;

use storage::ErrorKind;

/// A failed command: what to print, and with which exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

/// Exit code of an operational failure.
pub const FAILED: u8 = 1;
/// Exit code of a usage error.
pub const USAGE: u8 = 2;

impl CliError {
    /// The command line is wrong; exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: USAGE,
            message: message.into(),
        }
    }

    /// An operation failed; exit code 1.
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: FAILED,
            message: message.into(),
        }
    }

    /// A failure whose explanation was already printed (by `infra`, whose
    /// reports can span lines); only the exit code remains.
    pub fn already_reported(code: u8) -> Self {
        CliError {
            code,
            message: String::new(),
        }
    }

    /// What went wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prints the error as one line on stderr and returns its exit code.
    pub fn report(&self) -> ExitCode {
        // One line, so `2>err.log` stays greppable and a hostile key with a
        // line break cannot forge a second message.
        let line: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if !line.is_empty() {
            eprintln!("blobctl: error: {line}");
        }
        ExitCode::from(self.code)
    }
}

impl From<storage::Error> for CliError {
    fn from(err: storage::Error) -> Self {
        // Storage errors are secret-free by contract; we only add a hint on
        // what to do next where the kind alone says it.
        let local = err.provider() == Some(storage::Provider::Local);
        let hint = match err.kind() {
            ErrorKind::NotFound => " (check the key and prefix with `blobctl ls`)",
            ErrorKind::Unauthorized if err.message().is_some_and(|m| m.contains("check")) => "",
            ErrorKind::Unauthorized => {
                " (check the credentials: BLOB_READ_WRITE_TOKEN for vercel, AZURE_STORAGE_* for azure)"
            }
            ErrorKind::Forbidden if local => {
                " (check the permissions and ownership of the store's files under LOCAL_STORAGE_PATH)"
            }
            ErrorKind::Forbidden if err.message().is_some_and(|m| m.contains("check")) => "",
            ErrorKind::Forbidden => {
                " (the credentials were accepted but may not do this; check their permissions)"
            }
            ErrorKind::AlreadyExists => " (drop --if-not-exists to overwrite)",
            _ => "",
        };
        let code = match err.kind() {
            ErrorKind::InvalidKey => USAGE,
            _ => FAILED,
        };
        CliError {
            code,
            message: format!("{err}{hint}"),
        }
    }
}

/// Shorthand for the result of a verb.
pub type CliResult<T = ()> = Result<T, CliError>;
