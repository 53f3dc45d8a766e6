//! Shared Key request signing (account-key authentication), as specified in
//! "Authorize with Shared Key" for service version 2015-02-21 and later: the
//! one signer of this workspace, used by the adapter's own requests, by
//! `storage-infra` and by the test kit.
//!
//! The string-to-sign is the verb, eleven standard headers in a fixed order
//! (`Content-Length` empty when zero), the canonicalized `x-ms-*` headers
//! and the canonicalized resource. The headers are taken from the request
//! that is actually sent, so `Content-Type`, `Content-Length`, conditional
//! and range headers are always signed exactly as they go on the wire; set
//! every header (including `x-ms-date` and `x-ms-version`) before signing.
//!
//! ```
//! use reqwest::header::{HeaderMap, HeaderValue};
//! use storage_azure::shared_key::SharedKey;
//! let key = SharedKey::new("devstoreaccount1", storage_azure::EMULATOR_ACCOUNT_KEY)?;
//! let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/box?restype=container")
//!     .expect("url");
//! let mut headers = HeaderMap::new();
//! headers.insert("x-ms-date", HeaderValue::from_static("Mon, 01 Jan 2024 00:00:00 GMT"));
//! headers.insert("x-ms-version", HeaderValue::from_static("2023-11-03"));
//! key.sign("PUT", &url, &mut headers);
//! let auth = headers["authorization"].to_str().expect("ascii");
//! assert!(auth.starts_with("SharedKey devstoreaccount1:"));
//! assert!(!format!("{key:?}").contains("Eby8"));
//! # Ok::<(), storage_core::Error>(())
//! ```

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use sha2::Sha256;
use storage_core::redact::Secret;
use storage_core::{Error, ErrorKind, Provider, Result};

/// The standard headers in string-to-sign order.
const STANDARD_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// An account name and its decoded key. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct SharedKey {
    account: String,
    key: Secret<Vec<u8>>,
}

impl SharedKey {
    /// A signer for `account` with the base64 account key `key_b64`; an
    /// empty or non-base64 key is `InvalidConfig` naming
    /// `AZURE_STORAGE_ACCOUNT_KEY` (the key itself is never repeated).
    pub fn new(account: &str, key_b64: &str) -> Result<SharedKey> {
        let invalid = |reason: &str| {
            Error::new(
                ErrorKind::InvalidConfig {
                    var: "AZURE_STORAGE_ACCOUNT_KEY".into(),
                },
                Provider::Azure,
            )
            .with_message(format!(
                "{reason}; copy the key again from the portal's Access keys"
            ))
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_b64.trim())
            .map_err(|_| invalid("the account key is not base64"))?;
        if key.is_empty() {
            return Err(invalid("the account key is empty"));
        }
        Ok(SharedKey {
            account: account.to_string(),
            key: Secret::new(key),
        })
    }

    /// The account this key signs for.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The string-to-sign for a request with these parts.
    pub fn string_to_sign(&self, method: &str, url: &url::Url, headers: &HeaderMap) -> String {
        let mut out = String::with_capacity(256);
        out.push_str(method);
        out.push('\n');
        for name in STANDARD_HEADERS {
            let value = joined(headers, name);
            // Since 2015-02-21 a zero Content-Length is signed as empty.
            let value = if name == "content-length" && value == "0" {
                String::new()
            } else {
                value
            };
            out.push_str(&value);
            out.push('\n');
        }
        let mut ms: BTreeMap<&str, String> = BTreeMap::new();
        for name in headers.keys() {
            let name = name.as_str();
            if name.starts_with("x-ms-") {
                ms.insert(name, joined(headers, name));
            }
        }
        for (name, value) in ms {
            out.push_str(name);
            out.push(':');
            out.push_str(&value);
            out.push('\n');
        }
        out.push_str(&canonicalized_resource(&self.account, url));
        out
    }

