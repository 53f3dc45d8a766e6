//! The Azure rows, on one Azurite started for the run: our `AzureStore`
//! against raw HTTP with an account SAS (the ceiling),
//! `object_store::azure::MicrosoftAzure` used directly, and OpenDAL's
//! `azblob` service.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::future::BoxFuture;
use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::{ClientOptions, ObjectStore};
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::Sha256;
use storage::azure::shared_key::SharedKey;
use storage::azure::{AzureConfig, AzureStore, ConnectionString};
use storage::{BlobStoreExt, ListOptions};
use storage_testkit::azurite::{Azurite, ACCOUNT, ACCOUNT_KEY};

use crate::measure::{
    self, check_listed, put_then_get, Contender, Fallible, Op, PutGet, Role, Row, Transfer,
};

/// The folder listed by the list row, inside the listing container.
const LIST_PREFIX: &str = "list/";
/// The service version of the raw requests and of the account SAS.
const VERSION: &str = "2021-08-06";

/// Blob `i` of a round.
fn key(i: usize) -> String {
    format!("bench/{i:05}.bin")
}

/// The running Azurite and what every contender needs to reach it.
struct Backend {
    azurite: &'static Azurite,
    /// An account SAS (query string without `?`) for blobs and containers,
    /// computed once: the raw contender signs nothing per request.
    sas: String,
}

impl Backend {
    fn endpoint(&self) -> &str {
        self.azurite.blob_endpoint()
    }

    async fn delete_container(&self, container: &str) -> Fallible<()> {
        delete_container(self.azurite, container).await
    }

    async fn fresh_container(&self) -> Fallible<String> {
        self.azurite
            .fresh_container()
            .await
            .map_err(|e| e.to_string())
    }

    fn ours(&self, container: &str) -> Fallible<AzureStore> {
        let cs = ConnectionString::parse(&self.azurite.connection_string())
            .map_err(|e| format!("ours: Azurite's connection string: {e}"))?;
        let config = AzureConfig::from_connection_string(&cs, container)
            .map_err(|e| format!("ours: configuring container {container}: {e}"))?;
        AzureStore::new(config).map_err(|e| format!("ours: building the store: {e}"))
    }
}

/// Deletes `container` (Shared Key, like the testkit's creation), so that
/// Azurite's in-memory store does not grow round after round.
pub async fn delete_container(azurite: &Azurite, container: &str) -> Fallible<()> {
    let fail = |why: String| format!("deleting container {container}: {why}");
    let url = format!("{}/{container}?restype=container", azurite.blob_endpoint());
    let url = reqwest::Url::parse(&url).map_err(|e| fail(e.to_string()))?;
    let signer = SharedKey::new(ACCOUNT, ACCOUNT_KEY).map_err(|e| fail(e.to_string()))?;
    let mut headers = HeaderMap::new();
    let date = httpdate(std::time::SystemTime::now());
    headers.insert(
        "x-ms-date",
        HeaderValue::from_str(&date).map_err(|e| fail(e.to_string()))?,
    );
    headers.insert("x-ms-version", HeaderValue::from_static(VERSION));
    signer.sign("DELETE", &url, &mut headers);
    let response = reqwest::Client::new()
        .delete(url)
        .headers(headers)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    ok_or_status(format!("deleting container {container}"), response)
        .await
        .map(drop)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) for `x-ms-date`.
fn httpdate(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// An account SAS allowing every blob and container operation on the
/// emulator account for a day. The string to sign is Azure's for service
/// versions from 2020-12-06 on (the encryption scope left empty).
fn account_sas() -> Fallible<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(ACCOUNT_KEY)
        .map_err(|e| format!("the emulator key is not base64: {e}"))?;
    let expiry = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (permissions, services, types, protocol) = ("rwdlac", "b", "sco", "https,http");
    let to_sign = format!(
        "{ACCOUNT}\n{permissions}\n{services}\n{types}\n\n{expiry}\n\n{protocol}\n{VERSION}\n\n"
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|e| format!("HMAC refused the emulator key: {e}"))?;
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let encode = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    Ok(format!(
        "sv={VERSION}&ss={services}&srt={types}&sp={permissions}&se={}&spr={}&sig={}",
        encode(&expiry),
        encode(protocol),
        encode(&signature)
    ))
}

