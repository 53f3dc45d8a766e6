//! What a contender is, how its operations are timed, and the rounds that
//! interleave contenders so that the machine's load falls on all alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;

/// Errors here are sentences for the report: what failed, where, and why.
pub type Fallible<T> = Result<T, String>;

/// Whose code a contender runs; the report divides ours by each other role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// One of this workspace's adapters.
    Ours,
    /// The least work that does the same job by hand.
    Ceiling,
    /// The `object_store` crate used directly.
    ObjectStore,
    /// Apache OpenDAL.
    OpenDal,
    /// The official `@vercel/blob` SDK, in Node.
    JsSdk,
}

impl Role {
    /// The name used in ratio columns ("ours / ceiling").
    pub fn short(self) -> &'static str {
        match self {
            Role::Ours => "ours",
            Role::Ceiling => "ceiling",
            Role::ObjectStore => "object_store",
            Role::OpenDal => "OpenDAL",
            Role::JsSdk => "JS SDK",
        }
    }
}

/// The operation a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `count` blobs written.
    Put,
    /// The same blobs read back.
    Get,
    /// Every key under one prefix listed.
    List,
    /// One signed URL made.
    Sign,
}

/// The size class of a put/get pair of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Bytes per blob.
    pub size: usize,
    /// Blobs per round.
    pub count: usize,
    /// Operations in flight at once.
    pub concurrency: usize,
}

impl Shape {
    /// `1 KiB ×500, conc 16`.
    pub fn describe(&self) -> String {
        format!(
            "{} ×{}, conc {}",
            human_size(self.size),
            self.count,
            self.concurrency
        )
    }
}

/// The rows of a full run and of a `--quick` one.
pub fn shapes(quick: bool) -> Vec<Shape> {
    let shape = |size, count, concurrency| Shape {
        size,
        count,
        concurrency,
    };
    if quick {
        vec![
            shape(1 << 10, 64, 16),
            shape(1 << 20, 12, 8),
            shape(16 << 20, 4, 4),
        ]
    } else {
        vec![
            shape(1 << 10, 500, 16),
            shape(1 << 20, 100, 8),
            shape(16 << 20, 8, 4),
        ]
    }
}

/// Keys under the listed prefix.
pub fn list_keys(quick: bool) -> usize {
    if quick {
        1_000
    } else {
        10_000
    }
}

/// `1 KiB`, `16 MiB`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// One contender's work for one round of a put/get pair.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Unique to the round and contender; names its fresh namespace.
    pub tag: String,
    /// The bytes every blob of the round holds.
    pub payload: Bytes,
    /// Blobs to write and read.
    pub count: usize,
    /// Operations in flight at once.
    pub concurrency: usize,
}

/// How long a piece of work took, and the CPU this process spent on it.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time of every thread of this process, user and kernel; `None`
    /// for work done in another process (the JS SDK's Node).
    pub cpu: Option<Duration>,
}

impl Timing {
    /// Runs `work` and times it, wall clock and this process's CPU.
    pub async fn of<T>(work: impl std::future::Future<Output = T>) -> (T, Timing) {
        let (cpu, start) = (process_cpu(), Instant::now());
        let out = work.await;
        let timing = Timing {
            wall: start.elapsed(),
            cpu: Some(process_cpu().saturating_sub(cpu)),
        };
        (out, timing)
    }
}

/// CPU time used so far by every thread of this process, including
/// threads that have ended (the blocking pool's).
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The two timings of one [`Transfer`].
#[derive(Debug, Clone, Copy)]
pub struct PutGet {
    /// Writing every blob.
    pub put: Timing,
    /// Reading every blob back whole.
    pub get: Timing,
}

/// One way of doing the rows' work.
pub trait Contender: Send + Sync {
    /// The name in the report's contender column.
    fn label(&self) -> String;
    /// Whose code it is.
    fn role(&self) -> Role;
    /// What makes its numbers not like for like with ours, if anything,
    /// for the row doing `op` on blobs of `size` bytes.
    fn caveat(&self, _op: Op, _size: usize) -> Option<String> {
        None
    }
    /// Writes `transfer.count` blobs into a fresh namespace, reads them
    /// back, removes the namespace, and says how long the writes and the
    /// reads took.
    fn put_get(&self, transfer: Transfer) -> BoxFuture<'_, Fallible<PutGet>>;
    /// Lists the prefix prepared for listings, and says how long it took;
    /// fails when the listing did not hold `expected` blobs.
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>>;
    /// Whether its work runs in this process, so this process's CPU time
    /// is its cost.
    fn runs_here(&self) -> bool {
        true
    }
}

