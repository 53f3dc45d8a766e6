//! Presigned URLs and client tokens: the two ways to let a browser talk to
//! Vercel Blob without the bytes passing through the app.
//!
//! **Presigned URLs** (what [`BlobStore::signed_url`](storage_core::BlobStore::signed_url)
//! returns) follow the SDK's `presignUrl`: one `POST /signed-token` fetches
//! a store-wide delegation (all operations, pathname `*`) and a client
//! signing key, which are cached until shortly before they expire; every URL
//! is then signed locally, binding the operation, the pathname, the expiry
//! and any size or content-type bound. The delegation token travels in each
//! URL, but without the signing key (which never leaves the app) it cannot
//! be used to sign another URL. Downloads target the blob host, uploads and
//! deletes the API.
//!
//! **Client tokens** ([`VercelStore::client_token`](crate::VercelStore::client_token))
//! are what the official browser SDK's `upload()`/`put()` expect from an
//! app's token route: an HMAC of the payload keyed with the read-write token,
//! restricted to one pathname, with optional content types, size bound,
//! expiry and completion callback.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use storage_core::redact::Secret;
use storage_core::{Error, ErrorKind, Provider, Result, SignMethod, SignOptions, SignedRequest};

use crate::client::{Client, SignedTokenRequest};

/// A cached delegation is renewed when less than this is left of it beyond
/// the expiry of the URL being signed.
const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The shortest delegation requested, so that a burst of short-lived URLs
/// shares one `POST /signed-token`.
const MIN_DELEGATION: Duration = Duration::from_secs(60 * 60);
/// Client tokens live this long when the caller does not say (the SDK's default).
const DEFAULT_CLIENT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// A delegation and the key URLs are signed with.
#[derive(Clone)]
pub(crate) struct Delegation {
    token: String,
    signing_key: Secret<String>,
    valid_until_ms: u64,
}

impl std::fmt::Debug for Delegation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegation")
            .field("valid_until_ms", &self.valid_until_ms)
            .finish_non_exhaustive()
    }
}

