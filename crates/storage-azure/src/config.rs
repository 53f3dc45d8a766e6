//! Configuration: environment variables or a connection string, turned into
//! a validated [`AzureConfig`] before any request is made.
//!
//! | variable | meaning |
//! |---|---|
//! | `AZURE_STORAGE_CONNECTION_STRING` | full connection string; wins over the rest |
//! | `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY` | account and key |
//! | `AZURE_STORAGE_CONTAINER_NAME` | container, default `recordings` |
//! | `AZURE_STORAGE_USE_EMULATOR` | `true` to talk to Azurite |
//! | `AZURITE_BLOB_STORAGE_URL` | where Azurite listens (default `http://127.0.0.1:10000`); implies the emulator |
//! | `AZURE_STORAGE_ENDPOINT` | the blob endpoint of a named account, if not `https://{account}.blob.core.windows.net` |
//!
//! With an account name and no key, requests authenticate through
//! object_store's credential chain: workload identity (`AZURE_CLIENT_ID`,
//! `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`), a service principal
//! (`AZURE_CLIENT_SECRET`), the Azure CLI (`AZURE_USE_AZURE_CLI=true`), or
//! else the managed identity of the host. `AZURE_AUTHORITY_HOST` names the
//! Entra ID authority of a sovereign cloud.

use std::fmt;

use base64::Engine;
use object_store::azure::MicrosoftAzureBuilder;
use storage_core::redact::{redact_url, Secret};
use storage_core::retry::RetryPolicy;
use storage_core::{Error, Result};

use crate::connection_string::{ConnectionString, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY};

/// `AZURE_STORAGE_CONNECTION_STRING`.
pub const CONNECTION_STRING: &str = "AZURE_STORAGE_CONNECTION_STRING";
/// `AZURE_STORAGE_ACCOUNT_NAME`.
pub const ACCOUNT_NAME: &str = "AZURE_STORAGE_ACCOUNT_NAME";
/// `AZURE_STORAGE_ACCOUNT_KEY`.
pub const ACCOUNT_KEY: &str = "AZURE_STORAGE_ACCOUNT_KEY";
/// `AZURE_STORAGE_CONTAINER_NAME`.
pub const CONTAINER_NAME: &str = "AZURE_STORAGE_CONTAINER_NAME";
/// `AZURE_STORAGE_USE_EMULATOR`.
pub const USE_EMULATOR: &str = "AZURE_STORAGE_USE_EMULATOR";
/// `AZURITE_BLOB_STORAGE_URL`.
pub const AZURITE_URL: &str = "AZURITE_BLOB_STORAGE_URL";
/// The blob endpoint of an account configured by name, where it is not
/// `https://{account}.blob.core.windows.net` (a sovereign cloud, a private
/// endpoint, a proxy).
pub const ENDPOINT: &str = "AZURE_STORAGE_ENDPOINT";

/// The container used when `AZURE_STORAGE_CONTAINER_NAME` is unset.
pub const DEFAULT_CONTAINER: &str = "recordings";
/// Default size of one block of a streamed upload.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// Default number of blocks uploaded at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
/// Azure's smallest useful block; smaller parts only multiply requests.
const MIN_PART_SIZE: usize = 64 << 10;
/// Azure's largest block (4000 MiB); a part is held in memory, so far less is sensible.
const MAX_PART_SIZE: usize = 4000 << 20;

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum AzureCredentials {
    /// Shared Key with the account key; signed URLs are service SAS.
    AccountKey(Secret<String>),
    /// A fixed SAS token (query string without `?`); no signed URLs.
    Sas(Secret<String>),
    /// Microsoft Entra ID tokens from object_store's credential chain;
    /// signed URLs are user-delegation SAS.
    TokenChain(IdentitySettings),
}

impl fmt::Debug for AzureCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AzureCredentials::AccountKey(k) => f.debug_tuple("AccountKey").field(k).finish(),
            AzureCredentials::Sas(s) => f.debug_tuple("Sas").field(s).finish(),
            AzureCredentials::TokenChain(i) => f.debug_tuple("TokenChain").field(i).finish(),
        }
    }
}

