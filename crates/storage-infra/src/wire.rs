//! The retry loop shared by the S3 and GCS clients: one request, sent
//! under [`RetryPolicy::run`] (the `BLOB_STORAGE_*` variables), with
//! 5xx (not 501), 429 and transport failures retried for idempotent
//! requests only. When retries run out on a retryable status, that last
//! answer is returned, so the caller reports what the service said.

use std::future::Future;
use std::sync::Mutex;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use storage_core::retry::{is_retryable_status, parse_retry_after, Idempotency, RetryPolicy};
use storage_core::{Error, ErrorKind, Provider};

use crate::error::{InfraError, Result};

/// An answer, read whole (provisioning answers are small).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends `attempt` under `policy`; `op` names the operation in errors,
/// `endpoint` (secret-free) the service in timeout messages.
pub(crate) async fn send<F, Fut>(
    policy: &RetryPolicy,
    provider: Provider,
    endpoint: &str,
    op: &str,
    idempotency: Idempotency,
    attempt: F,
) -> Result<Reply>
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::result::Result<Reply, String>>,
{
    let last_reply = Mutex::new(None);
    let outcome = policy
        .run(endpoint, idempotency, |_| async {
            *last_reply.lock().expect("reply lock") = None;
            let reply = attempt()
                .await
                .map_err(|e| Error::new(ErrorKind::Transport, provider).with_message(e))?;
            if !is_retryable_status(reply.status.as_u16()) {
                return Ok(reply);
            }
            let retry_after = reply
                .headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let err = Error::new(ErrorKind::RateLimited { retry_after }, provider)
                .with_message(format!("the service answered {}", reply.status));
            *last_reply.lock().expect("reply lock") = Some(reply);
            Err(err)
        })
        .await;
    match outcome {
        Ok(reply) => Ok(reply),
        Err(err) => match last_reply.into_inner().expect("reply lock") {
            Some(reply) => Ok(reply),
            None => Err(InfraError::backend(op, err.to_string())),
        },
    }
}
