//! V4 signed URLs (`GOOG4-RSA-SHA256`), signed with the service account's
//! RSA key, as Cloud Storage's V4 signing process describes them.
//!
//! The URL names the object in the XML API's path style
//! (`<endpoint>/<bucket>/<object>`), which is what signed URLs address.
//! The canonical request is the method, the encoded path, the sorted and
//! encoded query (the `X-Goog-*` parameters), the signed headers (`host`
//! always; for an upload, `content-type` when one was asked for and
//! `x-goog-content-length-range` for a size bound) and
//! `UNSIGNED-PAYLOAD`. Its SHA-256, with the date and the credential scope,
//! is the string to sign; the RSA PKCS#1 v1.5 SHA-256 signature, in
//! lowercase hex, becomes `X-Goog-Signature`. A download's content type
//! and disposition to serve travel as the signed `response-content-type`
//! and `response-content-disposition` parameters.
//!
//! Headers that are signed must be sent exactly as signed, so they are
//! listed in [`SignedRequest::headers`]; the service refuses a request
//! whose headers differ (another content type, a body outside the size
//! bound). Expiry is at most 7 days, Cloud Storage's own limit.

use std::time::{Duration, SystemTime};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use sha2::{Digest, Sha256};
use storage_core::{
    BlobKey, Error, ErrorKind, Provider, Result, SignMethod, SignOptions, SignedRequest,
};

use crate::service_account::ServiceAccountKey;

/// RFC 3986 unreserved characters stay; everything else is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The algorithm named in the URL and the string to sign.
const ALGORITHM: &str = "GOOG4-RSA-SHA256";

/// Signs V4 URLs with one service account's key.
pub(crate) struct Signer {
    email: String,
    key: RsaKeyPair,
    endpoint: url::Url,
    bucket: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("email", &self.email)
            .field("endpoint", &self.endpoint.as_str())
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// What one signature covers, before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Canonical {
    /// The string to sign.
    string_to_sign: String,
    /// The URL without `X-Goog-Signature`.
    unsigned_url: String,
    /// Headers the client must send.
    headers: Vec<(String, String)>,
}

impl Signer {
    /// A signer for `bucket` under `endpoint` with `key`.
    pub(crate) fn new(key: &ServiceAccountKey, endpoint: &str, bucket: &str) -> Result<Signer> {
        let bad = |m: String| Error::new(ErrorKind::InvalidInput, Provider::Gcs).with_message(m);
        Ok(Signer {
            email: key.client_email().to_string(),
            key: key.key_pair().map_err(bad)?,
            endpoint: url::Url::parse(endpoint)
                .map_err(|e| bad(format!("the endpoint is not a URL: {e}")))?,
            bucket: bucket.to_string(),
        })
    }

    /// A signed request for `opts` on `key`, valid from `now`.
    pub fn sign(
        &self,
        key: &BlobKey,
        opts: &SignOptions,
        now: SystemTime,
    ) -> Result<SignedRequest> {
        let now = whole_seconds(now);
        let canonical = self.canonical(key, opts, now)?;
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                canonical.string_to_sign.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::new(ErrorKind::Backend, Provider::Gcs)
                    .with_message("signing with the service account key failed")
            })?;
        let url = format!(
            "{}&X-Goog-Signature={}",
            canonical.unsigned_url,
            hex::encode(signature)
        );
        Ok(SignedRequest::new(
            opts.method,
            url,
            canonical.headers,
            now + Duration::from_secs(expiry_seconds(opts.expires_in)),
        ))
    }

    /// The canonical request and string to sign for `opts` on `key` at
    /// `now`.
    fn canonical(&self, key: &BlobKey, opts: &SignOptions, now: SystemTime) -> Result<Canonical> {
        let when = chrono::DateTime::<chrono::Utc>::from(whole_seconds(now));
        let timestamp = when.format("%Y%m%dT%H%M%SZ").to_string();
        let date = when.format("%Y%m%d").to_string();
        let scope = format!("{date}/auto/storage/goog4_request");
        let host = match (self.endpoint.host_str(), self.endpoint.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Error::new(ErrorKind::InvalidInput, Provider::Gcs)
                    .with_message("the endpoint has no host"))
            }
        };

        // Header names, lowercase, in sorted order.
        let mut headers: Vec<(String, String)> = vec![("host".into(), host)];
        if opts.method == SignMethod::Put {
            if let Some(ct) = &opts.content_type {
                headers.push(("content-type".into(), ct.trim().to_string()));
            }
            if let Some(max) = opts.max_size {
                headers.push(("x-goog-content-length-range".into(), format!("0,{max}")));
            }
        }
        headers.sort();
        let signed_headers = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");

        let mut query: Vec<(String, String)> = vec![
            ("X-Goog-Algorithm".into(), ALGORITHM.into()),
            (
                "X-Goog-Credential".into(),
                format!("{}/{scope}", self.email),
            ),
            ("X-Goog-Date".into(), timestamp.clone()),
            (
                "X-Goog-Expires".into(),
                expiry_seconds(opts.expires_in).to_string(),
            ),
            ("X-Goog-SignedHeaders".into(), signed_headers.clone()),
        ];
        if opts.method == SignMethod::Get {
            if let Some(cd) = &opts.content_disposition {
                query.push(("response-content-disposition".into(), cd.clone()));
            }
            if let Some(ct) = &opts.content_type {
                query.push(("response-content-type".into(), ct.clone()));
            }
        }
        query.sort();
        let query_string = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");

        let path = format!(
            "/{}/{}",
            encode(&self.bucket),
            key.as_str()
                .split('/')
                .map(encode)
                .collect::<Vec<_>>()
                .join("/")
        );
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let request = [
            opts.method.as_str(),
            &path,
            &query_string,
            &canonical_headers,
            &signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
        .join("\n");
        let string_to_sign = [
            ALGORITHM,
            &timestamp,
            &scope,
            &hex::encode(Sha256::digest(request.as_bytes())),
        ]
        .join("\n");
        let base = self.endpoint.as_str().trim_end_matches('/');
        let unsigned_url = format!("{base}{path}?{query_string}");
        let client_headers = headers
            .into_iter()
            .filter(|(n, _)| n != "host")
            .map(|(n, v)| (display_name(&n), v))
            .collect();
        Ok(Canonical {
            string_to_sign,
            unsigned_url,
            headers: client_headers,
        })
    }
}

/// `now` without its fraction of a second: `X-Goog-Date` has none, and the
/// URL expires that many seconds after it.
fn whole_seconds(now: SystemTime) -> SystemTime {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// `X-Goog-Expires`: whole seconds, at least one.
fn expiry_seconds(d: Duration) -> u64 {
    d.as_secs().max(1)
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The conventional spelling of a header the client is asked to send.
fn display_name(lower: &str) -> String {
    match lower {
        "content-type" => "Content-Type".into(),
        other => other.to_string(),
    }
}
