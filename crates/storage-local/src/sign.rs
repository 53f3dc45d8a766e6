//! Signed URLs for the local store: HMAC-SHA256 over everything the URL allows.
//!
//! A URL looks like `<base>/<key>?x-blob-method=PUT&x-blob-expires=…&…&x-blob-signature=…`.
//! The signature covers a canonical string of the method, the key, the expiry
//! and every constraint (content type, maximum size, content disposition), one
//! per line. Keys and constraint values cannot contain line breaks (the key
//! rules and [`SignOptions::validate`] refuse control characters, and
//! [`Signer::verify`] refuses them in URLs), so no two grants share a
//! canonical string. Verification compares in constant time.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use storage_core::redact::Secret;
use storage_core::{BlobKey, Error, Provider, Result, SignMethod, SignOptions, SignedRequest};

use crate::config::SIGNING_KEY_VAR;

const VERSION: &str = "blobstore-local-v1";

/// Characters left as they are in URL path segments and query values: RFC
/// 3986's unreserved set.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Query parameter names.
pub(crate) mod param {
    pub(crate) const METHOD: &str = "x-blob-method";
    pub(crate) const EXPIRES: &str = "x-blob-expires";
    pub(crate) const CONTENT_TYPE: &str = "x-blob-content-type";
    pub(crate) const MAX_SIZE: &str = "x-blob-max-size";
    pub(crate) const DISPOSITION: &str = "x-blob-disposition";
    pub(crate) const SIGNATURE: &str = "x-blob-signature";
}

/// What a verified URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The method the URL was signed for.
    pub method: SignMethod,
    /// Uploads: the content type required. Downloads: the one to serve.
    pub content_type: Option<String>,
    /// Uploads: the most bytes accepted.
    pub max_size: Option<u64>,
    /// Downloads: the `Content-Disposition` to serve.
    pub content_disposition: Option<String>,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}

/// Why a URL was refused. The reasons are deliberately coarse: they tell a
/// client what to fix without helping anyone forge a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Parameters missing or malformed.
    Malformed,
    /// The signature does not match (tampered URL or another key).
    BadSignature,
    /// The URL was valid but has expired.
    Expired,
    /// The URL is valid for another method.
    WrongMethod,
}

impl Refusal {
    /// A short reason for the response body.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed signed URL",
            Refusal::BadSignature => "signature does not match",
            Refusal::Expired => "signed URL has expired",
            Refusal::WrongMethod => "signed URL does not allow this method",
        }
    }
}

