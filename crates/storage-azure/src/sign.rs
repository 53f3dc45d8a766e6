//! Signed URLs as Azure shared access signatures (SAS).
//!
//! - With an account key: a **service SAS**.
//! - With Entra ID tokens: a **user delegation SAS**, signed with a user
//!   delegation key (see `delegation.rs`).
//! - With a fixed SAS credential: nothing can be signed (`Unsupported`).
//!
//! Every SAS is scoped to one blob (`sr=b`) with the least permission for the
//! method (`GET` → `r`, `PUT` → `cw`, `DELETE` → `d`), starts five minutes in
//! the past to absorb clock skew, and is `https`-only except on the
//! emulator. Downloads can override the served `Content-Type` and
//! `Content-Disposition` (`rsct`, `rscd`). Azure cannot bound an upload's
//! size or content type through a SAS: `max_size` is refused as
//! `Unsupported`, and an upload content type is returned as a header the
//! client must send.

use std::time::{Duration, SystemTime};

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use object_store::azure::{AzureCredential, MicrosoftAzure};
use sha2::Sha256;
use storage_core::{
    BlobKey, Error, ErrorKind, Provider, Result, SignMethod, SignOptions, SignedRequest,
};

use crate::config::{AzureConfig, AzureCredentials};
use crate::delegation::{DelegationCache, UserDelegationKey};
use crate::error::redact_text;

/// The storage service version the signatures follow.
pub(crate) const SAS_VERSION: &str = "2022-11-02";

/// How far in the past a SAS starts, for clients whose clocks run behind.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Characters left as they are in SAS query values and blob path segments.
const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// ISO 8601 in UTC to the second, the form SAS times take.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What one SAS grants; the fields of the string-to-sign that do not come
/// from the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SasFields {
    pub permissions: &'static str,
    pub start: String,
    pub expiry: String,
    pub account: String,
    pub container: String,
    pub blob: String,
    pub protocol: &'static str,
    pub content_type: Option<String>,
    pub content_disposition: Option<String>,
}

impl SasFields {
    fn push_canonical_resource(&self, out: &mut String) {
        for part in [
            "/blob/",
            &self.account,
            "/",
            &self.container,
            "/",
            &self.blob,
        ] {
            out.push_str(part);
        }
    }

    /// The tail every string-to-sign ends with (version 2020-12-06 on).
    fn push_common_tail(&self, out: &mut String) {
        let fields = [
            "", // signedIP
            self.protocol,
            SAS_VERSION,
            "b", // signedResource
            "",  // signedSnapshotTime
            "",  // signedEncryptionScope
            "",  // rscc
            self.content_disposition.as_deref().unwrap_or(""),
            "", // rsce
            "", // rscl
            self.content_type.as_deref().unwrap_or(""),
        ];
        push_lines(out, &fields);
    }

    /// The service SAS string-to-sign.
    pub fn service_string_to_sign(&self) -> String {
        // One buffer, written in order: signing is dominated by building
        // text, not by the HMAC.
        let mut out = String::with_capacity(256);
        push_lines(&mut out, &[self.permissions, &self.start, &self.expiry]);
        out.push('\n');
        self.push_canonical_resource(&mut out);
        out.push_str("\n\n"); // signedIdentifier
        self.push_common_tail(&mut out);
        out
    }

    /// The user delegation SAS string-to-sign.
    pub fn delegation_string_to_sign(&self, key: &UserDelegationKey) -> String {
        let mut out = String::with_capacity(512);
        push_lines(&mut out, &[self.permissions, &self.start, &self.expiry]);
        out.push('\n');
        self.push_canonical_resource(&mut out);
        out.push('\n');
        push_lines(
            &mut out,
            &[
                &key.signed_oid,
                &key.signed_tid,
                &key.signed_start,
                &key.signed_expiry,
                &key.signed_service,
                &key.signed_version,
                "", // signedAuthorizedUserObjectId
                "", // signedUnauthorizedUserObjectId
                "", // signedCorrelationId
            ],
        );
        out.push('\n');
        self.push_common_tail(&mut out);
        out
    }

    /// The query string: SAS fields, key fields for delegation, signature.
    pub fn query(&self, signature: &str, key: Option<&UserDelegationKey>) -> String {
        let mut out = String::with_capacity(256);
        let mut pair = |name: &str, value: &str| {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            out.extend(percent_encoding::utf8_percent_encode(value, ENCODE));
        };
        pair("sv", SAS_VERSION);
        pair("spr", self.protocol);
        pair("st", &self.start);
        pair("se", &self.expiry);
        pair("sr", "b");
        pair("sp", self.permissions);
        if let Some(key) = key {
            pair("skoid", &key.signed_oid);
            pair("sktid", &key.signed_tid);
            pair("skt", &key.signed_start);
            pair("ske", &key.signed_expiry);
            pair("sks", &key.signed_service);
            pair("skv", &key.signed_version);
        }
        if let Some(cd) = &self.content_disposition {
            pair("rscd", cd);
        }
        if let Some(ct) = &self.content_type {
            pair("rsct", ct);
        }
        pair("sig", signature);
        out
    }
}

