//! The crate's error: a bad manifest or configuration (the user must fix
//! their input; exit code 2) or an operation that failed (exit code 1).
//! Messages never hold secrets: keys, tokens and SAS signatures are
//! redacted before they get here.

use crate::manifest::ManifestError;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The command line or environment is unusable.
    #[error("{0}")]
    Usage(String),
    /// A request to the backend failed.
    #[error("{op} failed: {message}")]
    Backend {
        /// What was being done.
        op: String,
        /// Why it failed.
        message: String,
    },
}

impl InfraError {
    /// A backend failure while doing `op`.
    pub fn backend(op: impl Into<String>, message: impl Into<String>) -> InfraError {
        InfraError::Backend {
            op: op.into(),
            message: message.into(),
        }
    }

    /// The process exit code this error maps to: 2 for input the user must
    /// fix, 1 for an operational failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            InfraError::Manifest(_) | InfraError::Usage(_) => 2,
            InfraError::Backend { .. } => 1,
        }
    }
}

impl From<storage_core::Error> for InfraError {
    fn from(e: storage_core::Error) -> Self {
        // storage_core errors are already secret-free; config errors name
        // the variable to set, which is what the user needs.
        if matches!(e.kind(), storage_core::ErrorKind::InvalidConfig { .. }) {
            InfraError::Usage(e.to_string())
        } else {
            InfraError::backend("the storage request", e.to_string())
        }
    }
}

/// Shorthand.
pub type Result<T, E = InfraError> = std::result::Result<T, E>;