/// How long `count` calls of `op` took with `concurrency` of them in
/// flight. Each of `concurrency` spawned tasks takes the next index until
/// none is left, so the work spreads over the runtime's threads as a
/// server's requests would.
pub async fn timed<F>(count: usize, concurrency: usize, op: F) -> Fallible<Timing>
where
    F: Fn(usize) -> BoxFuture<'static, Fallible<()>> + Send + Sync + 'static,
{
    let (done, timing) = Timing::of(run_all(count, concurrency, op)).await;
    done.map(|()| timing)
}

async fn run_all<F>(count: usize, concurrency: usize, op: F) -> Fallible<()>
where
    F: Fn(usize) -> BoxFuture<'static, Fallible<()>> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::<Fallible<()>>::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (op, next) = (op.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok(());
                }
                op(i).await?;
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(|e| format!("a worker task died: {e}"))??;
    }
    Ok(())
}

/// The measurements of one contender in one row.
#[derive(Debug, Clone)]
pub struct Series {
    /// The contender's label.
    pub label: String,
    /// Whose code it is.
    pub role: Role,
    /// Why its numbers are not like for like, if they are not.
    pub caveat: Option<String>,
    /// One duration per completed round.
    pub samples: Vec<Duration>,
    /// This process's CPU time per completed round, where the work ran in
    /// this process.
    pub cpu: Vec<Duration>,
    /// The first failure, after which the contender sat out the row.
    pub error: Option<String>,
}

impl Series {
    /// Adds one round's timing.
    pub fn record(&mut self, timing: Timing) {
        self.samples.push(timing.wall);
        self.cpu.extend(timing.cpu);
    }
}

/// One line of the report's table: an operation on one backend, with every
/// contender's series.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured, e.g. `put 1 KiB ×500, conc 16`.
    pub title: String,
    /// The operation.
    pub op: Op,
    /// Bytes per blob (0 for listings).
    pub size: usize,
    /// Blobs (or listed keys) per round.
    pub items: usize,
    /// One series per contender.
    pub series: Vec<Series>,
}

impl Row {
    fn new(
        title: String,
        op: Op,
        size: usize,
        items: usize,
        contenders: &[Arc<dyn Contender>],
    ) -> Row {
        let series = contenders
            .iter()
            .map(|c| Series {
                label: c.label(),
                role: c.role(),
                caveat: c.caveat(op, size),
                samples: Vec::new(),
                cpu: Vec::new(),
                error: None,
            })
            .collect();
        Row {
            title,
            op,
            size,
            items,
            series,
        }
    }
}

/// The `--contender` filter, set once at start.
static ONLY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// From now on, rows run only the contenders whose label contains
/// `text` (lower case).
pub fn only_contenders(text: String) {
    let _ = ONLY.set(text);
}

/// The contenders the `--contender` filter lets run.
fn selected(contenders: &[Arc<dyn Contender>]) -> Vec<Arc<dyn Contender>> {
    contenders
        .iter()
        .filter(|c| {
            ONLY.get()
                .is_none_or(|t| c.label().to_lowercase().contains(t))
        })
        .cloned()
        .collect()
}

/// The order of contenders in round `round`: rotated by one each round, so
/// none always goes first (into a cold cache) or last (into a loaded disk).
fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |i| (i + round) % n)
}

/// Random bytes, so that nothing on the way can compress or deduplicate
/// within a blob.
pub fn payload(size: usize) -> Bytes {
    let mut rng = fastrand::Rng::new();
    let mut buf = vec![0u8; size];
    rng.fill(&mut buf);
    Bytes::from(buf)
}

/// Runs the put and get rows of `shape` for `rounds` rounds, every
/// contender once per round in rotating order, after one unrecorded
/// warm-up round of a few small blobs (connection pools, page cache,
/// lazily built clients).
pub async fn put_get_rows(
    group: &str,
    contenders: &[Arc<dyn Contender>],
    shape: Shape,
    rounds: usize,
) -> (Row, Row) {
    let contenders = &selected(contenders)[..];
    let mut put = Row::new(
        format!("{group} put {}", shape.describe()),
        Op::Put,
        shape.size,
        shape.count,
        contenders,
    );
    let mut get = Row::new(
        format!("{group} get {}", shape.describe()),
        Op::Get,
        shape.size,
        shape.count,
        contenders,
    );
    let warm = payload(1 << 10);
    for (i, contender) in contenders.iter().enumerate() {
        let transfer = Transfer {
            tag: format!("warm-{i}-{:06x}", fastrand::u32(..1 << 24)),
            payload: warm.clone(),
            count: shape.concurrency,
            concurrency: shape.concurrency,
        };
        if let Err(e) = contender.put_get(transfer).await {
            let why = format!("warm-up failed: {e}");
            put.series[i].error = Some(why.clone());
            get.series[i].error = Some(why);
        }
    }
    for round in 0..rounds {
        let data = payload(shape.size);
        for i in rotation(contenders.len(), round) {
            if put.series[i].error.is_some() {
                continue;
            }
            let transfer = Transfer {
                tag: format!("r{round}-c{i}-{:06x}", fastrand::u32(..1 << 24)),
                payload: data.clone(),
                count: shape.count,
                concurrency: shape.concurrency,
            };
            match contenders[i].put_get(transfer).await {
                Ok(t) => {
                    put.series[i].record(t.put);
                    get.series[i].record(t.get);
                }
                Err(e) => {
                    put.series[i].error = Some(e.clone());
                    get.series[i].error = Some(e);
                }
            }
        }
        eprintln!("  {} — round {}/{rounds} done", put.title, round + 1);
    }
    (put, get)
}

