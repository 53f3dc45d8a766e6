//! Peak memory of one large streamed put and get through each of our
//! adapters. Each measurement runs in a child process of its own (this
//! program under a hidden subcommand), so the peak (`VmHWM` in
//! `/proc/self/status`) is that operation's alone. The body is generated
//! piece by piece as it is sent, each piece a fresh allocation, so an
//! adapter that holds on to pieces shows it; the read drops each piece
//! once counted.

use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use storage::azure::{AzureConfig, AzureStore, ConnectionString};
use storage::local::{LocalConfig, LocalStore};
use storage::{BlobStore, BlobStoreExt, Body, GetOptions, PutOptions};
use tokio::process::Command;

use crate::azure;
use crate::measure::Fallible;
use crate::vercel::{self, EmulatorProcess};

/// The hidden subcommand: `__rss <put|get> <MiB> <adapter> <adapter args…>`.
pub const SUBCOMMAND: &str = "__rss";
/// The key of the large blob.
const KEY: &str = "rss/large.bin";
/// Size of each generated piece of the body.
const PIECE: usize = 1 << 20;
/// How long one child may take.
const CHILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// One measured operation.
#[derive(Debug, Clone)]
pub struct RssLine {
    /// `local`, `azure` or `vercel`.
    pub adapter: &'static str,
    /// `put` or `get`.
    pub op: &'static str,
    /// Bytes moved.
    pub bytes: u64,
    /// `VmHWM` once the store was built, before the operation, in KiB.
    pub before_kib: u64,
    /// `VmHWM` after the operation, in KiB.
    pub peak_kib: u64,
    /// How long the operation took.
    pub took: Duration,
    /// Why there is no measurement, if there is none.
    pub error: Option<String>,
}

impl RssLine {
    fn failed(adapter: &'static str, op: &'static str, why: String) -> RssLine {
        RssLine {
            adapter,
            op,
            bytes: 0,
            before_kib: 0,
            peak_kib: 0,
            took: Duration::ZERO,
            error: Some(why),
        }
    }
}

/// This process's peak resident set (`VmHWM`), in KiB.
fn vm_hwm_kib() -> Fallible<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "/proc/self/status has no VmHWM line".to_string())
}

/// The store a child measures, from its adapter arguments.
fn child_store(adapter: &str, args: &[String]) -> Fallible<Arc<dyn BlobStore>> {
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or_else(|| format!("{SUBCOMMAND} {adapter}: argument {} is missing", i + 1))
    };
    match adapter {
        "local" => {
            let store = LocalStore::new(LocalConfig::new(arg(0)?))
                .map_err(|e| format!("local store: {e}"))?;
            Ok(Arc::new(store))
        }
        "azure" => {
            let cs =
                ConnectionString::parse(&arg(0)?).map_err(|e| format!("connection string: {e}"))?;
            let store = AzureConfig::from_connection_string(&cs, arg(1)?)
                .and_then(AzureStore::new)
                .map_err(|e| format!("Azure store: {e}"))?;
            Ok(Arc::new(store))
        }
        "vercel" => Ok(Arc::new(vercel::store_at(&arg(0)?, &arg(1)?)?)),
        other => Err(format!("{SUBCOMMAND}: unknown adapter {other}")),
    }
}

async fn child_op(op: &str, mib: u64, store: Arc<dyn BlobStore>) -> Fallible<Value> {
    let before = vm_hwm_kib()?;
    let start = Instant::now();
    let bytes = match op {
        "put" => {
            let pieces = futures::stream::iter(0..mib).map(|_| {
                let mut piece = vec![0u8; PIECE];
                fastrand::fill(&mut piece);
                Ok(Bytes::from(piece))
            });
            let body = Body::from_stream(pieces, None);
            let key = store.key(KEY).map_err(|e| e.to_string())?;
            let meta = store
                .put(&key, body, PutOptions::new())
                .await
                .map_err(|e| format!("put {KEY}: {e}"))?;
            meta.size
        }
        "get" => {
            let key = store.key(KEY).map_err(|e| e.to_string())?;
            let blob = store
                .get(&key, GetOptions::new())
                .await
                .map_err(|e| format!("get {KEY}: {e}"))?;
            let mut body = blob.into_stream();
            let mut n = 0u64;
            while let Some(piece) = body.next().await {
                n += piece.map_err(|e| format!("reading {KEY}: {e}"))?.len() as u64;
            }
            n
        }
        other => return Err(format!("{SUBCOMMAND}: unknown operation {other}")),
    };
    let took = start.elapsed();
    Ok(json!({
        "before_kib": before,
        "peak_kib": vm_hwm_kib()?,
        "bytes": bytes,
        "secs": took.as_secs_f64(),
    }))
}

