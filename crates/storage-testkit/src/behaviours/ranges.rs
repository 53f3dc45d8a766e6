//! Ranged reads: HTTP `Range` semantics, with the full size and the resolved
//! range reported alongside the bytes.

use std::ops::Range;

use storage_core::{ByteRange, ErrorKind, GetOptions};

use crate::failure::{expect_eq, unsupported, Check, Failure, Outcome};
use crate::support::{key, put_plain, Store};

const DATA: &[u8] = b"0123456789abcdefghij";

/// Writes the 20-byte test blob, or checks that a store without `ranges`
/// refuses a ranged read and returns `None`.
async fn setup(store: &Store) -> Result<Option<storage_core::BlobKey>, Failure> {
    let k = key("ranges/data.txt")?;
    put_plain(store, &k, DATA).await?;
    if !store.capabilities().ranges {
        store
            .get(&k, GetOptions::new().range(0..4))
            .await
            .expect_kind(
                "ranged get on a store without the ranges capability",
                unsupported(),
            )?;
        return Ok(None);
    }
    Ok(Some(k))
}

/// Reads `range` and checks the bytes, the resolved range and the full size.
async fn expect_range(store: &Store, range: ByteRange, resolved: Range<u64>) -> Outcome {
    let Some(k) = setup(store).await? else {
        return Ok(());
    };
    let blob = store
        .get(&k, GetOptions::new().range(range))
        .await
        .check(format!("get with {range:?}"))?;
    expect_eq(
        format!("Blob.range for {range:?}"),
        resolved.clone(),
        blob.range.clone(),
    )?;
    expect_eq(
        format!("Blob.meta.size for {range:?} (the whole blob)"),
        DATA.len() as u64,
        blob.meta.size,
    )?;
    let bytes = blob.bytes().await.check(format!("reading {range:?}"))?;
    expect_eq(
        format!("bytes for {range:?}"),
        &DATA[resolved.start as usize..resolved.end as usize],
        &bytes[..],
    )
}

/// `start..end` reads exactly those bytes.
pub async fn ranges_bounded(store: Store) -> Outcome {
    expect_range(&store, ByteRange::Bounded { start: 3, end: 9 }, 3..9).await
}

/// `From(n)` reads from `n` to the end.
pub async fn ranges_from_offset(store: Store) -> Outcome {
    expect_range(&store, ByteRange::From(15), 15..20).await
}

/// `Suffix(n)` reads the last `n` bytes.
pub async fn ranges_suffix(store: Store) -> Outcome {
    expect_range(&store, ByteRange::Suffix(4), 16..20).await
}

/// A suffix longer than the blob reads the whole blob.
pub async fn ranges_suffix_longer_than_blob(store: Store) -> Outcome {
    expect_range(&store, ByteRange::Suffix(500), 0..20).await
}

/// An end past the blob is clamped to its size.
pub async fn ranges_end_past_size_clamps(store: Store) -> Outcome {
    expect_range(
        &store,
        ByteRange::Bounded {
            start: 18,
            end: 1000,
        },
        18..20,
    )
    .await
}

/// The last byte alone is a valid range.
pub async fn ranges_single_last_byte(store: Store) -> Outcome {
    expect_range(&store, ByteRange::Bounded { start: 19, end: 20 }, 19..20).await
}

/// A start at or past the end is `InvalidInput` (HTTP's 416).
pub async fn ranges_start_past_size_is_invalid_input(store: Store) -> Outcome {
    let Some(k) = setup(&store).await? else {
        return Ok(());
    };
    for range in [
        ByteRange::From(20),
        ByteRange::From(100),
        ByteRange::Bounded { start: 25, end: 30 },
        ByteRange::Bounded { start: 5, end: 5 },
    ] {
        store
            .get(&k, GetOptions::new().range(range))
            .await
            .expect_kind(
                format!("get with unsatisfiable {range:?}"),
                ErrorKind::InvalidInput,
            )?;
    }
    Ok(())
}
