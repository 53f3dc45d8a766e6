//! The Vercel rows: our `VercelStore` against the official JS SDK, both on
//! one Vercel Blob emulator that runs in a child process of its own (this
//! program under a hidden subcommand), so that neither client shares a
//! process, or a runtime, with the server.

use std::io::{Read, Write};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::TryStreamExt;
use storage::vercel::{Access, VercelConfig, VercelStore};
use storage::{BlobStoreExt, ListOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::js_sdk::JsSdk;
use crate::measure::{
    self, check_listed, put_then_get, Contender, Fallible, Op, PutGet, Role, Row, Transfer,
};

/// The hidden subcommand that runs the emulator.
pub const EMULATOR_SUBCOMMAND: &str = "__vercel-emulator";
/// The emulator's read-write token (store `benchstore`); it opens nothing
/// but the emulator.
pub const TOKEN: &str = "vercel_blob_rw_benchstore_comparebenchsecret";
/// The folder listed by the list row.
pub const LIST_PREFIX: &str = "list/";
/// How long the emulator may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Blob `i` of the round tagged `tag`.
pub fn key(tag: &str, i: usize) -> String {
    format!("{tag}/{i:05}.bin")
}

/// `__vercel-emulator`: serves an in-memory emulator on a loopback port,
/// prints `<api url> <blob host url>` on one line, and stops when its
/// standard input closes (when the parent exits, however it exits).
pub fn emulator_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vercel emulator: cannot build a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = runtime.block_on(
        vercel_blob_emulator::Emulator::builder()
            .token(TOKEN)
            .start(),
    );
    let emulator = match started {
        Ok(e) => e,
        Err(e) => {
            eprintln!("vercel emulator: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let announced = writeln!(out, "{} {}", emulator.api_url(), emulator.blob_host_url())
        .and_then(|()| out.flush());
    if let Err(e) = announced {
        eprintln!("vercel emulator: cannot write its address: {e}");
        return ExitCode::FAILURE;
    }
    // The runtime's workers serve while this thread waits for the parent's
    // end of the pipe to close.
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    runtime.block_on(emulator.shutdown());
    ExitCode::SUCCESS
}

/// The emulator child process; it stops when this is dropped.
pub struct EmulatorProcess {
    /// The API base (`VERCEL_BLOB_API_URL`).
    pub api_url: String,
    /// Where blobs are served, without the access segment.
    pub blob_host_url: String,
    _child: Child,
    _stop: ChildStdin,
}

impl EmulatorProcess {
    /// Starts this program's `__vercel-emulator` and waits for its address.
    pub async fn start() -> Fallible<EmulatorProcess> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start the emulator: {e}"))?;
        let mut child = Command::new(exe)
            .arg(EMULATOR_SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the Vercel emulator process: {e}"))?;
        let (Some(stop), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the Vercel emulator process has no stdin or stdout pipe".into());
        };
        let mut line = String::new();
        let read = tokio::time::timeout(START_TIMEOUT, BufReader::new(stdout).read_line(&mut line))
            .await
            .map_err(|_| format!("the Vercel emulator did not start within {START_TIMEOUT:?}"))?
            .map_err(|e| format!("reading the Vercel emulator's address: {e}"))?;
        let mut words = line.split_whitespace();
        match (read, words.next(), words.next()) {
            (1.., Some(api), Some(host)) => Ok(EmulatorProcess {
                api_url: api.to_string(),
                blob_host_url: host.to_string(),
                _child: child,
                _stop: stop,
            }),
            _ => Err(format!(
                "the Vercel emulator exited or said something unexpected: {:?}",
                line.trim()
            )),
        }
    }

    /// Our store on this emulator.
    pub fn store(&self) -> Fallible<VercelStore> {
        store_at(&self.api_url, &self.blob_host_url)
    }
}

/// Our store on the emulator at `api_url`, writing private blobs and
/// reading them from `blob_host_url`.
pub fn store_at(api_url: &str, blob_host_url: &str) -> Fallible<VercelStore> {
    let config = VercelConfig::new(TOKEN)
        .and_then(|c| c.api_url(api_url))
        .and_then(|c| c.blob_host_url(&format!("{blob_host_url}/private")))
        .map_err(|e| format!("ours: configuring the Vercel store: {e}"))?
        .access(Access::Private);
    VercelStore::new(config).map_err(|e| format!("ours: building the Vercel store: {e}"))
}

/// `VercelStore` through the `BlobStore` API.
struct Ours {
    store: Arc<VercelStore>,
}

impl Contender for Ours {
    fn label(&self) -> String {
        "ours (VercelStore)".into()
    }
    fn role(&self) -> Role {
        Role::Ours
    }
    fn caveat(&self, op: Op, size: usize) -> Option<String> {
        (op == Op::Put && size > storage::vercel::DEFAULT_PART_SIZE)
            .then(|| "multipart upload, 8 MiB parts, 4 in flight; the SDK sends one request".into())
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let tag = Arc::new(t.tag.clone());
            let keys = tag.clone();
            let timing = put_then_get(
                self.store.clone(),
                &t,
                move |s, i, payload| {
                    let k = key(&keys, i);
                    Box::pin(async move {
                        s.put_bytes(&k, payload)
                            .await
                            .map(drop)
                            .map_err(|e| format!("ours: put {k}: {e}"))
                    })
                },
                move |s, i| {
                    let k = key(&tag, i);
                    Box::pin(async move {
                        s.get_bytes(&k)
                            .await
                            .map(|b| b.len())
                            .map_err(|e| format!("ours: get {k}: {e}"))
                    })
                },
            )
            .await;
            clear(&self.store, &t.tag).await?;
            timing
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let start = Instant::now();
            let n = self
                .store
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

/// Deletes a round's blobs, so the in-memory emulator does not grow.
pub async fn clear(store: &VercelStore, tag: &str) -> Fallible<()> {
    store
        .delete_prefix(&format!("{tag}/"))
        .await
        .map(drop)
        .map_err(|e| format!("deleting the blobs under {tag}/: {e}"))
}

/// Runs every Vercel row and returns them in report order. Without Node,
/// the JS SDK column is left out and a note says why.
pub async fn run(rounds: usize, quick: bool) -> Fallible<(Vec<Row>, Vec<String>)> {
    let emulator = EmulatorProcess::start().await?;
    let store = Arc::new(emulator.store()?);
    let mut notes = vec![format!(
        "Vercel rows run against the in-memory Vercel Blob emulator in its own process at {}; \
         both clients write private blobs, each round under a fresh prefix, deleted after it",
        emulator.api_url
    )];
    let mut contenders: Vec<Arc<dyn Contender>> = vec![Arc::new(Ours {
        store: store.clone(),
    })];
    match JsSdk::start(&emulator.api_url, TOKEN, store.clone()).await {
        Ok(js) => contenders.push(Arc::new(js)),
        Err(why) => {
            eprintln!("  JS SDK column skipped: {why}");
            notes.push(format!("JS SDK column SKIPPED: {why}"));
        }
    }
    let mut rows = Vec::new();
    for shape in measure::shapes(quick) {
        let (put, get) = measure::put_get_rows("vercel:", &contenders, shape, rounds).await;
        rows.push(put);
        rows.push(get);
    }
    let keys = measure::list_keys(quick);
    eprintln!("  filling the Vercel listing prefix with {keys} blobs");
    measure::fill_listing(
        store.clone(),
        LIST_PREFIX,
        keys,
        "the Vercel listing prefix",
    )
    .await?;
    rows.push(measure::list_row("vercel:", &contenders, keys, rounds).await);
    clear(&store, LIST_PREFIX.trim_end_matches('/')).await?;
    drop(contenders);
    drop(emulator);
    Ok((rows, notes))
}