/// `__rss <put|get> <MiB> <adapter> <args…>`: one measurement, printed
/// as one JSON line.
pub fn child_main(args: &[String]) -> ExitCode {
    let outcome = (|| {
        let [op, mib, adapter, rest @ ..] = args else {
            return Err(format!(
                "usage: {SUBCOMMAND} <put|get> <MiB> <local|azure|vercel> <args…>"
            ));
        };
        let mib: u64 = mib
            .parse()
            .map_err(|e| format!("{SUBCOMMAND}: bad size {mib}: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a runtime: {e}"))?;
        runtime.block_on(async {
            let store = child_store(adapter, rest)?;
            child_op(op, mib, store).await
        })
    })();
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("{why}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one child and reads its report.
async fn child(op: &'static str, mib: u64, adapter: &'static str, args: &[String]) -> RssLine {
    let outcome = async {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to run a child: {e}"))?;
        let run = Command::new(exe)
            .arg(SUBCOMMAND)
            .arg(op)
            .arg(mib.to_string())
            .arg(adapter)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(CHILD_TIMEOUT, run)
            .await
            .map_err(|_| format!("the child did not finish within {CHILD_TIMEOUT:?}"))?
            .map_err(|e| format!("cannot run the child: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the child failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("unreadable child report {text:?}: {e}"))?;
        let number = |field: &str| {
            report
                .get(field)
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("the child report {report} has no `{field}`"))
        };
        Ok(RssLine {
            adapter,
            op,
            bytes: number("bytes")? as u64,
            before_kib: number("before_kib")? as u64,
            peak_kib: number("peak_kib")? as u64,
            took: Duration::from_secs_f64(number("secs")?),
            error: None,
        })
    };
    outcome
        .await
        .unwrap_or_else(|why| RssLine::failed(adapter, op, why))
}

/// A put child, then (if it worked) a get child reading what it wrote.
async fn put_then_get(adapter: &'static str, mib: u64, args: &[String]) -> Vec<RssLine> {
    eprintln!("  rss: {adapter} put and get of {mib} MiB");
    let put = child("put", mib, adapter, args).await;
    let get = match &put.error {
        None => child("get", mib, adapter, args).await,
        Some(_) => RssLine::failed(adapter, "get", "skipped: the put failed".into()),
    };
    vec![put, get]
}

/// Measures each adapter; a backend that cannot be had is reported as a
/// failed line, and the others still run.
pub async fn run(quick: bool) -> Fallible<(Vec<RssLine>, u64, Vec<String>)> {
    let mib = if quick { 64 } else { 1024 };
    let mut lines = Vec::new();
    let notes = vec![format!(
        "rss: a {mib} MiB blob, generated in 1 MiB pieces of unknown total length, put through \
         each of our adapters by a child process, then read back as a stream by another; the \
         peak is that child's VmHWM, the baseline its VmHWM before the operation"
    )];

    let dir = tempfile::Builder::new()
        .prefix("compare-rss-")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch folder: {e}"))?;
    let root = dir.path().join("store").to_string_lossy().into_owned();
    lines.extend(put_then_get("local", mib, &[root]).await);
    drop(dir);

    match azure::azurite().await {
        Ok(azurite) => match azurite.fresh_container().await {
            Ok(container) => {
                let args = [azurite.connection_string(), container.clone()];
                lines.extend(put_then_get("azure", mib, &args).await);
                if let Err(e) = azure::delete_container(azurite, &container).await {
                    eprintln!("  rss: {e}");
                }
            }
            Err(e) => lines.push(RssLine::failed("azure", "put", e.to_string())),
        },
        Err(why) => lines.push(RssLine::failed("azure", "put", why)),
    }

    match EmulatorProcess::start().await {
        Ok(emulator) => {
            let args = [emulator.api_url.clone(), emulator.blob_host_url.clone()];
            lines.extend(put_then_get("vercel", mib, &args).await);
        }
        Err(why) => lines.push(RssLine::failed("vercel", "put", why)),
    }
    Ok((lines, mib, notes))
}
