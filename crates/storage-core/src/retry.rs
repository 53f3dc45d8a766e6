//! The one retry and timeout policy every adapter uses.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BLOB_STORAGE_MAX_RETRIES` | retries after the first attempt of an idempotent request (0 turns retrying off) | 4 |
//! | `BLOB_STORAGE_CONNECT_TIMEOUT` | how long opening one connection may take | 5 s |
//! | `BLOB_STORAGE_ATTEMPT_TIMEOUT` | how long one request may wait for its answer, and a download for its next bytes | 15 s |
//! | `BLOB_STORAGE_DEADLINE` | how long one operation may spend on all its attempts (a streamed body's transfer is not counted) | 30 s |
//!
//! Durations are whole seconds (`10`) or carry a unit (`500ms`, `10s`, `2m`).
//!
//! What is retried: `429`, `408` and `5xx` answers other than `501`, broken
//! or refused connections and timeouts, for idempotent requests only
//! (reads, heads, lists, deletes, overwriting puts whose body can be sent
//! again, block and part uploads, commits that are safe to repeat). The
//! delay is capped exponential backoff with full jitter, or the server's
//! `Retry-After` when it sent one. A backend that accepts connections and
//! never answers fails after at most the deadline (30 s by default) with
//! [`ErrorKind::Timeout`], naming the endpoint and the variable to raise.
//!
//! ```
//! use std::time::Duration;
//! use storage_core::retry::RetryPolicy;
//! let policy = RetryPolicy::from_lookup(|var| match var {
//!     "BLOB_STORAGE_MAX_RETRIES" => Some("2".into()),
//!     "BLOB_STORAGE_DEADLINE" => Some("10s".into()),
//!     _ => None,
//! })?;
//! assert_eq!(policy.max_retries, 2);
//! assert_eq!(policy.deadline, Duration::from_secs(10));
//! assert_eq!(policy.connect_timeout, Duration::from_secs(5));
//! # Ok::<(), storage_core::Error>(())
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Error, ErrorKind, Result};

/// Names the retry count.
pub const MAX_RETRIES_VAR: &str = "BLOB_STORAGE_MAX_RETRIES";
/// Names the connect timeout.
pub const CONNECT_TIMEOUT_VAR: &str = "BLOB_STORAGE_CONNECT_TIMEOUT";
/// Names the per-attempt timeout.
pub const ATTEMPT_TIMEOUT_VAR: &str = "BLOB_STORAGE_ATTEMPT_TIMEOUT";
/// Names the overall deadline of one operation.
pub const DEADLINE_VAR: &str = "BLOB_STORAGE_DEADLINE";

/// Whether a request may be sent again after a transient failure without
/// changing what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Replaying it cannot change the outcome (a read, an overwrite, a part).
    Idempotent,
    /// A replay could act twice or fail on its own first attempt (a
    /// create-only write, a commit that consumes the upload).
    NotIdempotent,
}

