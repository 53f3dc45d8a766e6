//! Test data that adapters' own tests share: seeded bytes, streamed bodies
//! of unknown length (so an adapter must cut them into parts itself), a
//! blob's size and SHA-256 read back through any store, and the seeded 20%
//! fault mix the fault tests run under.

use bytes::Bytes;
use futures::{stream, StreamExt};
use sha2::{Digest, Sha256};
use storage_core::{BlobStore, BlobStoreExt, Body, GetOptions};

use crate::fault_proxy::{Fault, FaultPlan};

/// `len` bytes from a seeded generator: the same seed, the same bytes.
///
/// ```
/// use storage_testkit::data::seeded_bytes;
/// assert_eq!(seeded_bytes(7, 100), seeded_bytes(7, 100));
/// assert_ne!(seeded_bytes(7, 100), seeded_bytes(8, 100));
/// ```
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = vec![0u8; len];
    rng.fill(&mut buf);
    buf
}

/// A body of `mib` one-MiB pieces, streamed with no declared length, and
/// its SHA-256.
pub fn streamed_body(seed: u64, mib: u64) -> (Body, [u8; 32]) {
    let mut hasher = Sha256::new();
    let pieces: Vec<Bytes> = (0..mib)
        .map(|i| {
            let piece = seeded_bytes(seed + i, 1 << 20);
            hasher.update(&piece);
            Bytes::from(piece)
        })
        .collect();
    let body = Body::from_stream(stream::iter(pieces.into_iter().map(Ok)), None);
    (body, hasher.finalize().into())
}

/// The size and SHA-256 of `key` as `store` streams it; panics, naming the
/// key, when the read fails.
pub async fn size_and_sha256<S: BlobStore + ?Sized>(store: &S, key: &str) -> (u64, [u8; 32]) {
    try_size_and_sha256(store, key)
        .await
        .unwrap_or_else(|e| panic!("reading {key}: {e}"))
}

/// [`size_and_sha256`] for callers that count failures instead of stopping
/// at the first (the fault survey): the read's error, if it fails.
pub async fn try_size_and_sha256<S: BlobStore + ?Sized>(
    store: &S,
    key: &str,
) -> storage_core::Result<(u64, [u8; 32])> {
    let blob = store.get(&store.key(key)?, GetOptions::new()).await?;
    let mut body = blob.into_stream();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((len, hasher.finalize().into()))
}

/// A seeded mix that faults a fifth of the requests with faults that end
/// quickly: resets before the answer, in the middle of the answer's body
/// and in the middle of the request, and 503, 500 and 429 answers asking to
/// retry after one second.
pub fn twenty_percent_faults(seed: u64) -> FaultPlan {
    let slow_down = |code| Fault::Status {
        code,
        retry_after: Some(1),
    };
    FaultPlan::seeded(seed)
        .with_rate(Fault::ResetBeforeResponse, 0.04)
        .with_rate(Fault::ResetMidResponse { after: None }, 0.04)
        .with_rate(Fault::ResetMidRequest { after: None }, 0.03)
        .with_rate(slow_down(503), 0.03)
        .with_rate(slow_down(500), 0.03)
        .with_rate(slow_down(429), 0.03)
}
