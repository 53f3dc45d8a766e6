//! The Shared Key request signature, just enough to create containers on
//! Azurite (and any Azure account) without an SDK, and for tests that play
//! "another Azure client" over plain REST.
//!
//! The string-to-sign is the verb, eleven standard headers (empty here but
//! `Content-Length`, which is empty when zero), the `x-ms-` headers sorted,
//! and the resource: `/<account><path>` plus each query parameter as
//! `\nname:value`, sorted by name.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A request to sign.
pub struct Request<'a> {
    /// The HTTP method, e.g. `PUT`.
    pub method: &'a str,
    /// The storage account name.
    pub account: &'a str,
    /// The URL path, e.g. `/devstoreaccount1/mycontainer` on Azurite.
    pub path: &'a str,
    /// Query parameters (names lowercase).
    pub query: &'a [(&'a str, &'a str)],
    /// `x-ms-*` headers (names lowercase), `x-ms-date` and `x-ms-version` included.
    pub ms_headers: &'a [(&'a str, &'a str)],
    /// The body's length in bytes.
    pub content_length: u64,
}

/// The string-to-sign for `req`.
pub fn string_to_sign(req: &Request<'_>) -> String {
    let length = if req.content_length == 0 {
        String::new()
    } else {
        req.content_length.to_string()
    };
    let mut out = format!("{}\n\n\n{length}\n\n\n\n\n\n\n\n\n", req.method);
    let mut headers = req.ms_headers.to_vec();
    headers.sort();
    for (name, value) in headers {
        out.push_str(&format!("{name}:{}\n", value.trim()));
    }
    out.push_str(&format!("/{}{}", req.account, req.path));
    let mut query = req.query.to_vec();
    query.sort();
    for (name, value) in query {
        out.push_str(&format!("\n{name}:{value}"));
    }
    out
}

/// The `Authorization` header value for `req` under the base64 `key`.
pub fn authorization(req: &Request<'_>, key_b64: &str) -> Result<String, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(key_b64)
        .map_err(|_| "the account key is not base64".to_string())?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "unusable account key".to_string())?;
    mac.update(string_to_sign(req).as_bytes());
    let sig = engine.encode(mac.finalize().into_bytes());
    Ok(format!("SharedKey {}:{sig}", req.account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_container_string_to_sign() {
        let req = Request {
            method: "PUT",
            account: "devstoreaccount1",
            path: "/devstoreaccount1/box",
            query: &[("restype", "container")],
            ms_headers: &[
                ("x-ms-version", "2021-08-06"),
                ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ],
            content_length: 0,
        };
        assert_eq!(
            string_to_sign(&req),
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n\
             x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/box\nrestype:container"
        );
    }
}