/// Retries, backoff and timeouts, the same on every provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// The delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// How long one attempt may wait for an answer, and a download for its
    /// next chunk.
    pub attempt_timeout: Duration,
    /// How long one operation may spend on all its attempts.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The defaults, overridden by the `BLOB_STORAGE_*` variables.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// The defaults, overridden by whatever `lookup` returns for the
    /// `BLOB_STORAGE_*` variables (an empty value counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let mut policy = RetryPolicy::default();
        if let Some(v) = get(MAX_RETRIES_VAR) {
            policy.max_retries = v.trim().parse().map_err(|_| {
                Error::config(
                    MAX_RETRIES_VAR,
                    format!("`{v}` is not a whole number of retries; set it to e.g. 4, or 0 to turn retrying off"),
                )
            })?;
        }
        for (var, slot) in [
            (CONNECT_TIMEOUT_VAR, &mut policy.connect_timeout),
            (ATTEMPT_TIMEOUT_VAR, &mut policy.attempt_timeout),
            (DEADLINE_VAR, &mut policy.deadline),
        ] {
            if let Some(v) = get(var) {
                *slot = parse_duration(var, &v)?;
            }
        }
        Ok(policy)
    }

    /// A policy that never retries (timeouts stay as in `self`).
    pub fn without_retries(mut self) -> Self {
        self.max_retries = 0;
        self
    }

    /// Sets the retry count and the first delay.
    pub fn retries(mut self, max_retries: u32, base_delay: Duration) -> Self {
        self.max_retries = max_retries;
        self.base_delay = base_delay;
        self
    }

    /// Sets the connect, per-attempt and overall timeouts.
    pub fn timeouts(mut self, connect: Duration, attempt: Duration, deadline: Duration) -> Self {
        self.connect_timeout = connect;
        self.attempt_timeout = attempt;
        self.deadline = deadline;
        self
    }

    /// The delay before retry number `retry` (1-based): the server's
    /// `retry_after` when it gave one (capped by `max_delay`), else capped
    /// exponential backoff with full jitter, so clients that failed
    /// together do not come back together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use storage_core::retry::RetryPolicy;
    /// let policy = RetryPolicy::default();
    /// assert!(policy.delay(1, None) <= Duration::from_millis(100));
    /// assert!(policy.delay(30, None) <= Duration::from_secs(5));
    /// assert_eq!(policy.delay(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
    /// ```
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        exp.min(self.max_delay).mul_f64(fastrand::f64())
    }

    /// Runs `attempt` (given the attempt number, from 0) until it succeeds,
    /// fails in a way that retrying cannot fix, runs out of retries, or the
    /// deadline passes. Each attempt is bounded by `attempt_timeout`; only
    /// `Idempotent` requests are tried more than once. `endpoint` (no
    /// secrets: scheme, host and port) names the server in timeout errors.
    pub async fn run<T, F, Fut>(
        &self,
        endpoint: &str,
        idempotency: Idempotency,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut number = 0u32;
        loop {
            let err = match tokio::time::timeout(self.attempt_timeout, attempt(number)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => err,
                Err(_) => self.attempt_timed_out(endpoint),
            };
            let may_retry = idempotency == Idempotency::Idempotent
                && number < self.max_retries
                && err.is_retryable();
            if !may_retry {
                return Err(err);
            }
            number += 1;
            let delay = self.delay(number, err.retry_after());
            if started.elapsed() + delay >= self.deadline {
                return Err(self.deadline_passed(endpoint, number, err));
            }
            tracing::debug!(%err, attempt = number, ?delay, endpoint, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// The error for one attempt that got no answer in time.
    pub fn attempt_timed_out(&self, endpoint: &str) -> Error {
        Error::without_provider(ErrorKind::Timeout).with_message(format!(
            "no answer from {endpoint} within {} (the per-attempt bound, \
             {ATTEMPT_TIMEOUT_VAR}); check that the service is up and reachable",
            show(self.attempt_timeout)
        ))
    }

    /// The error for an operation that ran past its deadline.
    pub fn deadline_passed(&self, endpoint: &str, attempts: u32, last: Error) -> Error {
        let kind = if last.kind() == &ErrorKind::Timeout {
            ErrorKind::Timeout
        } else {
            last.kind().clone()
        };
        Error::without_provider(kind)
            .with_message(format!(
                "gave up on {endpoint} after {attempts} attempt(s) within the {} deadline \
                 ({DEADLINE_VAR}); last failure: {}",
                show(self.deadline),
                last.message().unwrap_or("no detail")
            ))
            .with_source(last)
    }

    /// The error for an operation that did not finish within the deadline.
    pub fn operation_timed_out(&self, endpoint: &str, operation: &str) -> Error {
        Error::without_provider(ErrorKind::Timeout).with_message(format!(
            "{operation} got no answer from {endpoint} within {} (the deadline of one \
             operation, {DEADLINE_VAR}); check that the service is up and reachable",
            show(self.deadline)
        ))
    }
}

/// Whether an HTTP status is worth retrying for an idempotent request:
/// 408, 429 and the 5xx answers except 501 (Not Implemented never changes).
///
/// ```
/// use storage_core::retry::is_retryable_status;
/// assert!(is_retryable_status(503) && is_retryable_status(429));
/// assert!(!is_retryable_status(501) && !is_retryable_status(404));
/// ```
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || ((500..600).contains(&status) && status != 501)
}

/// Parses a `Retry-After` header value: whole seconds, or an HTTP date
/// (the wait until then; a date already past gives `None`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use storage_core::retry::parse_retry_after;
/// assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("soon"), None);
/// let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
/// assert!(parse_retry_after(&later).is_some_and(|d| d > Duration::from_secs(100)));
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    value
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
        .or_else(|| {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now()).ok()
        })
}

fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn parse_duration(var: &str, value: &str) -> Result<Duration> {
    let v = value.trim();
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = digits.parse().map_err(|_| bad_duration(var, value))?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad_duration(var, value)),
    };
    if d.is_zero() {
        return Err(bad_duration(var, value));
    }
    Ok(d)
}

fn bad_duration(var: &str, value: &str) -> Error {
    Error::config(
        var,
        format!("`{value}` is not a duration above zero; write whole seconds (`10`) or a unit (`500ms`, `10s`, `2m`)"),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::Provider;

    fn fast() -> RetryPolicy {
        RetryPolicy::default().retries(3, Duration::from_millis(1))
    }

    #[tokio::test]
    async fn retries_retryable_errors_of_idempotent_requests_only() {
        let calls = AtomicU32::new(0);
        let out = fast()
            .run("http://x", Idempotency::Idempotent, |n| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(Error::new(ErrorKind::Transport, Provider::Azure))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(out.expect("third attempt"), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let out: Result<()> = fast()
            .run("http://x", Idempotency::NotIdempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Error::new(ErrorKind::Transport, Provider::Azure)) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "never replayed");

        let calls = AtomicU32::new(0);
        let out: Result<()> = fast()
            .run("http://x", Idempotency::Idempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Error::new(ErrorKind::NotFound, Provider::Azure)) }
            })
            .await;
        assert!(out.expect_err("not found").is_not_found());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a 404 is final");
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let calls = AtomicU32::new(0);
        let out: Result<()> = fast()
            .run("http://x", Idempotency::Idempotent, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Error::new(ErrorKind::Backend, Provider::Vercel).with_retryable(true)) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_hung_attempt_times_out_and_the_deadline_ends_it() {
        let policy = fast().timeouts(
            Duration::from_secs(1),
            Duration::from_millis(50),
            Duration::from_millis(120),
        );
        let started = Instant::now();
        let err = policy
            .run("http://127.0.0.1:9", Idempotency::Idempotent, |_| {
                futures::future::pending::<Result<()>>()
            })
            .await
            .expect_err("never answers");
        assert_eq!(err.kind(), &ErrorKind::Timeout);
        let text = err.to_string();
        assert!(text.contains("http://127.0.0.1:9"), "{text}");
        assert!(
            text.contains(DEADLINE_VAR) || text.contains(ATTEMPT_TIMEOUT_VAR),
            "{text}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(600))),
            policy.max_delay
        );
    }

    #[test]
    fn variables_are_parsed_and_bad_values_name_the_variable() {
        let policy = RetryPolicy::from_lookup(|v| match v {
            CONNECT_TIMEOUT_VAR => Some("500ms".into()),
            ATTEMPT_TIMEOUT_VAR => Some("2m".into()),
            MAX_RETRIES_VAR => Some("".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(policy.connect_timeout, Duration::from_millis(500));
        assert_eq!(policy.attempt_timeout, Duration::from_secs(120));
        assert_eq!(policy.max_retries, 4);
        for (var, value) in [
            (MAX_RETRIES_VAR, "-1"),
            (DEADLINE_VAR, "0"),
            (DEADLINE_VAR, "ten"),
            (CONNECT_TIMEOUT_VAR, "5h"),
        ] {
            let err = RetryPolicy::from_lookup(|v| (v == var).then(|| value.to_string()))
                .expect_err(value);
            assert_eq!(
                err.kind(),
                &ErrorKind::InvalidConfig { var: var.into() },
                "{value}"
            );
        }
    }
}
