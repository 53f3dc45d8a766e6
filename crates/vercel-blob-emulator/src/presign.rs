//! Signed tokens (`POST /signed-token`) and presigned URL verification.
//!
//! A delegation token is `b64url(JSON scope) "." b64url(HMAC(rw, "delegation." + scope))`;
//! the JSON is readable by the SDK, which decodes it to check scope and
//! expiry before signing. The matching client signing token is derived from
//! the delegation token with the read-write token, so the emulator needs no
//! state to verify a URL: it recomputes the signing key, then the signature
//! over the canonical string the SDK signs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::secret::{constant_time_eq, Secret};
use crate::storage::now_ms;

/// Query parameter carrying the delegation token.
pub const DELEGATION_PARAM: &str = "vercel-blob-delegation";
/// Query parameter carrying the URL signature.
pub const SIGNATURE_PARAM: &str = "vercel-blob-signature";

/// The `vercel-blob-*` parameters that are covered by the signature.
const CANONICAL_KEYS: [&str; 9] = [
    "vercel-blob-add-random-suffix",
    "vercel-blob-allow-overwrite",
    "vercel-blob-allowed-content-types",
    "vercel-blob-cache-control-max-age",
    "vercel-blob-callback-token-payload",
    "vercel-blob-callback-url",
    "vercel-blob-if-match",
    "vercel-blob-maximum-size-in-bytes",
    "vercel-blob-valid-until",
];

const OPERATIONS: [&str; 4] = ["get", "head", "put", "delete"];

/// What a delegation token allows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// `store_<id>`, as the SDK expects to strip.
    pub store_id: String,
    /// One pathname, or `*` for any.
    pub pathname: String,
    /// Subset of get, head, put, delete.
    pub operations: Vec<String>,
    /// Expiry, milliseconds since the Unix epoch.
    pub valid_until: u64,
    /// Upper bound on uploaded bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_size_in_bytes: Option<u64>,
    /// Content types an upload may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_content_types: Option<Vec<String>>,
}

/// Body of `POST /signed-token`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTokenRequest {
    pathname: Option<String>,
    operations: Option<Vec<String>>,
    valid_until: Option<f64>,
    maximum_size_in_bytes: Option<u64>,
    allowed_content_types: Option<Vec<String>>,
}

/// Answer of `POST /signed-token`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedToken {
    delegation_token: String,
    client_signing_token: String,
    valid_until: u64,
}

fn hmac_b64url(key: &[u8], message: &str) -> ApiResult<String> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).map_err(|_| ApiError::internal("invalid HMAC key"))?;
    mac.update(message.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn signing_token_for(rw: &Secret, delegation: &str) -> ApiResult<String> {
    hmac_b64url(
        rw.expose().as_bytes(),
        &format!("client-signing.{delegation}"),
    )
}

/// Issues a delegation token and its client signing token.
pub fn issue(rw: &Secret, store_id: &str, req: SignedTokenRequest) -> ApiResult<SignedToken> {
    let now = now_ms();
    let valid_until = match req.valid_until {
        Some(v) if !v.is_finite() || v <= now as f64 => {
            return Err(ApiError::bad_request("validUntil must be in the future"))
        }
        Some(v) => v as u64,
        None => now + 60 * 60 * 1000,
    };
    let operations = match req.operations {
        Some(ops) if ops.is_empty() => {
            return Err(ApiError::bad_request(
                "operations must be a non-empty array",
            ))
        }
        Some(ops) => {
            if let Some(bad) = ops.iter().find(|o| !OPERATIONS.contains(&o.as_str())) {
                return Err(ApiError::bad_request(format!(
                    "unknown operation \"{bad}\""
                )));
            }
            ops
        }
        None => OPERATIONS.iter().map(|s| s.to_string()).collect(),
    };
    let pathname = req.pathname.unwrap_or_else(|| "*".to_owned());
    if pathname != "*" {
        crate::pathname::validate(&pathname)?;
    }
    let scope = Scope {
        store_id: format!("store_{store_id}"),
        pathname,
        operations,
        valid_until,
        maximum_size_in_bytes: req.maximum_size_in_bytes,
        allowed_content_types: req.allowed_content_types,
    };
    let json = serde_json::to_string(&scope).map_err(|e| ApiError::internal(e.to_string()))?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let sig = hmac_b64url(rw.expose().as_bytes(), &format!("delegation.{payload}"))?;
    let delegation_token = format!("{payload}.{sig}");
    let client_signing_token = signing_token_for(rw, &delegation_token)?;
    Ok(SignedToken {
        delegation_token,
        client_signing_token,
        valid_until,
    })
}

/// Upload settings carried by a verified presigned URL.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Smallest of the scope's and the URL's size bounds.
    pub maximum_size_in_bytes: Option<u64>,
    /// Content-type lists that must all accept the upload.
    pub allowed_content_types: Vec<Vec<String>>,
    /// `vercel-blob-add-random-suffix`.
    pub add_random_suffix: Option<bool>,
    /// `vercel-blob-allow-overwrite`.
    pub allow_overwrite: Option<bool>,
    /// `vercel-blob-cache-control-max-age`.
    pub cache_control_max_age: Option<u64>,
    /// `vercel-blob-if-match`.
    pub if_match: Option<String>,
}