/// `fields` joined by newlines, appended to `out`.
fn push_lines(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(field);
    }
}

/// HMAC-SHA256 of `text` under the base64 `key`, base64-encoded.
pub(crate) fn hmac_base64(key_b64: &str, text: &str) -> Result<String> {
    Ok(mac_base64(keyed(key_b64)?, text))
}

/// An HMAC-SHA256 keyed with the base64 `key`, to clone for each signature.
pub(crate) fn keyed(key_b64: &str) -> Result<Hmac<Sha256>> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_b64.trim())
        .map_err(|_| {
            Error::new(ErrorKind::Unauthorized, Provider::Azure)
                .with_message("the signing key is not valid base64")
        })?;
    Hmac::<Sha256>::new_from_slice(&key).map_err(|_| {
        Error::new(ErrorKind::Unauthorized, Provider::Azure).with_message("unusable signing key")
    })
}

/// The account key's HMAC, keyed once per store (decoding the key and
/// keying the MAC cost as much as the rest of the HMAC); `None` without an
/// account key.
pub(crate) fn account_mac(config: &AzureConfig) -> Result<Option<Hmac<Sha256>>> {
    match config.credentials() {
        AzureCredentials::AccountKey(key) => keyed(key.expose()).map(Some),
        _ => Ok(None),
    }
}

fn mac_base64(mut mac: Hmac<Sha256>, text: &str) -> String {
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The permissions a method needs, and nothing more.
fn permissions(method: SignMethod) -> &'static str {
    match method {
        SignMethod::Get => "r",
        SignMethod::Put => "cw",
        SignMethod::Delete => "d",
    }
}

/// The blob URL, each key segment percent-encoded, with room for the query.
fn blob_url(config: &AzureConfig, key: &BlobKey) -> String {
    let mut url = String::with_capacity(512);
    url.push_str(config.endpoint());
    url.push('/');
    url.push_str(config.container());
    for segment in key.segments() {
        url.push('/');
        url.extend(percent_encoding::utf8_percent_encode(segment, ENCODE));
    }
    url
}

