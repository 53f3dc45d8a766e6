//! The memory bound of a large streamed round trip, measured the same way
//! for every adapter: 256 MiB up through `put` (a stream of unknown length,
//! so the adapter must cut it into parts) and back through `get`, compared
//! by SHA-256, with the process's peak resident set (`VmHWM`) read after.
//!
//! The figure is the whole test process's peak, so a test using this must
//! be alone in its test binary (one file, one test), and the emulator must
//! run as another process.
//!
//! ```no_run
//! # async fn demo(store: &dyn storage_core::BlobStore) {
//! let trip = storage_testkit::memory_bound::round_trip(store, "big/stream.bin").await;
//! assert!(trip.peak_kb < 64 * 1024, "{trip}");
//! # }
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{stream, StreamExt};
use sha2::{Digest, Sha256};
use storage_core::{BlobStore, BlobStoreExt, Body, GetOptions, PutOptions};

const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 256;

/// What one round trip measured.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrip {
    /// Peak resident set of the process before the transfer, in kB.
    pub before_kb: u64,
    /// Peak resident set after the upload and the download, in kB.
    pub peak_kb: u64,
    /// How long the upload took.
    pub upload: Duration,
    /// How long the upload and the download took.
    pub total: Duration,
}

impl fmt::Display for RoundTrip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "256 MiB round trip: peak RSS {} kB ({:.1} MiB; {} kB before the transfer), \
             upload {:.2?}, total {:.2?}",
            self.peak_kb,
            self.peak_kb as f64 / 1024.0,
            self.before_kb,
            self.upload,
            self.total
        )
    }
}

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

/// Streams 256 MiB into `key` and back, panicking when a step fails or the
/// bytes read back differ, and reports the peak memory and the times.
pub async fn round_trip(store: &dyn BlobStore, key: &str) -> RoundTrip {
    let key = store.key(key).expect("a valid key");
    let size = (CHUNK * CHUNKS) as u64;
    let mut expected = Sha256::new();
    for i in 0..CHUNKS {
        expected.update(chunk(i));
    }
    let expected = expected.finalize();
    let before_kb = peak_rss_kb();

    let started = Instant::now();
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
    let upload = started.elapsed();

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
    assert_eq!(received, size);
    assert!(hasher.finalize() == expected, "downloaded bytes differ");
    RoundTrip {
        before_kb,
        peak_kb: peak_rss_kb(),
        upload,
        total: started.elapsed(),
    }
}