/// Fails with the service's answer unless `response` succeeded.
async fn ok_or_status(what: String, response: reqwest::Response) -> Fallible<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(format!("{what}: HTTP {status}: {}", body.trim()))
}

/// `AzureStore` through the `BlobStore` API.
struct Ours {
    backend: Arc<Backend>,
    fixture: String,
}

impl Contender for Ours {
    fn label(&self) -> String {
        "ours (AzureStore)".into()
    }
    fn role(&self) -> Role {
        Role::Ours
    }
    fn caveat(&self, op: Op, size: usize) -> Option<String> {
        match op {
            // A body in memory up to this size is one Put Blob, as the
            // others send it.
            Op::Put
                if size
                    > storage::azure::config::DEFAULT_PART_SIZE
                        * storage::azure::config::DEFAULT_MAX_CONCURRENCY =>
            {
                Some(
                    "uploads 8 MiB blocks (4 in flight) and commits a block list; the others \
                     send one Put Blob"
                        .into(),
                )
            }
            Op::List => Some(
                "pages of 1000 (the contract's largest page); the others take Azure's 5000".into(),
            ),
            _ => None,
        }
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let container = self.backend.fresh_container().await?;
            let store = Arc::new(self.backend.ours(&container)?);
            let timing = put_then_get(
                store,
                &t,
                |s, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        s.put_bytes(&k, payload)
                            .await
                            .map(drop)
                            .map_err(|e| format!("ours: put {k}: {e}"))
                    })
                },
                |s, i| {
                    Box::pin(async move {
                        let k = key(i);
                        s.get_bytes(&k)
                            .await
                            .map(|b| b.len())
                            .map_err(|e| format!("ours: get {k}: {e}"))
                    })
                },
            )
            .await;
            self.backend.delete_container(&container).await?;
            timing
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let store = self.backend.ours(&self.fixture)?;
            let start = Instant::now();
            let n = store
                .list_all(ListOptions::new().prefix(LIST_PREFIX))
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .map_err(|e| format!("ours: list {LIST_PREFIX}: {e}"))?;
            let took = start.elapsed();
            check_listed("ours", n, expected)?;
            Ok(took)
        })
    }
}

/// Plain reqwest: Put Blob, Get Blob and List Blobs with a precomputed
/// account SAS, no retries, no checks beyond the status.
struct Raw {
    backend: Arc<Backend>,
    fixture: String,
}

/// What one raw request needs.
struct RawClient {
    http: reqwest::Client,
    base: String,
    sas: String,
}

/// The text of every `<tag>…</tag>` in `xml`, without an XML parser: the
/// least a client must do to read a listing.
fn tag_texts<'a>(xml: &'a str, tag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let text = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(text)
    })
}