/// True when a request carries presigned-URL parameters.
pub fn is_presigned(query: &Query) -> bool {
    query.get(SIGNATURE_PARAM).is_some() || query.get(DELEGATION_PARAM).is_some()
}

fn denied(why: &str) -> ApiError {
    tracing::debug!(reason = why, "presigned URL refused");
    ApiError::forbidden()
}

/// Verifies a presigned request for `operation` on `pathname`.
pub fn verify(
    rw: &Secret,
    store_id: &str,
    operation: &str,
    pathname: &str,
    query: &Query,
) -> ApiResult<Grant> {
    let delegation = query
        .get(DELEGATION_PARAM)
        .ok_or_else(|| denied("no delegation"))?;
    let signature = query
        .get(SIGNATURE_PARAM)
        .ok_or_else(|| denied("no signature"))?;
    let (payload, sig) = delegation
        .split_once('.')
        .ok_or_else(|| denied("malformed delegation"))?;
    let expected = hmac_b64url(rw.expose().as_bytes(), &format!("delegation.{payload}"))?;
    if !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(denied("delegation signature"));
    }
    let raw = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| denied("delegation encoding"))?;
    let scope: Scope = serde_json::from_slice(&raw).map_err(|_| denied("delegation payload"))?;
    if scope
        .store_id
        .strip_prefix("store_")
        .unwrap_or(&scope.store_id)
        != store_id
    {
        return Err(denied("store"));
    }
    let now = now_ms();
    if now > scope.valid_until {
        return Err(expired());
    }
    if !scope.operations.iter().any(|o| o == operation) {
        return Err(denied("operation"));
    }
    if scope.pathname != "*" && scope.pathname != pathname {
        return Err(denied("pathname"));
    }
    let mut lines = vec![
        format!("operation={operation}"),
        format!("pathname={pathname}"),
    ];
    for key in CANONICAL_KEYS {
        if let Some(v) = query.get(key).filter(|v| !v.is_empty()) {
            lines.push(format!("{key}={v}"));
        }
    }
    lines.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let signing_key = signing_token_for(rw, delegation)?;
    let expected = hmac_b64url(signing_key.as_bytes(), &lines.join("\n"))?;
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(denied("url signature"));
    }
    if let Some(until) = query.get("vercel-blob-valid-until") {
        let until: u64 = until.parse().map_err(|_| denied("valid-until"))?;
        if now > until {
            return Err(expired());
        }
    }
    let url_max = query
        .get("vercel-blob-maximum-size-in-bytes")
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request("invalid maximum size"))
        })
        .transpose()?;
    let maximum_size_in_bytes = match (scope.maximum_size_in_bytes, url_max) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut allowed_content_types = Vec::new();
    if let Some(list) = scope.allowed_content_types {
        allowed_content_types.push(list);
    }
    if let Some(csv) = query.get("vercel-blob-allowed-content-types") {
        allowed_content_types.push(csv.split(',').map(str::to_owned).collect());
    }
    let flag = |key: &str| query.get(key).map(|v| v == "true");
    Ok(Grant {
        maximum_size_in_bytes,
        allowed_content_types,
        add_random_suffix: flag("vercel-blob-add-random-suffix"),
        allow_overwrite: flag("vercel-blob-allow-overwrite"),
        cache_control_max_age: query
            .get("vercel-blob-cache-control-max-age")
            .and_then(|v| v.parse().ok()),
        if_match: query.get("vercel-blob-if-match").map(str::to_owned),
    })
}

fn expired() -> ApiError {
    // The SDK picks its "expired" error class from this exact message.
    ApiError {
        status: http::StatusCode::FORBIDDEN,
        code: "forbidden",
        message: "Token expired".to_owned(),
    }
}
