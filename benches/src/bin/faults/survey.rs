//! The operations tried through the 20% mix, and their tally: how many of
//! each succeeded, whether what was read is byte-identical to what was
//! written, and whether a request that must not be repeated reached the
//! backend twice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use storage::{BlobStore, BlobStoreExt, ListOptions, PutMode, PutOptions};
use storage_testkit::data::{seeded_bytes, size_and_sha256, streamed_body, try_size_and_sha256};

use crate::rigs::Rig;

/// The outcome of one operation over all its trials.
#[derive(Debug, Clone)]
pub struct Tally {
    /// `put`, `get`, … with the size.
    pub operation: String,
    /// Whether the policy may repeat it (a `Create` put may not).
    pub retryable: bool,
    /// Trials run.
    pub trials: usize,
    /// Trials that returned success.
    pub succeeded: usize,
    /// Successful reads whose bytes differed from what was written.
    pub corrupt: usize,
    /// Requests the backend saw more than once although they must not be
    /// repeated.
    pub unsafe_replays: usize,
    /// The slowest trial.
    pub slowest: Duration,
    /// The first failure, for the report.
    pub first_failure: Option<String>,
}

impl Tally {
    fn new(operation: impl Into<String>, retryable: bool) -> Tally {
        Tally {
            operation: operation.into(),
            retryable,
            trials: 0,
            succeeded: 0,
            corrupt: 0,
            unsafe_replays: 0,
            slowest: Duration::ZERO,
            first_failure: None,
        }
    }

