//! Peak memory of a large streamed round trip: 256 MiB up through `put` and
//! back through `get` must stay well under the blob's size.
//!
//! This file holds exactly one test so that nothing else runs in the
//! process: the figure read is the peak resident set (`VmHWM`) of the whole
//! test process, which includes the runtime, the HTTP client and the test
//! harness. moto runs as a separate process and is not counted.

mod common;

use std::time::Instant;

use bytes::Bytes;
use futures::{stream, StreamExt};
use sha2::{Digest, Sha256};
use storage_core::{BlobStore, BlobStoreExt, Body, GetOptions, PutOptions};
use storage_s3::S3Store;

const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 256;
/// The bound on the test process's peak resident memory: parts of 8 MiB,
/// four in flight and one being read, plus the process itself.
const LIMIT_KB: u64 = 64 * 1024;

/// Chunk `i` of the body, generated on demand so the 256 MiB never exist at
/// once (random bytes, so a misplaced or repeated part changes the hash).
fn chunk(i: usize) -> Bytes {
    let mut rng = fastrand::Rng::with_seed(i as u64);
    let mut buf = vec![0u8; CHUNK];
    rng.fill(&mut buf);
    Bytes::from(buf)
}

/// Peak resident set size of this process in kB, from `/proc/self/status`.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_256_mib_round_trip_stays_bounded() {
    let store = S3Store::new(common::fresh_config().await).expect("store");
    let key = store.key("big/stream.bin").expect("key");
    let size = (CHUNK * CHUNKS) as u64;

    let mut expected = Sha256::new();
    for i in 0..CHUNKS {
        expected.update(chunk(i));
    }
    let expected = expected.finalize();
    let before_kb = peak_rss_kb();

    let started = Instant::now();
    // No declared length: the adapter must cut the stream into parts.
    let body = Body::from_stream(stream::iter((0..CHUNKS).map(|i| Ok(chunk(i)))), None);
    let meta = store
        .put(
            &key,
            body,
            PutOptions::new().content_type("application/octet-stream"),
        )
        .await
        .expect("put");
    assert_eq!(meta.size, size);
    let uploaded = started.elapsed();

    let blob = store.get(&key, GetOptions::new()).await.expect("get");
    assert_eq!(blob.meta.size, size);
    let mut stream = blob.into_stream();
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    while let Some(piece) = stream.next().await {
        let piece = piece.expect("download chunk");
        received += piece.len() as u64;
        hasher.update(&piece);
    }
    let elapsed = started.elapsed();
    assert_eq!(received, size);
    assert!(hasher.finalize() == expected, "downloaded bytes differ");

    let peak_kb = peak_rss_kb();
    let report = format!(
        "256 MiB round trip: peak RSS {peak_kb} kB ({:.1} MiB; {before_kb} kB before the transfer), \
         upload {:.2?}, total {:.2?}, part size {} bytes x concurrency {}",
        peak_kb as f64 / 1024.0,
        uploaded,
        elapsed,
        store.config().part_size(),
        store.config().max_concurrency(),
    );
    println!("{report}");
    eprintln!("{report}");
    assert!(peak_kb < LIMIT_KB, "{report}: over the {LIMIT_KB} kB bound");
}