/// Signs `opts` for `key` as of `now` (the clock is a parameter so tests
/// can produce a SAS that has already expired).
pub(crate) async fn sign(
    config: &AzureConfig,
    account_mac: Option<&Hmac<Sha256>>,
    client: &MicrosoftAzure,
    cache: &DelegationCache,
    key: &BlobKey,
    opts: &SignOptions,
    now: SystemTime,
) -> Result<SignedRequest> {
    let tag = |e: Error| e.with_provider(Provider::Azure).with_key(key.as_str());
    opts.validate().map_err(tag)?;
    if opts.max_size.is_some() {
        return Err(tag(Error::unsupported(
            Provider::Azure,
            "signed_url max_size",
        )
        .with_message("an Azure SAS cannot limit the upload size")));
    }
    let (content_type, content_disposition) = match opts.method {
        SignMethod::Get => (opts.content_type.clone(), opts.content_disposition.clone()),
        _ => (None, None),
    };
    if opts.method == SignMethod::Delete
        && (opts.content_type.is_some() || opts.content_disposition.is_some())
    {
        return Err(tag(Error::new(ErrorKind::InvalidInput, Provider::Azure)
            .with_message(
                "content type and disposition have no meaning for a delete URL",
            )));
    }
    let expires_at = now + opts.expires_in;
    let start: DateTime<Utc> = (now - CLOCK_SKEW).into();
    let expiry: DateTime<Utc> = expires_at.into();
    let fields = SasFields {
        permissions: permissions(opts.method),
        start: format_time(start),
        expiry: format_time(expiry),
        account: config.account().to_string(),
        container: config.container().to_string(),
        blob: key.as_str().to_string(),
        protocol: if config.is_emulator() {
            "https,http"
        } else {
            "https"
        },
        content_type,
        content_disposition,
    };
    let query = match config.credentials() {
        AzureCredentials::AccountKey(account_key) => {
            let mac = match account_mac {
                Some(mac) => mac.clone(),
                None => keyed(account_key.expose())?,
            };
            fields.query(&mac_base64(mac, &fields.service_string_to_sign()), None)
        }
        AzureCredentials::Sas(_) => {
            return Err(tag(Error::unsupported(Provider::Azure, "signed_url")
                .with_message(
                    "the store authenticates with a fixed SAS token, which cannot sign new URLs; \
                 configure an account key or an Entra ID identity",
                )))
        }
        AzureCredentials::TokenChain(_) => {
            let credential = client.credentials().get_credential().await.map_err(|e| {
                tag(
                    Error::new(ErrorKind::Unauthorized, Provider::Azure).with_message(format!(
                        "cannot get an Entra ID token to sign the URL: {}",
                        redact_text(&e.to_string())
                    )),
                )
            })?;
            let AzureCredential::BearerToken(token) = credential.as_ref() else {
                return Err(tag(Error::unsupported(Provider::Azure, "signed_url")
                    .with_message(
                        "the credential chain gave no bearer token to sign with",
                    )));
            };
            let udk = cache
                .key(config.endpoint(), token, start, expiry)
                .await
                .map_err(tag)?;
            let sig = hmac_base64(udk.value.expose(), &fields.delegation_string_to_sign(&udk))?;
            fields.query(&sig, Some(&udk))
        }
    };
    let mut headers = Vec::new();
    if opts.method == SignMethod::Put {
        headers.push(("x-ms-blob-type".to_string(), "BlockBlob".to_string()));
        if let Some(ct) = &opts.content_type {
            headers.push(("content-type".to_string(), ct.clone()));
        }
        if let Some(cd) = &opts.content_disposition {
            headers.push(("x-ms-blob-content-disposition".to_string(), cd.clone()));
        }
    }
    let mut url = blob_url(config, key);
    url.push('?');
    url.push_str(&query);
    // Azure works in whole seconds: report the expiry it will enforce.
    let expires_at =
        SystemTime::from(DateTime::<Utc>::from_timestamp(expiry.timestamp(), 0).unwrap_or(expiry));
    Ok(SignedRequest::new(opts.method, url, headers, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs shared by the vectors. The expected strings follow the
    /// string-to-sign layouts Microsoft documents for version 2020-12-06 and
    /// later; the signatures were computed independently with
    /// `openssl dgst -sha256 -mac HMAC` over those strings.
    fn fields(permissions: &'static str, content_type: Option<&str>) -> SasFields {
        SasFields {
            permissions,
            start: "2024-01-01T00:00:00Z".into(),
            expiry: "2024-01-01T00:15:00Z".into(),
            account: "acme".into(),
            container: "recordings".into(),
            blob: "a b/ü.webm".into(),
            protocol: "https",
            content_type: content_type.map(str::to_string),
            content_disposition: None,
        }
    }

    const KEY: &str = "c2VjcmV0LWRlbGVnYXRpb24ta2V5";

    fn delegation_key() -> UserDelegationKey {
        UserDelegationKey {
            signed_oid: "11111111-1111-1111-1111-111111111111".into(),
            signed_tid: "22222222-2222-2222-2222-222222222222".into(),
            signed_start: "2024-01-01T00:00:00Z".into(),
            signed_expiry: "2024-01-02T00:00:00Z".into(),
            signed_service: "b".into(),
            signed_version: "2022-11-02".into(),
            value: storage_core::redact::Secret::new(KEY.into()),
        }
    }

    #[test]
    fn user_delegation_string_to_sign_and_signature() {
        let f = fields("r", Some("audio/webm"));
        let key = delegation_key();
        let expected = "r\n2024-01-01T00:00:00Z\n2024-01-01T00:15:00Z\n/blob/acme/recordings/a b/ü.webm\n\
            11111111-1111-1111-1111-111111111111\n22222222-2222-2222-2222-222222222222\n\
            2024-01-01T00:00:00Z\n2024-01-02T00:00:00Z\nb\n2022-11-02\n\n\n\n\nhttps\n2022-11-02\nb\n\n\n\n\n\n\naudio/webm";
        assert_eq!(f.delegation_string_to_sign(&key), expected);
        let sig = hmac_base64(KEY, expected).expect("sign");
        assert_eq!(sig, "2H7354HuBTEiI9lAM4OlKR4fMRMz/7I5ArcWfW6ti2A=");
        let query = f.query(&sig, Some(&key));
        assert!(
            query.contains("skoid=11111111-1111-1111-1111-111111111111"),
            "{query}"
        );
        assert!(query.contains("rsct=audio%2Fwebm"), "{query}");
        assert!(
            query.ends_with("sig=2H7354HuBTEiI9lAM4OlKR4fMRMz%2F7I5ArcWfW6ti2A%3D"),
            "{query}"
        );
    }

    #[test]
    fn service_string_to_sign_and_signature() {
        let f = fields("cw", None);
        let expected = "cw\n2024-01-01T00:00:00Z\n2024-01-01T00:15:00Z\n/blob/acme/recordings/a b/ü.webm\n\n\nhttps\n2022-11-02\nb\n\n\n\n\n\n\n";
        assert_eq!(f.service_string_to_sign(), expected);
        assert_eq!(
            hmac_base64(KEY, expected).expect("sign"),
            "O0NBYRwh3VmwLECCXv4fcmPBC3V744SkT8wcctiE7JE="
        );
    }

    #[test]
    fn least_privilege_per_method() {
        assert_eq!(permissions(SignMethod::Get), "r");
        assert_eq!(permissions(SignMethod::Put), "cw");
        assert_eq!(permissions(SignMethod::Delete), "d");
    }
}