/// Fetches and caches delegations.
#[derive(Debug, Default)]
pub(crate) struct Presigner {
    cached: tokio::sync::Mutex<Option<Delegation>>,
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn hmac(key: &[u8], message: &str) -> Result<Vec<u8>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, Provider::Vercel).with_message("empty signing key")
    })?;
    mac.update(message.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

fn unsupported(what: &'static str, why: &str) -> Error {
    Error::unsupported(Provider::Vercel, what).with_message(why.to_string())
}

impl Presigner {
    /// A delegation valid at least until `until_ms` (plus a margin).
    async fn delegation(&self, client: &Client, until_ms: u64) -> Result<Delegation> {
        let mut cached = self.cached.lock().await;
        let needed = until_ms + RENEW_MARGIN.as_millis() as u64;
        if let Some(d) = cached.as_ref().filter(|d| d.valid_until_ms >= needed) {
            return Ok(d.clone());
        }
        let floor = ms(SystemTime::now() + MIN_DELEGATION);
        let request = SignedTokenRequest {
            operations: vec!["get", "head", "put", "delete"],
            valid_until: needed.max(floor) + RENEW_MARGIN.as_millis() as u64,
        };
        let answer = client.signed_token(&request).await?;
        let fresh = Delegation {
            token: answer.delegation_token,
            signing_key: Secret::new(answer.client_signing_token),
            valid_until_ms: answer.valid_until,
        };
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// A presigned request for `pathname`, as the SDK's `presignUrl` builds it.
    pub(crate) async fn sign(
        &self,
        client: &Client,
        pathname: &str,
        opts: &SignOptions,
    ) -> Result<SignedRequest> {
        opts.validate()
            .map_err(|e| e.with_provider(Provider::Vercel))?;
        let access = client.config().access_level().as_str();
        let (operation, mut params, headers) = match opts.method {
            SignMethod::Get => {
                if opts.content_type.is_some() || opts.content_disposition.is_some() {
                    return Err(unsupported(
                        "signed_url content_type/content_disposition for downloads",
                        "the blob host serves the stored content type and disposition; \
                         it cannot override them per URL",
                    ));
                }
                if opts.max_size.is_some() {
                    return Err(unsupported(
                        "signed_url max_size for downloads",
                        "max_size bounds uploads only",
                    ));
                }
                ("get", Vec::new(), Vec::new())
            }
            SignMethod::Put => {
                if opts.content_disposition.is_some() {
                    return Err(unsupported(
                        "signed_url content_disposition",
                        "Vercel Blob does not store a content disposition",
                    ));
                }
                let mut params = vec![("vercel-blob-allow-overwrite", "true".to_string())];
                let mut headers = vec![("x-vercel-blob-access".to_string(), access.to_string())];
                if let Some(max) = opts.max_size {
                    params.push(("vercel-blob-maximum-size-in-bytes", max.to_string()));
                }
                if let Some(ct) = &opts.content_type {
                    params.push(("vercel-blob-allowed-content-types", ct.clone()));
                    headers.push(("x-content-type".to_string(), ct.clone()));
                }
                ("put", params, headers)
            }
            SignMethod::Delete => {
                if opts.content_type.is_some()
                    || opts.content_disposition.is_some()
                    || opts.max_size.is_some()
                {
                    return Err(unsupported(
                        "signed_url options for deletes",
                        "content type, disposition and size bounds do not apply to a delete",
                    ));
                }
                ("delete", Vec::new(), Vec::new())
            }
        };
        let expires_at = SystemTime::now() + opts.expires_in;
        let until_ms = ms(expires_at);
        params.push(("vercel-blob-valid-until", until_ms.to_string()));
        let delegation = self.delegation(client, until_ms).await?;

        let mut lines: Vec<String> = vec![
            format!("operation={operation}"),
            format!("pathname={pathname}"),
        ];
        lines.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
        lines.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let signature = URL_SAFE_NO_PAD.encode(hmac(
            delegation.signing_key.expose().as_bytes(),
            &lines.join("\n"),
        )?);

        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let base = match opts.method {
            SignMethod::Get => client.blob_url(pathname),
            SignMethod::Put | SignMethod::Delete => {
                query.append_pair("pathname", pathname);
                client.api_url("/")
            }
        };
        for (k, v) in &params {
            query.append_pair(k, v);
        }
        query.append_pair("vercel-blob-delegation", &delegation.token);
        query.append_pair("vercel-blob-signature", &signature);
        let url = format!("{base}?{}", query.finish());
        // The URL is valid until the earlier of its own expiry and the
        // delegation's, which `delegation()` keeps past the URL's.
        Ok(SignedRequest::new(opts.method, url, headers, expires_at))
    }
}

/// Where the service reports a finished client upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadCallback {
    /// The URL that receives `{"type":"blob.upload-completed",…}`, signed
    /// with `x-vercel-signature`.
    pub callback_url: String,
    /// An opaque value echoed back in the callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_payload: Option<String>,
}

/// The bounds a client token imposes on a browser upload.
///
/// ```
/// use std::time::Duration;
/// use storage_vercel::ClientTokenOptions;
/// let opts = ClientTokenOptions::new()
///     .allowed_content_types(["image/png", "image/jpeg"])
///     .maximum_size(5 << 20)
///     .valid_for(Duration::from_secs(600));
/// assert_eq!(opts.maximum_size, Some(5 << 20));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTokenOptions {
    /// Content types the upload may have (`image/*` wildcards allowed).
    pub allowed_content_types: Option<Vec<String>>,
    /// The largest body accepted, in bytes.
    pub maximum_size: Option<u64>,
    /// When the token stops working; one hour from now when `None`.
    pub valid_until: Option<SystemTime>,
    /// Whether the upload may replace an existing blob.
    pub allow_overwrite: Option<bool>,
    /// Whether the service appends a random suffix to the pathname.
    pub add_random_suffix: Option<bool>,
    /// `max-age` the blob is served with, in seconds.
    pub cache_control_max_age: Option<u64>,
    /// Only replace the blob if it has this etag.
    pub if_match: Option<String>,
    /// Where to report the finished upload.
    pub on_upload_completed: Option<UploadCallback>,
}

impl ClientTokenOptions {
    /// No bounds beyond the pathname and a one-hour lifetime.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restricts the content types.
    pub fn allowed_content_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_content_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Bounds the body size.
    pub fn maximum_size(mut self, bytes: u64) -> Self {
        self.maximum_size = Some(bytes);
        self
    }

    /// Sets the expiry.
    pub fn valid_until(mut self, at: SystemTime) -> Self {
        self.valid_until = Some(at);
        self
    }