    /// The `Authorization` header value for the request.
    pub fn authorization(&self, method: &str, url: &url::Url, headers: &HeaderMap) -> String {
        let text = self.string_to_sign(method, url, headers);
        let signature = match Hmac::<Sha256>::new_from_slice(self.key.expose()) {
            Ok(mut mac) => {
                mac.update(text.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            // HMAC takes keys of any length; this arm cannot be reached, and
            // an unsigned request is refused by the service, not misused.
            Err(_) => String::new(),
        };
        format!("SharedKey {}:{signature}", self.account)
    }

    /// Signs the request: sets `Authorization` in `headers`, which must
    /// already hold every other header that will be sent.
    pub fn sign(&self, method: &str, url: &url::Url, headers: &mut HeaderMap) {
        let value = self.authorization(method, url, headers);
        // An account name and base64 are ASCII; a name that is not cannot
        // sign anything, and the service refuses the unsigned request.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(AUTHORIZATION, value);
        }
    }
}

/// All values of a header, each with whitespace folded, joined by commas.
fn joined(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `/<account><encoded path>` then each query parameter, decoded, with its
/// name lower-cased, as `\nname:v1,v2` sorted by name (values sorted too).
fn canonicalized_resource(account: &str, url: &url::Url) -> String {
    let mut out = format!("/{account}{}", url.path());
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        params
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.into_owned());
    }
    for (name, mut values) in params {
        values.sort();
        out.push('\n');
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// A Put Blob with a content type, a condition, metadata with loose
    /// whitespace and a query. The expected signature was computed outside
    /// this code, from the string-to-sign below:
    /// `openssl dgst -sha256 -mac HMAC -macopt hexkey:<decoded emulator key> -binary | base64`.
    #[test]
    fn signs_a_known_vector() {
        let key = SharedKey::new("devstoreaccount1", crate::EMULATOR_ACCOUNT_KEY).unwrap();
        let url = url::Url::parse(
            "http://127.0.0.1:10000/devstoreaccount1/box/a%20b.txt?timeout=30&comp=block",
        )
        .unwrap();
        let mut h = headers(&[
            ("content-length", "11"),
            ("content-type", "text/plain"),
            ("if-none-match", "*"),
            ("x-ms-version", "2023-11-03"),
            ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("x-ms-meta-team", "  audio   tools "),
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-blob-content-type", "text/plain"),
        ]);
        assert_eq!(
            key.string_to_sign("PUT", &url, &h),
            "PUT\n\n\n11\n\ntext/plain\n\n\n\n*\n\n\n\
             x-ms-blob-content-type:text/plain\nx-ms-blob-type:BlockBlob\n\
             x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-meta-team:audio tools\n\
             x-ms-version:2023-11-03\n\
             /devstoreaccount1/devstoreaccount1/box/a%20b.txt\ncomp:block\ntimeout:30"
        );
        key.sign("PUT", &url, &mut h);
        assert_eq!(
            h["authorization"],
            "SharedKey devstoreaccount1:pm7YPdR1Gl08N+1IIqAbwJx65jxe8IeucOuMrUAXc9w="
        );
    }

    #[test]
    fn zero_length_is_signed_empty_and_query_values_are_sorted() {
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let url = url::Url::parse(
            "https://acct.blob.core.windows.net/?restype=service&comp=properties&Comp=b",
        )
        .unwrap();
        let h = headers(&[("content-length", "0"), ("x-ms-date", "d")]);
        assert_eq!(
            key.string_to_sign("PUT", &url, &h),
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:d\n/acct/\ncomp:b,properties\nrestype:service"
        );
    }

    #[test]
    fn bad_keys_are_refused_without_repeating_them() {
        let err = SharedKey::new("acct", "not base64!").unwrap_err();
        assert!(!err.to_string().contains("not base64!"), "{err}");
        assert!(
            err.to_string().contains("AZURE_STORAGE_ACCOUNT_KEY"),
            "{err}"
        );
        assert!(SharedKey::new("acct", "").is_err());
        let key = SharedKey::new("acct", "c2VjcmV0").unwrap();
        assert!(!format!("{key:?}").contains("c2VjcmV0"));
    }
}
