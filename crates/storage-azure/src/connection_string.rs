//! Parsing Azure Storage connection strings (`Name=value;Name=value`).
//!
//! Recognised names (case-insensitive): `AccountName`, `AccountKey`,
//! `BlobEndpoint`, `DefaultEndpointsProtocol`, `EndpointSuffix`,
//! `SharedAccessSignature` and `UseDevelopmentStorage=true`, which stands for
//! Azurite's well-known `devstoreaccount1` account on
//! `http://127.0.0.1:10000/devstoreaccount1`. Endpoints of other services
//! (`QueueEndpoint`, `TableEndpoint`, `FileEndpoint`) are ignored. Values are
//! kept in [`Secret`] where they are credentials, and no error message ever
//! repeats a value.

use std::fmt;

use storage_core::redact::Secret;

/// Azurite's documented development account.
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// Azurite's documented development account key. It is public by design:
/// it only opens the local emulator.
pub const EMULATOR_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's default blob endpoint, account included (path-style addressing).
pub const EMULATOR_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// The fields of a connection string that matter to the blob service.
///
/// ```
/// use storage_azure::ConnectionString;
/// let cs = ConnectionString::parse(
///     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows.net",
/// ).unwrap();
/// assert_eq!(cs.account_name(), "acme");
/// assert_eq!(cs.blob_endpoint(), "https://acme.blob.core.windows.net");
/// assert!(format!("{cs:?}").contains("[redacted]"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    account_name: String,
    account_key: Option<Secret<String>>,
    sas: Option<Secret<String>>,
    blob_endpoint: String,
    development: bool,
}

impl ConnectionString {
    /// Parses `text`; the error says what is wrong without quoting any value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut fields = Fields::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("`{}` is not a `Name=value` pair", name_only(part)));
            };
            fields.set(name.trim(), value.trim())?;
        }
        fields.resolve()
    }

    /// The storage account.
    pub fn account_name(&self) -> &str {
        &self.account_name
    }

    /// The account key, when the string has one (or is the emulator's).
    pub fn account_key(&self) -> Option<&Secret<String>> {
        self.account_key.as_ref()
    }

    /// The SAS token (without a leading `?`), when the string has one.
    pub fn shared_access_signature(&self) -> Option<&Secret<String>> {
        self.sas.as_ref()
    }

    /// The blob service URL, without a trailing `/`.
    pub fn blob_endpoint(&self) -> &str {
        &self.blob_endpoint
    }

    /// Whether this is `UseDevelopmentStorage=true`.
    pub fn is_development_storage(&self) -> bool {
        self.development
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("account_name", &self.account_name)
            .field("account_key", &self.account_key)
            .field("sas", &self.sas)
            .field("blob_endpoint", &self.blob_endpoint)
            .field("development", &self.development)
            .finish()
    }
}

/// A part without `=` might be a pasted secret: show at most a short,
/// recognisable head of it, never the whole.
fn name_only(part: &str) -> String {
    let head: String = part.chars().take(16).collect();
    if head.chars().all(|c| c.is_ascii_alphabetic()) {
        head
    } else {
        "[redacted]".into()
    }
}

#[derive(Default)]
struct Fields {
    account_name: Option<String>,
    account_key: Option<String>,
    sas: Option<String>,
    blob_endpoint: Option<String>,
    protocol: Option<String>,
    suffix: Option<String>,
    development: Option<bool>,
}

impl Fields {
    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let slot = match name.to_ascii_lowercase().as_str() {
            "accountname" => &mut self.account_name,
            "accountkey" => &mut self.account_key,
            "sharedaccesssignature" => &mut self.sas,
            "blobendpoint" => &mut self.blob_endpoint,
            "defaultendpointsprotocol" => &mut self.protocol,
            "endpointsuffix" => &mut self.suffix,
            "usedevelopmentstorage" => {
                if self.development.is_some() {
                    return Err("`UseDevelopmentStorage` appears twice".into());
                }
                self.development = Some(match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err("`UseDevelopmentStorage` must be `true` or `false`".into()),
                });
                return Ok(());
            }
            // Other services' endpoints and settings do not concern blobs.
            "queueendpoint" | "tableendpoint" | "fileendpoint" | "developmentstorageproxyuri" => {
                return Ok(())
            }
            _ => {
                return Err(format!(
                    "unknown field `{}`; expected AccountName, AccountKey, BlobEndpoint, \
                     DefaultEndpointsProtocol, EndpointSuffix, SharedAccessSignature or \
                     UseDevelopmentStorage",
                    name_only(name)
                ))
            }
        };
        if slot.is_some() {
            return Err(format!("`{name}` appears twice"));
        }
        if value.is_empty() {
            return Err(format!("`{name}` has an empty value"));
        }
        *slot = Some(value.to_string());
        Ok(())
    }

    fn resolve(self) -> Result<ConnectionString, String> {
        if self.development == Some(true) {
            return Ok(ConnectionString {
                account_name: self
                    .account_name
                    .unwrap_or_else(|| EMULATOR_ACCOUNT.to_string()),
                account_key: Some(Secret::new(
                    self.account_key
                        .unwrap_or_else(|| EMULATOR_ACCOUNT_KEY.to_string()),
                )),
                sas: self.sas.map(Secret::new),
                blob_endpoint: self
                    .blob_endpoint
                    .map(|e| e.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| EMULATOR_BLOB_ENDPOINT.to_string()),
                development: true,
            });
        }
        if self.account_key.is_some() && self.sas.is_some() {
            return Err("give either AccountKey or SharedAccessSignature, not both".into());
        }
        let blob_endpoint = match (&self.blob_endpoint, &self.account_name) {
            (Some(endpoint), _) => {
                let parsed = url::Url::parse(endpoint)
                    .map_err(|e| format!("BlobEndpoint is not a URL: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err("BlobEndpoint must be an http or https URL".into());
                }
                endpoint.trim_end_matches('/').to_string()
            }
            (None, Some(account)) => {
                let protocol = self.protocol.as_deref().unwrap_or("https");
                if !matches!(protocol, "http" | "https") {
                    return Err("DefaultEndpointsProtocol must be `http` or `https`".into());
                }
                let suffix = self.suffix.as_deref().unwrap_or("core.windows.net");
                format!("{protocol}://{account}.blob.{suffix}")
            }
            (None, None) => return Err("AccountName (or BlobEndpoint) is missing".into()),
        };
        let account_name = match self.account_name {
            Some(name) => name,
            None => account_from_endpoint(&blob_endpoint)
                .ok_or("AccountName is missing and cannot be read from BlobEndpoint")?,
        };
        if self.account_key.is_none() && self.sas.is_none() {
            return Err(
                "neither AccountKey nor SharedAccessSignature is given; without a secret, \
                 set AZURE_STORAGE_ACCOUNT_NAME alone to use managed or workload identity"
                    .into(),
            );
        }
        Ok(ConnectionString {
            account_name,
            account_key: self.account_key.map(Secret::new),
            sas: self
                .sas
                .map(|s| Secret::new(s.trim_start_matches('?').to_string())),
            blob_endpoint,
            development: false,
        })
    }
}

/// `https://acme.blob.core.windows.net` → `acme`; path-style emulator
/// endpoints (`http://host:port/acme`) carry the account in the path.
fn account_from_endpoint(endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    if let Some(first) = url.path_segments()?.find(|s| !s.is_empty()) {
        return Some(first.to_string());
    }
    let host = url.host_str()?;
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    host.split('.').next().map(str::to_string)
}