impl Contender for Raw {
    fn label(&self) -> String {
        "ceiling (reqwest + account SAS)".into()
    }
    fn role(&self) -> Role {
        Role::Ceiling
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        (op == Op::List).then(|| "reads names and sizes by string search, no XML parser".into())
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let container = self.backend.fresh_container().await?;
            let client = Arc::new(RawClient {
                http: reqwest::Client::new(),
                base: format!("{}/{container}", self.backend.endpoint()),
                sas: self.backend.sas.clone(),
            });
            let timing = put_then_get(
                client,
                &t,
                |c, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        let sent = c
                            .http
                            .put(format!("{}/{k}?{}", c.base, c.sas))
                            .header("x-ms-blob-type", "BlockBlob")
                            .header("x-ms-version", VERSION)
                            .header("content-type", "application/octet-stream")
                            .body(payload)
                            .send()
                            .await
                            .map_err(|e| format!("ceiling: put {k}: {e}"))?;
                        ok_or_status(format!("ceiling: put {k}"), sent)
                            .await
                            .map(drop)
                    })
                },
                |c, i| {
                    Box::pin(async move {
                        let k = key(i);
                        let sent = c
                            .http
                            .get(format!("{}/{k}?{}", c.base, c.sas))
                            .header("x-ms-version", VERSION)
                            .send()
                            .await
                            .map_err(|e| format!("ceiling: get {k}: {e}"))?;
                        let response = ok_or_status(format!("ceiling: get {k}"), sent).await?;
                        let body = response
                            .bytes()
                            .await
                            .map_err(|e| format!("ceiling: get {k}: {e}"))?;
                        Ok(body.len())
                    })
                },
            )
            .await;
            self.backend.delete_container(&container).await?;
            timing
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let http = reqwest::Client::new();
            let base = format!(
                "{}/{}?restype=container&comp=list&prefix={}&maxresults=5000&{}",
                self.backend.endpoint(),
                self.fixture,
                LIST_PREFIX,
                self.backend.sas
            );
            let start = Instant::now();
            let mut n = 0;
            let mut marker = String::new();
            loop {
                let url = if marker.is_empty() {
                    base.clone()
                } else {
                    format!("{base}&marker={marker}")
                };
                let sent = http
                    .get(url)
                    .header("x-ms-version", VERSION)
                    .send()
                    .await
                    .map_err(|e| format!("ceiling: list: {e}"))?;
                let xml = ok_or_status("ceiling: list".into(), sent)
                    .await?
                    .text()
                    .await
                    .map_err(|e| format!("ceiling: list: {e}"))?;
                let names: Vec<&str> = tag_texts(&xml, "Name").collect();
                let sizes: u64 = tag_texts(&xml, "Content-Length")
                    .filter_map(|s| s.parse::<u64>().ok())
                    .sum();
                std::hint::black_box(sizes);
                n += names.len();
                marker = tag_texts(&xml, "NextMarker")
                    .next()
                    .map(|m| {
                        percent_encoding::utf8_percent_encode(m, percent_encoding::NON_ALPHANUMERIC)
                            .to_string()
                    })
                    .unwrap_or_default();
                if marker.is_empty() {
                    break;
                }
            }
            let took = start.elapsed();
            check_listed("ceiling", n, expected)?;
            Ok(took)
        })
    }
}

/// `object_store::azure::MicrosoftAzure` used directly, with its defaults.
struct ObjectStoreAzure {
    backend: Arc<Backend>,
    fixture: String,
}

/// object_store's client for `container` on Azurite, with an account key.
fn object_store_client(backend: &Backend, container: &str) -> Fallible<MicrosoftAzure> {
    MicrosoftAzureBuilder::new()
        .with_account(ACCOUNT)
        .with_access_key(ACCOUNT_KEY)
        .with_container_name(container)
        .with_endpoint(backend.endpoint().to_string())
        .with_client_options(ClientOptions::new().with_allow_http(true))
        .build()
        .map_err(|e| format!("object_store: building the Azure client: {e}"))
}

fn os_path(key: &str) -> object_store::path::Path {
    object_store::path::Path::from(key)
}

impl Contender for ObjectStoreAzure {
    fn label(&self) -> String {
        "object_store MicrosoftAzure".into()
    }
    fn role(&self) -> Role {
        Role::ObjectStore
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let container = self.backend.fresh_container().await?;
            let client = Arc::new(object_store_client(&self.backend, &container)?);
            let timing = put_then_get(
                client,
                &t,
                |c, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        c.put(&os_path(&k), payload.into())
                            .await
                            .map(drop)
                            .map_err(|e| format!("object_store: put {k}: {e}"))
                    })
                },
                |c, i| {
                    Box::pin(async move {
                        let k = key(i);
                        let bytes = match c.get(&os_path(&k)).await {
                            Ok(result) => result.bytes().await,
                            Err(e) => Err(e),
                        };
                        bytes
                            .map(|b| b.len())
                            .map_err(|e| format!("object_store: get {k}: {e}"))
                    })
                },
            )
            .await;
            self.backend.delete_container(&container).await?;
            timing
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let client = object_store_client(&self.backend, &self.fixture)?;
            let prefix = os_path(LIST_PREFIX.trim_end_matches('/'));
            let start = Instant::now();
            let n = client
                .list(Some(&prefix))
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .map_err(|e| format!("object_store: list {LIST_PREFIX}: {e}"))?;
            let took = start.elapsed();
            check_listed("object_store", n, expected)?;
            Ok(took)
        })
    }
}

