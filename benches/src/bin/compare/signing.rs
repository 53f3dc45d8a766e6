//! Signed URLs per second on one core: our local, Azure and Vercel
//! signers through `BlobStore::signed_url`, object_store's Azure signer,
//! and a bare HMAC-SHA256 of a string of the same size as the floor any
//! HMAC URL signer stands on.
//!
//! Every signer runs on one current-thread runtime in a thread of its own,
//! for [`ROUND`] per round, all of them interleaved round by round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use object_store::azure::MicrosoftAzureBuilder;
use object_store::signer::Signer as _;
use object_store::ClientOptions;
use sha2::Sha256;
use storage::azure::{AzureConfig, AzureStore, ConnectionString};
use storage::local::{LocalConfig, LocalStore};
use storage::{BlobKey, BlobStore, SignMethod, SignOptions, DEFAULT_SIGN_EXPIRY};
use storage_testkit::azurite::{ACCOUNT, ACCOUNT_KEY};

use crate::measure::{Fallible, Op, Role, Row, Series};
use crate::vercel::EmulatorProcess;

/// How long one signer runs in one round.
const ROUND: Duration = Duration::from_millis(300);
/// The key every URL is for.
const KEY: &str = "recordings/2026/11/22/call-0001.webm";
/// The emulator account's endpoint on a port nothing is asked on: Azure
/// SAS signing makes no request.
const AZURE_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

type SignOnce = Arc<dyn Fn() -> BoxFuture<'static, Fallible<()>> + Send + Sync>;

/// One signer and the row it belongs to.
struct Signer {
    row: usize,
    label: &'static str,
    role: Role,
    op: SignOnce,
}

/// `store.signed_url(KEY, GET)` as a repeatable operation.
fn via_trait<S: BlobStore + 'static>(store: S) -> Fallible<SignOnce> {
    let store = Arc::new(store);
    let key = BlobKey::new(KEY).map_err(|e| e.to_string())?;
    let opts = SignOptions::new(SignMethod::Get);
    Ok(Arc::new(move || {
        let (store, key, opts) = (store.clone(), key.clone(), opts.clone());
        Box::pin(async move {
            let signed = store.signed_url(&key, opts).await;
            signed.map(drop).map_err(|e| format!("signing {KEY}: {e}"))
        })
    }))
}

/// The floor: one HMAC-SHA256 over a canonical string as long as a SAS
/// string-to-sign, with the key's pads absorbed once.
fn hmac_floor() -> SignOnce {
    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(b"benchmark-signing-key-0123456789abcdef")
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    let canonical = format!(
        "r\n2026-11-22T10:00:00Z\n2026-11-22T10:15:00Z\n/blob/{ACCOUNT}/bench/{KEY}\n\n\nhttp\n\
         2022-11-02\nb\n\n\n\n\n\n\n"
    );
    Arc::new(move || {
        let mut mac = keyed.clone();
        mac.update(canonical.as_bytes());
        std::hint::black_box(mac.finalize().into_bytes());
        Box::pin(async { Ok(()) })
    })
}