    fn record(&mut self, started: Instant, outcome: Result<bool, String>) {
        self.trials += 1;
        self.slowest = self.slowest.max(started.elapsed());
        match outcome {
            Ok(identical) => {
                self.succeeded += 1;
                if !identical {
                    self.corrupt += 1;
                }
            }
            Err(why) => {
                self.first_failure.get_or_insert(why);
            }
        }
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn size_label(len: usize) -> String {
    if len >= MIB {
        format!("{} MiB", len / MIB)
    } else {
        format!("{} KiB", len / KIB)
    }
}

/// Runs every operation `trials` times on `rig` (whose proxies already
/// carry the mix) and returns one tally per operation and size.
pub async fn run(rig: &Rig, trials: usize) -> Vec<Tally> {
    let mut tallies = Vec::new();
    let store = rig.store.as_ref();
    let direct = rig.direct.as_ref();
    for len in [KIB, MIB] {
        tallies.extend(in_memory_round(rig, trials, len).await);
    }
    tallies.extend(streamed_round(store, direct, trials, 40).await);
    tallies.push(list(store, direct, trials).await);
    tallies.push(creates(rig, trials).await);
    tallies
}

/// Put, get, head, copy and delete of in-memory bodies of `len` bytes.
async fn in_memory_round(rig: &Rig, trials: usize, len: usize) -> Vec<Tally> {
    let (store, direct) = (rig.store.as_ref(), rig.direct.as_ref());
    let size = size_label(len);
    let mut put = Tally::new(format!("put {size}"), true);
    let mut get = Tally::new(format!("get {size}"), true);
    let mut head = Tally::new(format!("head {size}"), true);
    let mut copy = Tally::new(format!("copy {size}"), true);
    let mut delete = Tally::new(format!("delete {size}"), true);
    for i in 0..trials {
        let key = format!("mem-{len}/{i:03}.bin");
        let bytes = seeded_bytes(i as u64 + len as u64, len);

        let t = Instant::now();
        let outcome = store.put_bytes(&key, bytes.clone()).await;
        let landed = match &outcome {
            Ok(_) => direct.get_bytes(&key).await.is_ok_and(|b| b == bytes[..]),
            Err(_) => false,
        };
        put.record(t, outcome.map(|_| landed).map_err(|e| e.to_string()));
        if !landed {
            // The reads below need the blob whatever became of the put.
            if let Err(e) = direct.put_bytes(&key, bytes.clone()).await {
                put.first_failure = Some(format!("seeding {key} directly: {e}"));
                continue;
            }
        }

        let t = Instant::now();
        let outcome = store.get_bytes(&key).await;
        get.record(
            t,
            outcome.map(|b| b == bytes[..]).map_err(|e| e.to_string()),
        );

        let t = Instant::now();
        let outcome = store.head_key(&key).await;
        head.record(
            t,
            outcome
                .map(|m| m.size == len as u64)
                .map_err(|e| e.to_string()),
        );

        let to = format!("mem-{len}/{i:03}.copy");
        let t = Instant::now();
        let outcome = store.copy_key(&key, &to).await;
        let copied = match &outcome {
            Ok(_) => direct.get_bytes(&to).await.is_ok_and(|b| b == bytes[..]),
            Err(_) => false,
        };
        copy.record(t, outcome.map(|_| copied).map_err(|e| e.to_string()));

        let t = Instant::now();
        let outcome = store.delete_key(&key).await;
        let gone = match &outcome {
            Ok(()) => !direct.exists(&key).await.unwrap_or(true),
            Err(_) => false,
        };
        delete.record(t, outcome.map(|()| gone).map_err(|e| e.to_string()));
        let _ = direct.delete_key(&to).await;
    }
    vec![put, get, head, copy, delete]
}

/// Streamed puts of `mib` MiB of unknown length (multipart on every
/// provider) and streamed reads of them, compared by SHA-256.
async fn streamed_round(
    store: &dyn BlobStore,
    direct: &dyn BlobStore,
    trials: usize,
    mib: u64,
) -> Vec<Tally> {
    let size = format!("{mib} MiB");
    let mut put = Tally::new(format!("put {size} (streamed, multipart)"), true);
    let mut get = Tally::new(format!("get {size} (streamed)"), true);
    for i in 0..trials {
        let key = format!("stream-{mib}/{i:03}.bin");
        let seed = 0x40_0000 + i as u64;
        let (body, digest) = streamed_body(seed, mib);
        let t = Instant::now();
        let outcome = store
            .put(
                &store.key(&key).expect("a valid key"),
                body,
                PutOptions::new(),
            )
            .await;
        let landed = match &outcome {
            Ok(_) => size_and_sha256(direct, &key).await == (mib << 20, digest),
            Err(_) => false,
        };
        put.record(t, outcome.map(|_| landed).map_err(|e| e.to_string()));
        if !landed {
            let (body, _) = streamed_body(seed, mib);
            let key = direct.key(&key).expect("a valid key");
            if let Err(e) = direct.put(&key, body, PutOptions::new()).await {
                put.first_failure = Some(format!("seeding {key} directly: {e}"));
                continue;
            }
        }
        let t = Instant::now();
        let outcome = try_size_and_sha256(store, &key)
            .await
            .map_err(|e| e.to_string());
        get.record(t, outcome.map(|got| got == (mib << 20, digest)));
        let _ = direct.delete_key(&key).await;
    }
    vec![put, get]
}

/// Paged listings (5 per page) of 20 blobs.
async fn list(store: &dyn BlobStore, direct: &dyn BlobStore, trials: usize) -> Tally {
    let mut tally = Tally::new("list 20 keys, 4 pages", true);
    let keys: BTreeSet<String> = (0..20).map(|i| format!("list/{i:02}")).collect();
    for key in &keys {
        if let Err(e) = direct.put_bytes(key, key.clone()).await {
            tally.first_failure = Some(format!("seeding {key}: {e}"));
            return tally;
        }
    }
    for _ in 0..trials {
        let t = Instant::now();
        let outcome = async {
            let mut seen = BTreeSet::new();
            let mut opts = ListOptions::new().prefix("list/").limit(5);
            loop {
                let page = store.list(opts.clone()).await.map_err(|e| e.to_string())?;
                seen.extend(page.entries.iter().map(|e| e.key.as_str().to_string()));
                match page.cursor {
                    Some(cursor) => opts = opts.cursor(cursor),
                    None => return Ok(seen == keys),
                }
            }
        }
        .await;
        tally.record(t, outcome);
    }
    tally
}

/// `Create` puts of 1 KiB: not retryable once forwarded, so some fail; the
/// count that matters is that none reached the backend twice.
async fn creates(rig: &Rig, trials: usize) -> Tally {
    let store = rig.store.as_ref();
    let mut tally = Tally::new("put 1 KiB, Create (never replayed)", false);
    for i in 0..trials {
        let name = format!("create-{i:03}-{:08x}", fastrand::u32(..));
        let key = format!("create/{name}.bin");
        let t = Instant::now();
        let outcome = store
            .put_bytes_with(
                &key,
                seeded_bytes(i as u64, KIB),
                PutOptions::new().mode(PutMode::Create),
            )
            .await;
        tally.record(t, outcome.map(|_| true).map_err(|e| e.to_string()));
        let forwarded: usize = rig
            .proxies
            .iter()
            .map(|p| {
                p.count(|r| r.forwarded && r.head.method == "PUT" && r.head.target.contains(&name))
            })
            .sum();
        if forwarded > 1 {
            tally.unsafe_replays += forwarded - 1;
        }
    }
    tally
}