/// Settings for the token chain, read from the standard Azure identity
/// variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentitySettings {
    /// `AZURE_CLIENT_ID`: the app or user-assigned identity.
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `AZURE_FEDERATED_TOKEN_FILE`: workload identity.
    pub federated_token_file: Option<String>,
    /// `AZURE_CLIENT_SECRET`: a service principal.
    pub client_secret: Option<Secret<String>>,
    /// `AZURE_USE_AZURE_CLI`: take tokens from `az`.
    pub use_azure_cli: bool,
    /// `AZURE_AUTHORITY_HOST`: the Entra ID authority for a sovereign
    /// cloud (default `https://login.microsoftonline.com`).
    pub authority_host: Option<String>,
}

impl IdentitySettings {
    /// Hands these settings to object_store's credential chain: the one
    /// place that maps them, shared by the adapter and `storage-infra`.
    pub(crate) fn configure(&self, mut builder: MicrosoftAzureBuilder) -> MicrosoftAzureBuilder {
        if let Some(id) = &self.client_id {
            builder = builder.with_client_id(id.clone());
        }
        if let Some(tenant) = &self.tenant_id {
            builder = builder.with_tenant_id(tenant.clone());
        }
        if let Some(file) = &self.federated_token_file {
            builder = builder.with_federated_token_file(file.clone());
        }
        if let Some(secret) = &self.client_secret {
            builder = builder.with_client_secret(secret.expose().clone());
        }
        if let Some(host) = &self.authority_host {
            builder = builder.with_authority_host(host.clone());
        }
        builder.with_use_azure_cli(self.use_azure_cli)
    }
}

/// Validated settings for an [`AzureStore`](crate::AzureStore).
///
/// ```
/// use storage_azure::AzureConfig;
/// let config = AzureConfig::from_lookup(|var| match var {
///     "AZURE_STORAGE_CONNECTION_STRING" => Some("UseDevelopmentStorage=true".to_string()),
///     "AZURE_STORAGE_CONTAINER_NAME" => Some("invoices".to_string()),
///     _ => None,
/// })?;
/// assert_eq!(config.account(), "devstoreaccount1");
/// assert_eq!(config.container(), "invoices");
/// assert!(config.is_emulator());
/// assert!(!format!("{config:?}").contains("Eby8"));
/// # Ok::<(), storage_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AzureConfig {
    account: String,
    container: String,
    endpoint: String,
    credentials: AzureCredentials,
    emulator: bool,
    part_size: usize,
    max_concurrency: usize,
    retry: RetryPolicy,
}

