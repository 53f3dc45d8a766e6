//! User delegation keys: what signs a SAS when the store authenticates with
//! Microsoft Entra ID tokens instead of an account key.
//!
//! A key is fetched with `POST ?restype=service&comp=userdelegationkey`
//! (the token needs a role such as *Storage Blob Delegator*) and cached
//! until shortly before it expires, so signing is usually local. Azurite
//! cannot issue these keys without OAuth over https, so this path is
//! proven by the string-to-sign vectors in `sign.rs` rather than against
//! the emulator.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use storage_core::redact::Secret;
use storage_core::{Error, ErrorKind, Provider, Result};
use tokio::sync::Mutex;

use crate::error::redact_text;
use crate::sign::{format_time, SAS_VERSION};

/// How long a fetched key lives (Azure allows up to 7 days).
const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A user delegation key as Azure returns it. Times are kept as the exact
/// strings Azure sent, because they are signed verbatim.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserDelegationKey {
    pub signed_oid: String,
    pub signed_tid: String,
    pub signed_start: String,
    pub signed_expiry: String,
    pub signed_service: String,
    pub signed_version: String,
    #[serde(deserialize_with = "secret")]
    pub value: Secret<String>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Secret<String>, D::Error> {
    String::deserialize(d).map(Secret::new)
}

impl fmt::Debug for UserDelegationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserDelegationKey")
            .field("signed_oid", &self.signed_oid)
            .field("signed_expiry", &self.signed_expiry)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl UserDelegationKey {
    fn expiry(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.signed_expiry)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Caches one key per store.
#[derive(Default)]
pub(crate) struct DelegationCache {
    key: Mutex<Option<UserDelegationKey>>,
}

impl fmt::Debug for DelegationCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DelegationCache")
    }
}

impl DelegationCache {
    /// A key valid at least until `needed_until`, fetched with `token` when
    /// the cached one would expire before then.
    pub async fn key(
        &self,
        endpoint: &str,
        token: &str,
        start: DateTime<Utc>,
        needed_until: DateTime<Utc>,
    ) -> Result<UserDelegationKey> {
        let mut cached = self.key.lock().await;
        let margin = chrono::Duration::minutes(5);
        if let Some(key) = cached.as_ref() {
            if key.expiry().is_some_and(|e| e >= needed_until + margin) {
                return Ok(key.clone());
            }
        }
        let lifetime =
            chrono::Duration::from_std(KEY_LIFETIME).unwrap_or(chrono::Duration::days(1));
        let expiry = (start + lifetime).max(needed_until + margin);
        let key = fetch(endpoint, token, start, expiry).await?;
        *cached = Some(key.clone());
        Ok(key)
    }
}

async fn fetch(
    endpoint: &str,
    token: &str,
    start: DateTime<Utc>,
    expiry: DateTime<Utc>,
) -> Result<UserDelegationKey> {
    let fail = |kind: ErrorKind, what: String| {
        Error::new(kind, Provider::Azure).with_message(format!(
            "getting a user delegation key to sign the URL failed: {what}"
        ))
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
        format_time(start),
        format_time(expiry)
    );
    let url = format!("{endpoint}/?restype=service&comp=userdelegationkey");
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .header("x-ms-version", SAS_VERSION)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .map_err(|e| fail(ErrorKind::Transport, redact_text(&e.to_string())))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| fail(ErrorKind::Transport, redact_text(&e.to_string())))?;
    if !status.is_success() {
        let kind = match status.as_u16() {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            429 => ErrorKind::RateLimited { retry_after: None },
            _ => ErrorKind::Backend,
        };
        let hint = if status.as_u16() == 403 {
            " (the identity needs a role that allows generating user delegation keys, e.g. Storage Blob Delegator)"
        } else {
            ""
        };
        return Err(fail(kind, format!("HTTP {status}{hint}"))
            .with_retryable(status.is_server_error() || status.as_u16() == 429));
    }
    parse_key(&text)
}

/// Parses Azure's `<UserDelegationKey>` answer.
pub(crate) fn parse_key(xml: &str) -> Result<UserDelegationKey> {
    quick_xml::de::from_str(xml).map_err(|e| {
        Error::new(ErrorKind::Backend, Provider::Azure)
            .with_message(format!("unexpected user delegation key answer: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_azures_answer_and_hides_the_value() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey>\
            <SignedOid>oid</SignedOid><SignedTid>tid</SignedTid>\
            <SignedStart>2024-01-01T00:00:00Z</SignedStart><SignedExpiry>2024-01-02T00:00:00Z</SignedExpiry>\
            <SignedService>b</SignedService><SignedVersion>2022-11-02</SignedVersion>\
            <Value>c2VjcmV0</Value></UserDelegationKey>";
        let key = parse_key(xml).expect("parse");
        assert_eq!(key.signed_oid, "oid");
        assert_eq!(key.value.expose(), "c2VjcmV0");
        assert!(!format!("{key:?}").contains("c2VjcmV0"));
        assert!(key.expiry().is_some());
    }
}