/// OpenDAL's `azblob` service with an account key, on OpenDAL's reqwest
/// transport.
struct OpenDalAzure {
    backend: Arc<Backend>,
    fixture: String,
}

fn opendal_azblob(backend: &Backend, container: &str) -> Fallible<opendal::Operator> {
    let builder = opendal::services::Azblob::default()
        .endpoint(backend.endpoint())
        .account_name(ACCOUNT)
        .account_key(ACCOUNT_KEY)
        .container(container);
    opendal::Operator::new(builder).map_err(|e| format!("OpenDAL: azblob operator: {e}"))
}

impl Contender for OpenDalAzure {
    fn label(&self) -> String {
        "OpenDAL azblob".into()
    }
    fn role(&self) -> Role {
        Role::OpenDal
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let container = self.backend.fresh_container().await?;
            let op = Arc::new(opendal_azblob(&self.backend, &container)?);
            let timing = put_then_get(
                op,
                &t,
                |op, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        op.write(&k, payload)
                            .await
                            .map(drop)
                            .map_err(|e| format!("OpenDAL: write {k}: {e}"))
                    })
                },
                |op, i| {
                    Box::pin(async move {
                        let k = key(i);
                        // `read` may hand back its chunks as they came;
                        // ours and object_store's give one buffer, so
                        // OpenDAL's is joined into one too.
                        op.read(&k)
                            .await
                            .map(|b| b.to_bytes().len())
                            .map_err(|e| format!("OpenDAL: read {k}: {e}"))
                    })
                },
            )
            .await;
            self.backend.delete_container(&container).await?;
            timing
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let op = opendal_azblob(&self.backend, &self.fixture)?;
            let start = Instant::now();
            let entries = op
                .list(LIST_PREFIX)
                .await
                .map_err(|e| format!("OpenDAL: list {LIST_PREFIX}: {e}"))?;
            let n = entries.iter().filter(|e| e.metadata().is_file()).count();
            let took = start.elapsed();
            check_listed("OpenDAL", n, expected)?;
            Ok(took)
        })
    }
}

/// Starts (or finds) Azurite; it may install it from npm first.
pub async fn azurite() -> Fallible<&'static Azurite> {
    tokio::task::spawn_blocking(Azurite::shared)
        .await
        .map_err(|e| format!("starting Azurite: the task died: {e}"))?
        .map_err(|e| e.to_string())
}

/// Runs every Azure row and returns them in report order.
pub async fn run(rounds: usize, quick: bool) -> Fallible<(Vec<Row>, Vec<String>)> {
    let azurite = azurite().await?;
    let backend = Arc::new(Backend {
        azurite,
        sas: account_sas()?,
    });
    let notes = vec![format!(
        "Azure rows run against Azurite (in-memory) at {}; each round and contender gets a fresh \
         container, deleted after it",
        backend.endpoint()
    )];
    let fixture = backend.fresh_container().await?;
    let contenders: Vec<Arc<dyn Contender>> = vec![
        Arc::new(Ours {
            backend: backend.clone(),
            fixture: fixture.clone(),
        }),
        Arc::new(Raw {
            backend: backend.clone(),
            fixture: fixture.clone(),
        }),
        Arc::new(ObjectStoreAzure {
            backend: backend.clone(),
            fixture: fixture.clone(),
        }),
        Arc::new(OpenDalAzure {
            backend: backend.clone(),
            fixture: fixture.clone(),
        }),
    ];
    let mut rows = Vec::new();
    for shape in measure::shapes(quick) {
        let (put, get) = measure::put_get_rows("azure:", &contenders, shape, rounds).await;
        rows.push(put);
        rows.push(get);
    }
    let keys = measure::list_keys(quick);
    eprintln!("  filling the Azure listing container with {keys} blobs");
    measure::fill_listing(
        Arc::new(backend.ours(&fixture)?),
        LIST_PREFIX,
        keys,
        "the listing container",
    )
    .await?;
    rows.push(measure::list_row("azure:", &contenders, keys, rounds).await);
    backend.delete_container(&fixture).await?;
    Ok((rows, notes))
}