fn signers(vercel: Option<&EmulatorProcess>) -> Fallible<(Vec<Signer>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp folder: {e}"))?;
    let local = LocalConfig::new(dir.path())
        .base_url("https://app.example/blobs")
        .and_then(|c| c.signing_key("benchmark-signing-key-0123456789abcdef"))
        .and_then(LocalStore::new)
        .map_err(|e| format!("local store for signing: {e}"))?;
    let cs = ConnectionString::parse(&format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};\
         BlobEndpoint={AZURE_ENDPOINT};"
    ))
    .map_err(|e| format!("emulator connection string: {e}"))?;
    let azure = AzureConfig::from_connection_string(&cs, "bench")
        .and_then(AzureStore::new)
        .map_err(|e| format!("Azure store for signing: {e}"))?;
    let peer = MicrosoftAzureBuilder::new()
        .with_account(ACCOUNT)
        .with_access_key(ACCOUNT_KEY)
        .with_container_name("bench")
        .with_endpoint(AZURE_ENDPOINT.to_string())
        .with_client_options(ClientOptions::new().with_allow_http(true))
        .build()
        .map_err(|e| format!("object_store Azure client for signing: {e}"))?;
    let peer = Arc::new(peer);
    let path = object_store::path::Path::from(KEY);
    let object_store_op: SignOnce = Arc::new(move || {
        let (peer, path) = (peer.clone(), path.clone());
        Box::pin(async move {
            peer.signed_url(reqwest::Method::GET, &path, DEFAULT_SIGN_EXPIRY)
                .await
                .map(drop)
                .map_err(|e| format!("object_store: signing {KEY}: {e}"))
        })
    });
    let mut list = vec![
        Signer {
            row: 0,
            label: "ours (LocalStore)",
            role: Role::Ours,
            op: via_trait(local)?,
        },
        Signer {
            row: 0,
            label: "floor (one HMAC-SHA256)",
            role: Role::Ceiling,
            op: hmac_floor(),
        },
        Signer {
            row: 1,
            label: "ours (AzureStore, service SAS)",
            role: Role::Ours,
            op: via_trait(azure)?,
        },
        Signer {
            row: 1,
            label: "object_store MicrosoftAzure (Signer)",
            role: Role::ObjectStore,
            op: object_store_op,
        },
        Signer {
            row: 1,
            label: "floor (one HMAC-SHA256)",
            role: Role::Ceiling,
            op: hmac_floor(),
        },
    ];
    if let Some(emulator) = vercel {
        list.push(Signer {
            row: 2,
            label: "ours (VercelStore, presigned URL)",
            role: Role::Ours,
            op: via_trait(emulator.store()?)?,
        });
        list.push(Signer {
            row: 2,
            label: "floor (one HMAC-SHA256)",
            role: Role::Ceiling,
            op: hmac_floor(),
        });
    }
    Ok((list, dir))
}

/// The time of one call of `op`, over [`ROUND`].
async fn per_call(op: &SignOnce) -> Fallible<Duration> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < ROUND {
        for _ in 0..64 {
            op().await?;
        }
        n += 64;
    }
    Ok(Duration::from_secs_f64(
        start.elapsed().as_secs_f64() / n as f64,
    ))
}

/// Measures every signer on this thread, interleaved.
fn measure(signers: &[Signer], rounds: usize) -> Fallible<Vec<Fallible<Vec<Duration>>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the signing runtime: {e}"))?;
    runtime.block_on(async {
        let mut results: Vec<Fallible<Vec<Duration>>> = Vec::new();
        // Warm-up: the first Vercel signature fetches the signing grant.
        for s in signers {
            results.push((s.op)().await.map(|()| Vec::new()));
        }
        for round in 0..rounds {
            for i in (0..signers.len()).map(|i| (i + round) % signers.len()) {
                if let Ok(samples) = &mut results[i] {
                    match per_call(&signers[i].op).await {
                        Ok(d) => samples.push(d),
                        Err(e) => results[i] = Err(e),
                    }
                }
            }
        }
        Ok(results)
    })
}

/// Runs the signing rows. The Vercel signer needs an emulator for its one
/// grant request; the others make no request.
pub async fn run(rounds: usize) -> Fallible<(Vec<Row>, Vec<String>)> {
    let mut notes = vec![format!(
        "signing: GET URLs for one key, valid {} min, through each signer's public call, on \
         one thread; ops/s is per core",
        DEFAULT_SIGN_EXPIRY.as_secs() / 60
    )];
    let emulator = match EmulatorProcess::start().await {
        Ok(e) => Some(e),
        Err(why) => {
            notes.push(format!("Vercel signing row SKIPPED: {why}"));
            None
        }
    };
    let (signers, dir) = signers(emulator.as_ref())?;
    let (signers, results) = tokio::task::spawn_blocking(move || {
        let results = measure(&signers, rounds);
        (signers, results)
    })
    .await
    .map_err(|e| format!("the signing thread died: {e}"))?;
    let results = results?;
    drop(dir);
    let titles = [
        "sign: local URL",
        "sign: Azure SAS (account key)",
        "sign: Vercel presigned URL",
    ];
    let mut rows: Vec<Row> = Vec::new();
    for (row, title) in titles.iter().enumerate() {
        let series: Vec<Series> = signers
            .iter()
            .zip(&results)
            .filter(|(s, _)| s.row == row)
            .map(|(s, r)| Series {
                label: s.label.to_string(),
                role: s.role,
                caveat: None,
                samples: r.clone().unwrap_or_default(),
                // One thread signing without waiting: its time is CPU time.
                cpu: Vec::new(),
                error: r.as_ref().err().cloned(),
            })
            .collect();
        if !series.is_empty() {
            rows.push(Row {
                title: title.to_string(),
                op: Op::Sign,
                size: 0,
                items: 1,
                series,
            });
        }
    }
    Ok((rows, notes))
}
