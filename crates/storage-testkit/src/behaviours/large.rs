//! Large bodies: 24 MiB streamed up in 1 MiB chunks and streamed back, so
//! an adapter's multipart/block path is exercised. Chunks are generated on
//! the fly and hashed on both sides, so the test never holds the blob.

use bytes::Bytes;
use futures::stream;
use sha2::{Digest, Sha256};
use storage_core::{BlobKey, Body, ByteRange, GetOptions, PutOptions};

use crate::failure::{expect_eq, unsupported, Check, Outcome};
use crate::support::{digest_download, head, key, Store};

const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 24;
const SIZE: u64 = (CHUNK * CHUNKS) as u64;

/// Chunk `i` of the large blob: deterministic, and different for each `i`
/// so a reordered or repeated chunk changes the hash.
fn chunk(i: usize) -> Bytes {
    let mut rng = fastrand::Rng::with_seed(0x5eed_0000 + i as u64);
    let mut buf = vec![0u8; CHUNK];
    rng.fill(&mut buf);
    Bytes::from(buf)
}

fn expected_sha256() -> String {
    let mut hasher = Sha256::new();
    for i in 0..CHUNKS {
        hasher.update(chunk(i));
    }
    hex::encode(hasher.finalize())
}

async fn upload(store: &Store, k: &BlobKey, len: Option<u64>) -> Outcome {
    let body = Body::from_stream(stream::iter((0..CHUNKS).map(|i| Ok(chunk(i)))), len);
    let meta = store.put(k, body, PutOptions::new()).await.check(format!(
        "put of 24 MiB in 1 MiB chunks (declared length {len:?})"
    ))?;
    expect_eq("size reported by put", SIZE, meta.size)?;
    expect_eq("size reported by head", SIZE, head(store, k).await?.size)
}

async fn roundtrip(store: Store, len: Option<u64>) -> Outcome {
    let k = key("large/blob.bin")?;
    upload(&store, &k, len).await?;
    let (size, sha) = digest_download(&store, &k, GetOptions::new()).await?;
    expect_eq("downloaded length", SIZE, size)?;
    expect_eq("sha256 of the download", expected_sha256(), sha)
}

/// 24 MiB streamed with no declared length round-trips.
pub async fn large_streamed_unknown_length(store: Store) -> Outcome {
    roundtrip(store, None).await
}

/// 24 MiB streamed with its length declared round-trips.
pub async fn large_streamed_known_length(store: Store) -> Outcome {
    roundtrip(store, Some(SIZE)).await
}

/// A range in the middle of a large blob, crossing chunk boundaries.
pub async fn large_ranged_read_in_middle(store: Store) -> Outcome {
    let k = key("large/ranged.bin")?;
    upload(&store, &k, Some(SIZE)).await?;
    let (start, end) = (CHUNK as u64 * 11 - 1000, CHUNK as u64 * 13 + 12_345);
    let range = ByteRange::Bounded { start, end };
    if !store.capabilities().ranges {
        store
            .get(&k, GetOptions::new().range(range))
            .await
            .expect_kind("ranged get on a store without ranges", unsupported())?;
        return Ok(());
    }
    let mut hasher = Sha256::new();
    for i in (start as usize / CHUNK)..=(end as usize / CHUNK) {
        let base = i * CHUNK;
        let c = chunk(i);
        let from = (start as usize).max(base) - base;
        let to = (end as usize).min(base + CHUNK) - base;
        hasher.update(&c[from..to]);
    }
    let (size, sha) = digest_download(&store, &k, GetOptions::new().range(range)).await?;
    expect_eq("length of the ranged download", end - start, size)?;
    expect_eq(
        "sha256 of the ranged download",
        hex::encode(hasher.finalize()),
        sha,
    )
}
