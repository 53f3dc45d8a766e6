//! Errors that say what to do, from what the store knows of its own
//! configuration: which bucket, which credentials, which endpoint, and the
//! variables that set them.
//!
//! [`storage_object_store::map_error`] gives the kind and the service's
//! code; this adds the advice the kind alone cannot give:
//! - a missing bucket (`NoSuchBucket`) is `InvalidConfig { var: S3_BUCKET }`,
//!   not "blob not found";
//! - refused credentials name the variables they came from;
//! - an unreachable or silent endpoint names the endpoint and the
//!   variables that point there.

use storage_core::{Error, ErrorKind, Provider};

use crate::config::{S3Config, S3Credentials, BUCKET};

/// `err` with the advice `config` allows.
pub(crate) fn explain(config: &S3Config, err: Error) -> Error {
    let message = err.message().unwrap_or_default().to_string();
    let endpoint = config.endpoint();
    let endpoint_vars = if config.has_custom_endpoint() {
        "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), S3_FORCE_PATH_STYLE"
    } else {
        "AWS_REGION, S3_BUCKET"
    };
    match err.kind() {
        ErrorKind::NotFound if message.contains(" NoSuchBucket") => Error::new(
            ErrorKind::InvalidConfig { var: BUCKET.into() },
            Provider::S3,
        )
        .with_message(format!(
            "bucket `{}` does not exist at {endpoint} ({message}); create it (`aws s3 mb \
             s3://{}`) or point {BUCKET} at an existing bucket",
            config.bucket(),
            config.bucket()
        )),
        ErrorKind::Unauthorized | ErrorKind::Forbidden => {
            let source = match config.credentials() {
                S3Credentials::Static { .. } => {
                    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN \
                     for temporary keys), and that AWS_REGION is the bucket's region"
                }
                S3Credentials::Chain(_) => {
                    "the credentials came from the chain (web identity, container credentials \
                     or instance metadata): check the role's policy on this bucket, or set \
                     AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
                }
            };
            let what = if err.kind() == &ErrorKind::Unauthorized {
                "the credentials were rejected"
            } else {
                "the credentials may not do this"
            };
            Error::new(err.kind().clone(), Provider::S3).with_message(format!(
                "{what} by {endpoint} for bucket `{}` ({message}); {source}",
                config.bucket()
            ))
        }
        ErrorKind::Transport | ErrorKind::Timeout if !message.contains(&endpoint) => {
            let bounds = if err.kind() == &ErrorKind::Timeout {
                "; BLOB_STORAGE_ATTEMPT_TIMEOUT and BLOB_STORAGE_DEADLINE bound the wait"
            } else {
                ""
            };
            Error::new(err.kind().clone(), Provider::S3).with_message(format!(
                "{message}; talking to {endpoint}: check that it is up and reachable (set by \
                 {endpoint_vars}){bounds}"
            ))
        }
        _ => err,
    }
}