/// Runs the list row: every contender lists the same prepared prefix of
/// `keys` blobs once per round, in rotating order, after one unrecorded
/// listing each.
pub async fn list_row(
    group: &str,
    contenders: &[Arc<dyn Contender>],
    keys: usize,
    rounds: usize,
) -> Row {
    let contenders = &selected(contenders)[..];
    let mut row = Row::new(
        format!("{group} list {keys} keys under one prefix"),
        Op::List,
        0,
        keys,
        contenders,
    );
    for (i, contender) in contenders.iter().enumerate() {
        if let Err(e) = contender.list(keys).await {
            row.series[i].error = Some(format!("warm-up failed: {e}"));
        }
    }
    for round in 0..rounds {
        for i in rotation(contenders.len(), round) {
            if row.series[i].error.is_some() {
                continue;
            }
            let (listed, timing) = Timing::of(contenders[i].list(keys)).await;
            match listed {
                Ok(wall) => row.series[i].record(Timing {
                    wall,
                    cpu: timing.cpu.filter(|_| contenders[i].runs_here()),
                }),
                Err(e) => row.series[i].error = Some(e),
            }
        }
        eprintln!("  {} — round {}/{rounds} done", row.title, round + 1);
    }
    row
}

/// Fails unless a read returned the whole blob.
pub fn check_len(what: &str, got: usize, want: usize) -> Fallible<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} returned {got} bytes, expected {want}"))
    }
}

/// Fails unless a listing held every prepared key.
pub fn check_listed(what: &str, got: usize, want: usize) -> Fallible<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} listed {got} blobs, expected {want}"))
    }
}

/// Writes `t.count` blobs with `put`, then reads them back with `get`
/// (which returns how many bytes it read), timing each phase with
/// [`timed`]. Blob `i` is written and read by index; the contender decides
/// what key that is.
pub async fn put_then_get<C, P, G>(client: Arc<C>, t: &Transfer, put: P, get: G) -> Fallible<PutGet>
where
    C: Send + Sync + 'static,
    P: Fn(Arc<C>, usize, Bytes) -> BoxFuture<'static, Fallible<()>> + Send + Sync + 'static,
    G: Fn(Arc<C>, usize) -> BoxFuture<'static, Fallible<usize>> + Send + Sync + 'static,
{
    let (writer, payload) = (client.clone(), t.payload.clone());
    let put = timed(t.count, t.concurrency, move |i| {
        put(writer.clone(), i, payload.clone())
    })
    .await?;
    let want = t.payload.len();
    let get = Arc::new(get);
    let get = timed(t.count, t.concurrency, move |i| {
        let read = get(client.clone(), i);
        Box::pin(async move { check_len(&format!("blob {i}"), read.await?, want) })
    })
    .await?;
    Ok(PutGet { put, get })
}

/// Fills `prefix` of `store` with `keys` small blobs (`{prefix}00000.bin` …)
/// for a listing row; `what` names the fixture in errors.
pub async fn fill_listing<S>(store: Arc<S>, prefix: &str, keys: usize, what: &str) -> Fallible<()>
where
    S: storage::BlobStore + ?Sized + 'static,
{
    use futures::{StreamExt, TryStreamExt};
    use storage::BlobStoreExt;
    let blob = payload(64);
    futures::stream::iter(0..keys)
        .map(|i| {
            let (store, blob) = (store.clone(), blob.clone());
            async move {
                let k = format!("{prefix}{i:05}.bin");
                store
                    .put_bytes(&k, blob)
                    .await
                    .map(drop)
                    .map_err(|e| format!("filling {what}: put {k}: {e}"))
            }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await
}
