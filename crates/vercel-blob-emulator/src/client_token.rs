//! Client (browser upload) tokens: `vercel_blob_client_<store>_<base64>`.
//!
//! The inner base64 decodes to `<hmacHex>.<payloadBase64>`, where the HMAC is
//! SHA-256 keyed with the whole read-write token over `payloadBase64`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};
use crate::secret::Secret;
use crate::storage::now_ms;

const PREFIX: &str = "vercel_blob_client_";

/// Where and with what the service reports a finished client upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OnUploadCompleted {
    /// URL that receives the `blob.upload-completed` POST.
    pub callback_url: String,
    /// Opaque value echoed back in the callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_payload: Option<serde_json::Value>,
}

/// The restrictions a client token carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientTokenPayload {
    /// The only pathname the token may write.
    pub pathname: String,
    /// Allowed content types (`type/*` wildcards allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_content_types: Option<Vec<String>>,
    /// Largest accepted body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_size_in_bytes: Option<u64>,
    /// Forces a random suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_random_suffix: Option<bool>,
    /// Permits overwriting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_overwrite: Option<bool>,
    /// Cache lifetime of the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control_max_age: Option<u64>,
    /// Conditional overwrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
    /// Completion callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_upload_completed: Option<OnUploadCompleted>,
    /// Expiry, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<f64>,
}

fn sign_hex(rw_token: &Secret, message: &str) -> ApiResult<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(rw_token.expose().as_bytes())
        .map_err(|_| ApiError::internal("invalid HMAC key"))?;
    mac.update(message.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Issues a client token the way the SDK's `generateClientTokenFromReadWriteToken` does.
pub fn generate(
    rw_token: &Secret,
    store_id: &str,
    payload: &ClientTokenPayload,
) -> ApiResult<Secret> {
    let json = serde_json::to_string(payload).map_err(|e| ApiError::internal(e.to_string()))?;
    let payload_b64 = STANDARD.encode(json);
    let sig = sign_hex(rw_token, &payload_b64)?;
    Ok(Secret::new(format!(
        "{PREFIX}{store_id}_{}",
        STANDARD.encode(format!("{sig}.{payload_b64}"))
    )))
}

/// True when the bearer value is shaped like a client token.
pub fn is_client_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// Verifies a client token's store and signature and returns its payload;
/// any malformed or foreign token is `forbidden`.
pub fn verify(token: &str, rw_token: &Secret, store_id: &str) -> ApiResult<ClientTokenPayload> {
    let rest = token.strip_prefix(PREFIX).ok_or_else(ApiError::forbidden)?;
    let (store, encoded) = rest.split_once('_').ok_or_else(ApiError::forbidden)?;
    if store != store_id {
        return Err(ApiError::forbidden());
    }
    let inner = STANDARD
        .decode(encoded)
        .map_err(|_| ApiError::forbidden())?;
    let inner = String::from_utf8(inner).map_err(|_| ApiError::forbidden())?;
    let (sig_hex, payload_b64) = inner.split_once('.').ok_or_else(ApiError::forbidden)?;
    let sig = hex::decode(sig_hex).map_err(|_| ApiError::forbidden())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(rw_token.expose().as_bytes())
        .map_err(|_| ApiError::forbidden())?;
    mac.update(payload_b64.as_bytes());
    mac.verify_slice(&sig).map_err(|_| ApiError::forbidden())?;
    let json = STANDARD
        .decode(payload_b64)
        .map_err(|_| ApiError::forbidden())?;
    serde_json::from_slice(&json).map_err(|_| ApiError::forbidden())
}

/// Whether `content_type` is in `allowed`, honouring `type/*` and `*/*`.
pub fn content_type_allowed(content_type: &str, allowed: &[String]) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or(content_type)
        .trim();
    let major = essence.split('/').next().unwrap_or(essence);
    allowed.iter().any(|a| {
        let a = a.trim();
        a == essence || a == "*/*" || a.strip_suffix("/*").is_some_and(|m| m == major)
    })
}

impl ClientTokenPayload {
    /// Checks expiry and pathname for a write to `pathname`.
    pub fn check_pathname(&self, pathname: &str) -> ApiResult<()> {
        if let Some(valid_until) = self.valid_until {
            if valid_until < now_ms() as f64 {
                return Err(ApiError::token_expired());
            }
        }
        if self.pathname != pathname {
            return Err(ApiError::pathname_mismatch(pathname));
        }
        Ok(())
    }

    /// Checks a content type against `allowedContentTypes`.
    pub fn check_content_type(&self, content_type: &str) -> ApiResult<()> {
        match &self.allowed_content_types {
            Some(list) if !list.is_empty() && !content_type_allowed(content_type, list) => {
                Err(ApiError::content_type_not_allowed(content_type))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let rw = Secret::new("vercel_blob_rw_st_secret");
        let payload = ClientTokenPayload {
            pathname: "a.png".into(),
            allowed_content_types: Some(vec!["image/*".into()]),
            valid_until: Some(4_000_000_000_000.0),
            ..Default::default()
        };
        let token = generate(&rw, "st", &payload).expect("generate");
        let back = verify(token.expose(), &rw, "st").expect("verify");
        assert_eq!(back, payload);
        assert!(verify(token.expose(), &Secret::new("other"), "st").is_err());
        assert!(verify(token.expose(), &rw, "other").is_err());
        assert!(verify("vercel_blob_client_st_!!!", &rw, "st").is_err());
        assert!(back.check_content_type("image/png").is_ok());
        assert!(back.check_content_type("text/plain").is_err());
        assert!(back.check_pathname("b.png").is_err());
    }
}
