//! The `blob.upload-completed` POST made after a client-token upload.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::client_token::OnUploadCompleted;
use crate::state::AppState;

/// Sends the callback in the background, as the service does: the upload's
/// response does not wait for the application.
pub fn spawn(state: Arc<AppState>, target: OnUploadCompleted, blob: serde_json::Value) {
    tokio::spawn(async move {
        let body = serde_json::json!({
            "type": "blob.upload-completed",
            "payload": {
                "blob": blob,
                "tokenPayload": target.token_payload.unwrap_or(serde_json::Value::Null),
            }
        })
        .to_string();
        // The SDK verifies `JSON.stringify(JSON.parse(body))`; compact serde
        // output round-trips to the same bytes, so signing these bytes works.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(state.token.expose().as_bytes()) else {
            return;
        };
        mac.update(body.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let result = state
            .http
            .post(&target.callback_url)
            .header("content-type", "application/json")
            .header("x-vercel-signature", signature)
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
            .await;
        match result {
            Ok(resp) => {
                tracing::debug!(status = %resp.status(), "upload-completed callback delivered")
            }
            Err(err) => tracing::warn!(%err, "upload-completed callback failed"),
        }
    });
}