    /// Sets the expiry relative to now.
    pub fn valid_for(self, d: Duration) -> Self {
        self.valid_until(SystemTime::now() + d)
    }

    /// Allows replacing an existing blob.
    pub fn allow_overwrite(mut self, allow: bool) -> Self {
        self.allow_overwrite = Some(allow);
        self
    }

    /// Asks for a completion callback.
    pub fn on_upload_completed(mut self, callback: UploadCallback) -> Self {
        self.on_upload_completed = Some(callback);
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientTokenPayload<'a> {
    pathname: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_content_types: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum_size_in_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_random_suffix: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_overwrite: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control_max_age: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    if_match: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_upload_completed: Option<&'a UploadCallback>,
    valid_until: u64,
}

/// Mints `vercel_blob_client_<storeId>_<base64(hmacHex "." payloadBase64)>`.
pub(crate) fn client_token(
    rw_token: &Secret<String>,
    store_id: &str,
    pathname: &str,
    opts: &ClientTokenOptions,
) -> Result<Secret<String>> {
    let valid_until = opts
        .valid_until
        .unwrap_or_else(|| SystemTime::now() + DEFAULT_CLIENT_TOKEN_LIFETIME);
    if valid_until <= SystemTime::now() {
        return Err(Error::new(ErrorKind::InvalidInput, Provider::Vercel)
            .with_key(pathname)
            .with_message("a client token must expire in the future"));
    }
    // `ifMatch` only makes sense as an overwrite, as the SDK enforces.
    let allow_overwrite = match (&opts.if_match, opts.allow_overwrite) {
        (Some(_), Some(false)) => {
            return Err(Error::new(ErrorKind::InvalidInput, Provider::Vercel)
                .with_key(pathname)
                .with_message("if_match needs allow_overwrite; they contradict each other"))
        }
        (Some(_), _) => Some(true),
        (None, allow) => allow,
    };
    let payload = ClientTokenPayload {
        pathname,
        allowed_content_types: opts.allowed_content_types.as_ref(),
        maximum_size_in_bytes: opts.maximum_size,
        add_random_suffix: opts.add_random_suffix,
        allow_overwrite,
        cache_control_max_age: opts.cache_control_max_age,
        if_match: opts.if_match.as_deref(),
        on_upload_completed: opts.on_upload_completed.as_ref(),
        valid_until: ms(valid_until),
    };
    let json = serde_json::to_string(&payload).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, Provider::Vercel).with_message(e.to_string())
    })?;
    let payload_b64 = STANDARD.encode(json);
    let signature = hex::encode(hmac(rw_token.expose().as_bytes(), &payload_b64)?);
    Ok(Secret::new(format!(
        "vercel_blob_client_{store_id}_{}",
        STANDARD.encode(format!("{signature}.{payload_b64}"))
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_have_the_sdk_shape() {
        let rw = Secret::new("vercel_blob_rw_st_secret".to_string());
        let opts = ClientTokenOptions::new()
            .allowed_content_types(["image/*"])
            .maximum_size(1024);
        let token = client_token(&rw, "st", "uploads/a.png", &opts).expect("token");
        let encoded = token
            .expose()
            .strip_prefix("vercel_blob_client_st_")
            .expect("prefix");
        let inner = String::from_utf8(STANDARD.decode(encoded).expect("b64")).expect("utf8");
        let (sig, payload_b64) = inner.split_once('.').expect("dot");
        let expected = hex::encode(hmac(rw.expose().as_bytes(), payload_b64).expect("hmac"));
        assert_eq!(sig, expected);
        let payload: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(payload_b64).expect("payload")).expect("json");
        assert_eq!(payload["pathname"], "uploads/a.png");
        assert_eq!(payload["maximumSizeInBytes"], 1024);
        assert!(payload["validUntil"].as_u64().is_some());
    }

    #[test]
    fn contradictory_or_expired_client_tokens_are_refused() {
        let rw = Secret::new("vercel_blob_rw_st_secret".to_string());
        let mut opts = ClientTokenOptions::new().allow_overwrite(false);
        opts.if_match = Some("\"e\"".into());
        assert!(client_token(&rw, "st", "a", &opts).is_err());
        let past = ClientTokenOptions::new().valid_until(UNIX_EPOCH);
        assert!(client_token(&rw, "st", "a", &past).is_err());
    }
}
