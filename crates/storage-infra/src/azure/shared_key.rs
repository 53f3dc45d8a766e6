//! Shared Key request signing (account-key authentication), as specified in
//! "Authorize with Shared Key" for service version 2015-02-21 and later.
//!
//! The string-to-sign is the verb, eleven standard headers in a fixed order
//! (`Content-Length` empty when zero), the canonicalized `x-ms-*` headers
//! and the canonicalized resource. This signer takes the headers from the
//! request that is actually sent, so `Content-Type`, `Content-Length`,
//! conditional and range headers are always signed as they go on the wire.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use sha2::Sha256;
use storage_core::redact::Secret;

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

/// An account name and its decoded key.
#[derive(Debug, Clone)]
pub struct SharedKey {
    account: String,
    key: Secret<Vec<u8>>,
}

impl SharedKey {
    /// A signer for `account` with the base64 `key_b64`.
    pub fn new(account: &str, key_b64: &str) -> Result<SharedKey, String> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_b64.trim())
            .map_err(|_| "the account key is not base64".to_string())?;
        if key.is_empty() {
            return Err("the account key is empty".into());
        }
        Ok(SharedKey {
            account: account.to_string(),
            key: Secret::new(key),
        })
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
        let mut ms: BTreeMap<String, String> = BTreeMap::new();
        for name in headers.keys() {
            let name = name.as_str();
            if name.starts_with("x-ms-") {
                ms.insert(name.to_string(), joined(headers, name));
            }
        }
        for (name, value) in ms {
            out.push_str(&name);
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
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn create_container_matches_the_minimal_signer() {
        let key = SharedKey::new("devstoreaccount1", "a2V5").unwrap();
        let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/box?restype=container")
            .unwrap();
        let h = headers(&[
            ("x-ms-version", "2021-08-06"),
            ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("content-length", "0"),
        ]);
        assert_eq!(
            key.string_to_sign("PUT", &url, &h),
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n\
             x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/box\nrestype:container"
        );
    }

    #[test]
    fn signs_content_headers_folds_whitespace_and_sorts_query() {
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let url = url::Url::parse(
            "https://acct.blob.core.windows.net/?restype=service&comp=properties&Comp=b",
        )
        .unwrap();
        let h = headers(&[
            ("content-type", "application/xml"),
            ("content-length", "42"),
            ("x-ms-meta-team", "  audio   tools "),
            ("x-ms-date", "d"),
        ]);
        assert_eq!(
            key.string_to_sign("PUT", &url, &h),
            "PUT\n\n\n42\n\napplication/xml\n\n\n\n\n\n\nx-ms-date:d\nx-ms-meta-team:audio tools\n\
             /acct/\ncomp:b,properties\nrestype:service"
        );
        let auth = key.authorization("PUT", &url, &h);
        assert!(auth.starts_with("SharedKey acct:"), "{auth}");
        assert!(!format!("{key:?}").contains("a2V5"));
    }
}