/// Signs and verifies URLs with one key.
#[derive(Clone)]
pub struct Signer {
    /// The HMAC state after absorbing the key; cloned per signature, which
    /// saves hashing the key pads every time.
    keyed: Hmac<Sha256>,
    base_url: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &Secret::new(()))
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Signer {
    /// A signer with `key`, or with the process's generated development key.
    pub(crate) fn new(key: Option<&Secret<String>>, base_url: &str) -> Result<Self> {
        let key: &[u8] = match key {
            Some(k) => k.expose().as_bytes(),
            None => development_key()?,
        };
        // HMAC takes keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        Ok(Signer {
            keyed,
            base_url: base_url.to_string(),
        })
    }

    /// A URL allowing `opts.method` on `key` until `now + opts.expires_in`.
    pub fn sign(
        &self,
        key: &BlobKey,
        opts: &SignOptions,
        now: SystemTime,
    ) -> Result<SignedRequest> {
        opts.validate()
            .map_err(|e| e.with_provider(Provider::Local).with_key(key.as_str()))?;
        let expires = unix_seconds(now + opts.expires_in);
        let max = opts.max_size.map(|m| m.to_string());
        let signature = self.signature(
            opts.method,
            key.as_str(),
            expires,
            opts.content_type.as_deref(),
            max.as_deref(),
            opts.content_disposition.as_deref(),
        );
        let mut query = vec![
            (param::METHOD, opts.method.as_str().to_string()),
            (param::EXPIRES, expires.to_string()),
        ];
        if let Some(ct) = &opts.content_type {
            query.push((param::CONTENT_TYPE, ct.clone()));
        }
        if let Some(max) = max {
            query.push((param::MAX_SIZE, max));
        }
        if let Some(cd) = &opts.content_disposition {
            query.push((param::DISPOSITION, cd.clone()));
        }
        query.push((param::SIGNATURE, signature));
        let query: Vec<String> = query
            .into_iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(&v, ENCODE)))
            .collect();
        let url = format!("{}/{}?{}", self.base_url, encode_key(key), query.join("&"));
        let mut headers = Vec::new();
        if let (SignMethod::Put, Some(ct)) = (opts.method, &opts.content_type) {
            headers.push(("content-type".to_string(), ct.clone()));
        }
        let expires_at = UNIX_EPOCH + Duration::from_secs(expires);
        Ok(SignedRequest::new(opts.method, url, headers, expires_at))
    }

    /// Checks a request for `method` on `key` carrying `query` (the raw
    /// query string); `HEAD` counts as `GET`.
    pub fn verify(
        &self,
        method: SignMethod,
        key: &str,
        query: &str,
        now: SystemTime,
    ) -> std::result::Result<Grant, Refusal> {
        let mut signed_method = None;
        let mut expires = None;
        let mut content_type = None;
        let mut max_size = None;
        let mut disposition = None;
        let mut signature = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if value.chars().any(|c| c.is_control()) {
                return Err(Refusal::Malformed);
            }
            let slot = match name.as_ref() {
                param::METHOD => &mut signed_method,
                param::EXPIRES => &mut expires,
                param::CONTENT_TYPE => &mut content_type,
                param::MAX_SIZE => &mut max_size,
                param::DISPOSITION => &mut disposition,
                param::SIGNATURE => &mut signature,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(Refusal::Malformed);
            }
        }
        let signed_method = match signed_method.as_deref() {
            Some("GET") => SignMethod::Get,
            Some("PUT") => SignMethod::Put,
            Some("DELETE") => SignMethod::Delete,
            _ => return Err(Refusal::Malformed),
        };
        let expires_secs: u64 = expires
            .as_deref()
            .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|e| e.parse().ok())
            .ok_or(Refusal::Malformed)?;
        if max_size
            .as_deref()
            .is_some_and(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Refusal::Malformed);
        }
        let given = signature
            .as_deref()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or(Refusal::Malformed)?;
        let mac = self.mac(
            signed_method,
            key,
            expires_secs,
            content_type.as_deref(),
            max_size.as_deref(),
            disposition.as_deref(),
        );
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&given).is_err() {
            return Err(Refusal::BadSignature);
        }
        if signed_method != method {
            return Err(Refusal::WrongMethod);
        }
        let expires_at = UNIX_EPOCH + Duration::from_secs(expires_secs);
        if now >= expires_at {
            return Err(Refusal::Expired);
        }
        Ok(Grant {
            method: signed_method,
            content_type,
            max_size: max_size.and_then(|m| m.parse().ok()),
            content_disposition: disposition,
            expires_at,
        })
    }

    fn mac(
        &self,
        method: SignMethod,
        key: &str,
        expires: u64,
        content_type: Option<&str>,
        max_size: Option<&str>,
        disposition: Option<&str>,
    ) -> Hmac<Sha256> {
        let canonical = format!(
            "{VERSION}\n{}\n{key}\n{expires}\n{}\n{}\n{}",
            method.as_str(),
            content_type.unwrap_or(""),
            max_size.unwrap_or(""),
            disposition.unwrap_or("")
        );
        let mut mac = self.keyed.clone();
        mac.update(canonical.as_bytes());
        mac
    }

    fn signature(
        &self,
        method: SignMethod,
        key: &str,
        expires: u64,
        content_type: Option<&str>,
        max_size: Option<&str>,
        disposition: Option<&str>,
    ) -> String {
        let mac = self.mac(method, key, expires, content_type, max_size, disposition);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// The key as a URL path: each segment percent-encoded, `/` kept.
pub(crate) fn encode_key(key: &BlobKey) -> String {
    key.segments()
        .map(|s| utf8_percent_encode(s, ENCODE).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// One random key per process, announced once, for stores configured
/// without [`SIGNING_KEY_VAR`].
fn development_key() -> Result<&'static [u8; 32]> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    if let Some(key) = KEY.get() {
        return Ok(key);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| {
        Error::config(
            SIGNING_KEY_VAR,
            format!("no key is set and the system gave no randomness to generate one ({e}); set {SIGNING_KEY_VAR}"),
        )
    })?;
    let mut announced = false;
    let key = KEY.get_or_init(|| {
        announced = true;
        fresh
    });
    if announced {
        tracing::warn!(
            "{SIGNING_KEY_VAR} is not set: local signed URLs use a random key generated for this \
             process and stop working when it restarts; set {SIGNING_KEY_VAR} to 32 or more \
             random bytes for stable URLs"
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(Some(&Secret::new("k".repeat(32))), "http://h/blobs").expect("signer")
    }

    fn split(url: &str) -> (&str, &str) {
        url.split_once('?').expect("query")
    }

    #[test]
    fn round_trip_and_method_binding() {
        let s = signer();
        let key = BlobKey::new("a b/ü%.txt").expect("key");
        let now = SystemTime::now();
        let req = s
            .sign(
                &key,
                &SignOptions::new(SignMethod::Put)
                    .content_type("text/plain")
                    .max_size(10),
                now,
            )
            .expect("sign");
        let (path, query) = split(&req.url);
        assert_eq!(path, "http://h/blobs/a%20b/%C3%BC%25.txt");
        let grant = s
            .verify(SignMethod::Put, key.as_str(), query, now)
            .expect("valid");
        assert_eq!(grant.max_size, Some(10));
        assert_eq!(grant.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            s.verify(SignMethod::Get, key.as_str(), query, now),
            Err(Refusal::WrongMethod)
        );
        assert_eq!(
            s.verify(SignMethod::Put, "other", query, now),
            Err(Refusal::BadSignature)
        );
        let later = now + Duration::from_secs(16 * 60);
        assert_eq!(
            s.verify(SignMethod::Put, key.as_str(), query, later),
            Err(Refusal::Expired)
        );
        assert_eq!(
            req.headers,
            [("content-type".to_string(), "text/plain".to_string())]
        );
    }

    #[test]
    fn another_key_refuses() {
        let key = BlobKey::new("k").expect("key");
        let now = SystemTime::now();
        let req = signer()
            .sign(&key, &SignOptions::new(SignMethod::Get), now)
            .expect("sign");
        let other =
            Signer::new(Some(&Secret::new("j".repeat(32))), "http://h/blobs").expect("signer");
        let (_, query) = split(&req.url);
        assert_eq!(
            other.verify(SignMethod::Get, "k", query, now),
            Err(Refusal::BadSignature)
        );
        assert!(!format!("{other:?}").contains("jjjj"));
    }
}