impl AzureConfig {
    /// Reads the process environment (see the [module docs](self)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads variables through `lookup`, so tests and the `storage` facade
    /// can configure a store without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let retry = RetryPolicy::from_lookup(&lookup)?;
        Self::settings_from_lookup(lookup).map(|config| config.with_retry(retry))
    }

    fn settings_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let container = match get(CONTAINER_NAME) {
            Some(name) => name.trim().to_string(),
            None => DEFAULT_CONTAINER.to_string(),
        };
        validate_container(&container).map_err(|reason| Error::config(CONTAINER_NAME, reason))?;

        let use_emulator = match get(USE_EMULATOR) {
            Some(v) => Some(parse_bool(&v).ok_or_else(|| {
                Error::config(USE_EMULATOR, "must be `true` or `false` (or 1/0)")
            })?),
            None => None,
        };
        let azurite_url = get(AZURITE_URL);

        if let Some(cs) = get(CONNECTION_STRING) {
            let parsed = ConnectionString::parse(&cs).map_err(|reason| {
                Error::config(
                    CONNECTION_STRING,
                    format!("malformed connection string: {reason}"),
                )
            })?;
            return Self::from_connection_string(&parsed, container);
        }

        let emulator = use_emulator.unwrap_or(azurite_url.is_some());
        let key = get(ACCOUNT_KEY);
        if emulator {
            let base = azurite_url.unwrap_or_else(|| "http://127.0.0.1:10000".to_string());
            let account = get(ACCOUNT_NAME).unwrap_or_else(|| EMULATOR_ACCOUNT.to_string());
            let endpoint = emulator_endpoint(&base, &account)?;
            let key = key.unwrap_or_else(|| EMULATOR_ACCOUNT_KEY.to_string());
            check_key(&key)?;
            return Ok(Self::assemble(
                account,
                container,
                endpoint,
                AzureCredentials::AccountKey(Secret::new(key)),
                true,
            ));
        }

        let Some(account) = get(ACCOUNT_NAME) else {
            let reason = if key.is_some() {
                "AZURE_STORAGE_ACCOUNT_KEY is set but the account name is not; set both"
            } else {
                "no Azure storage account configured: set AZURE_STORAGE_CONNECTION_STRING, or \
                 AZURE_STORAGE_ACCOUNT_NAME (with AZURE_STORAGE_ACCOUNT_KEY, or alone for \
                 managed/workload identity), or AZURE_STORAGE_USE_EMULATOR=true for Azurite"
            };
            return Err(Error::config(ACCOUNT_NAME, reason));
        };
        validate_account(&account).map_err(|reason| Error::config(ACCOUNT_NAME, reason))?;
        let endpoint = match get(ENDPOINT) {
            Some(endpoint) => {
                let parsed = url::Url::parse(&endpoint).map_err(|e| {
                    Error::config(ENDPOINT, format!("not a URL ({e}); expected e.g. https://{account}.blob.core.chinacloudapi.cn"))
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(Error::config(
                        ENDPOINT,
                        "expected an http(s) URL with a host",
                    ));
                }
                endpoint.trim_end_matches('/').to_string()
            }
            None => format!("https://{account}.blob.core.windows.net"),
        };
        let credentials = match key {
            Some(key) => {
                check_key(&key)?;
                AzureCredentials::AccountKey(Secret::new(key))
            }
            None => AzureCredentials::TokenChain(IdentitySettings {
                client_id: get("AZURE_CLIENT_ID"),
                tenant_id: get("AZURE_TENANT_ID"),
                federated_token_file: get("AZURE_FEDERATED_TOKEN_FILE"),
                client_secret: get("AZURE_CLIENT_SECRET").map(Secret::new),
                use_azure_cli: get("AZURE_USE_AZURE_CLI")
                    .and_then(|v| parse_bool(&v))
                    .unwrap_or(false),
                authority_host: get("AZURE_AUTHORITY_HOST"),
            }),
        };
        Ok(Self::assemble(
            account,
            container,
            endpoint,
            credentials,
            false,
        ))
    }

    /// Settings from a parsed connection string and a container name.
    pub fn from_connection_string(
        cs: &ConnectionString,
        container: impl Into<String>,
    ) -> Result<Self> {
        let container = container.into();
        validate_container(&container).map_err(|reason| Error::config(CONTAINER_NAME, reason))?;
        let credentials = match (cs.account_key(), cs.shared_access_signature()) {
            (Some(key), _) => {
                check_key(key.expose()).map_err(|_| {
                    Error::config(CONNECTION_STRING, "AccountKey is not valid base64")
                })?;
                AzureCredentials::AccountKey(key.clone())
            }
            (None, Some(sas)) => AzureCredentials::Sas(sas.clone()),
            (None, None) => {
                return Err(Error::config(
                    CONNECTION_STRING,
                    "the connection string has neither AccountKey nor SharedAccessSignature",
                ))
            }
        };
        let emulator = cs.is_development_storage() || cs.blob_endpoint().starts_with("http://");
        Ok(Self::assemble(
            cs.account_name().to_string(),
            container,
            cs.blob_endpoint().to_string(),
            credentials,
            emulator,
        ))
    }

    fn assemble(
        account: String,
        container: String,
        endpoint: String,
        credentials: AzureCredentials,
        emulator: bool,
    ) -> Self {
        AzureConfig {
            account,
            container,
            endpoint,
            credentials,
            emulator,
            part_size: DEFAULT_PART_SIZE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the retry and timeout policy (by default the one the
    /// `BLOB_STORAGE_*` variables describe, see [`storage_core::retry`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry and timeout policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Uses `container` instead (validated against Azure's naming rules).
    pub fn with_container(mut self, container: impl Into<String>) -> Result<Self> {
        let container = container.into();
        validate_container(&container).map_err(|reason| Error::config(CONTAINER_NAME, reason))?;
        self.container = container;
        Ok(self)
    }

    /// Sets the block size of streamed uploads (64 KiB ..= 4000 MiB). A
    /// body that fits in one block is sent as a single request; each block
    /// in flight is held in memory, so memory use is about
    /// `part_size * (max_concurrency + 1)`.
    pub fn with_part_size(mut self, bytes: usize) -> Result<Self> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&bytes) {
            return Err(Error::config(
                "part_size",
                format!("must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, was {bytes}"),
            ));
        }
        self.part_size = bytes;
        Ok(self)
    }

    /// Sets how many blocks of one upload are sent at once (1 ..= 64).
    pub fn with_max_concurrency(mut self, n: usize) -> Result<Self> {
        if !(1..=64).contains(&n) {
            return Err(Error::config(
                "max_concurrency",
                format!("must be 1 to 64, was {n}"),
            ));
        }
        self.max_concurrency = n;
        Ok(self)
    }

    /// The storage account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The container.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The blob service URL (account included for the emulator), no trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How requests authenticate.
    pub fn credentials(&self) -> &AzureCredentials {
        &self.credentials
    }

    /// Whether this talks to Azurite (or another plain-http endpoint), where
    /// signed URLs may use `http`.
    pub fn is_emulator(&self) -> bool {
        self.emulator
    }

    /// Block size of streamed uploads.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// Blocks of one upload sent at once.
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("account", &self.account)
            .field("container", &self.container)
            .field("endpoint", &redact_url(&self.endpoint))
            .field("credentials", &self.credentials)
            .field("emulator", &self.emulator)
            .field("part_size", &self.part_size)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn check_key(key: &str) -> Result<()> {
    match base64::engine::general_purpose::STANDARD.decode(key.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(()),
        _ => Err(Error::config(
            ACCOUNT_KEY,
            "is not a base64 account key (copy key1 or key2 from the storage account's Access keys)",
        )),
    }
}

/// Azurite serves accounts path-style: `http://host:port/<account>`.
fn emulator_endpoint(base: &str, account: &str) -> Result<String> {
    let url = url::Url::parse(base).map_err(|e| {
        Error::config(
            AZURITE_URL,
            format!("`{}` is not a URL: {e}", redact_url(base)),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(AZURITE_URL, "must be an http or https URL"));
    }
    let base = base.trim_end_matches('/');
    if url.path().trim_matches('/').is_empty() {
        Ok(format!("{base}/{account}"))
    } else {
        Ok(base.to_string())
    }
}

/// Storage account names: 3–24 lowercase letters and digits.
fn validate_account(name: &str) -> std::result::Result<(), String> {
    let ok = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a storage account name (3-24 lowercase letters and digits)",
            name.escape_debug()
        ))
    }
}

/// Azure container naming rules: 3–63 characters of lowercase letters,
/// digits and `-`, starting and ending with a letter or digit, no `--`.
///
/// ```
/// use storage_azure::validate_container;
/// assert!(validate_container("recordings-2024").is_ok());
/// for bad in ["ab", "Upper", "-lead", "trail-", "dou--ble", "under_score"] {
///     assert!(validate_container(bad).is_err(), "{bad}");
/// }
/// ```
pub fn validate_container(name: &str) -> std::result::Result<(), String> {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let why = if !(3..=63).contains(&name.len()) {
        Some("must be 3 to 63 characters long")
    } else if !bytes.iter().all(|&b| alnum(b) || b == b'-') {
        Some("may hold only lowercase letters, digits and `-`")
    } else if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        Some("must start and end with a letter or digit")
    } else if name.contains("--") {
        Some("must not contain `--`")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(format!(
            "`{}` is not a valid container name: it {why}",
            name.escape_debug()
        )),
    }
}
