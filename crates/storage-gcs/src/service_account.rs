//! A service-account key: the JSON file Google hands out
//! (`"type": "service_account"`, `client_email`, `private_key` as PKCS#8
//! PEM). It is checked when read, so a damaged key fails at start-up,
//! naming the variable, and never later at the first signature.

use std::fmt;

use base64::Engine;
use ring::signature::RsaKeyPair;
use serde::Deserialize;
use storage_core::redact::Secret;

/// A parsed service-account key. `Debug` shows the account, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountKey {
    client_email: String,
    private_key_id: Option<String>,
    project_id: Option<String>,
    /// The PKCS#8 DER of the private key.
    der: Secret<Vec<u8>>,
    /// The JSON as given, for object_store's token exchange.
    json: Secret<String>,
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    project_id: Option<String>,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &self.der)
            .finish()
    }
}

impl ServiceAccountKey {
    /// Parses the key file's JSON. The error says what is wrong, without
    /// quoting the key.
    pub fn parse(json: &str) -> Result<ServiceAccountKey, String> {
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            format!(
                "not a service-account key file: the JSON does not parse (line {}, column {}); \
                 download a key with `gcloud iam service-accounts keys create`",
                e.line(),
                e.column()
            )
        })?;
        if let Some(kind) = file.kind.as_deref() {
            if kind != "service_account" {
                return Err(format!(
                    "the key file is of type `{kind}`, not `service_account`"
                ));
            }
        }
        let client_email = file
            .client_email
            .filter(|e| !e.trim().is_empty())
            .ok_or("the key file has no `client_email`")?;
        let pem = file
            .private_key
            .filter(|k| !k.trim().is_empty())
            .ok_or("the key file has no `private_key`")?;
        let der = pem_to_der(&pem)?;
        RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("`private_key` is not a usable RSA key in PKCS#8 form ({e})"))?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id: file.private_key_id,
            project_id: file.project_id.filter(|p| !p.trim().is_empty()),
            der: Secret::new(der),
            json: Secret::new(json.to_string()),
        })
    }

    /// The account's e-mail, the signer named in V4 signed URLs.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The project the key belongs to (`project_id`), when the file names one.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The key pair, for the one place that signs.
    pub(crate) fn key_pair(&self) -> Result<RsaKeyPair, String> {
        RsaKeyPair::from_pkcs8(self.der.expose()).map_err(|e| format!("the RSA key: {e}"))
    }

    /// The key file's JSON, for object_store's token exchange.
    pub(crate) fn json(&self) -> &str {
        self.json.expose()
    }
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN).ok_or(
        "`private_key` is not a PEM `BEGIN PRIVATE KEY` block (PKCS#8), as Google's key files hold",
    )?;
    let body = &pem[start + BEGIN.len()..];
    let end = body
        .find(END)
        .ok_or("`private_key` has no `END PRIVATE KEY` line")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "`private_key` holds invalid base64".to_string())
}
