//! Concurrent writers and readers: writes are all-or-nothing, so the last
//! blob is exactly one writer's, and a reader never sees a torn blob or a
//! blob whose meta belongs to another write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::try_join_all;
use storage_core::{BlobKey, BlobStore, Body, GetOptions, ListOptions, PutOptions};

use crate::failure::{expect_eq, Check, Failure, Outcome};
use crate::support::{expect_bytes, get, key, list_keys, Store};

const WRITERS: usize = 8;

/// Writer `w`'s payload: a size and fill unique to `w`, so any mix of two
/// payloads is detectable.
fn payload(w: usize) -> Bytes {
    Bytes::from(vec![b'A' + w as u8; 64 * 1024 + w * 1031])
}

/// The content type naming writer `w`; always supported, unlike metadata.
fn content_type(w: usize) -> String {
    format!("application/x-writer-{w}")
}

/// Which writer produced `bytes` under `ct`, if the two agree on one.
fn whole_payload(ct: &str, bytes: &[u8]) -> Result<usize, Failure> {
    let w = (0..WRITERS)
        .find(|w| content_type(*w) == ct)
        .ok_or_else(|| Failure::new(format!("content type {ct:?} names no writer")))?;
    if bytes == &payload(w)[..] {
        Ok(w)
    } else {
        Err(Failure::new(format!(
            "blob with content type {ct:?}: expected writer {w}'s {} bytes of {:?}, saw {} bytes starting {:?}",
            payload(w).len(),
            (b'A' + w as u8) as char,
            bytes.len(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(8)])
        )))
    }
}

async fn write_all_rounds(
    store: Store,
    k: Arc<BlobKey>,
    w: usize,
    rounds: usize,
) -> Result<(), Failure> {
    for round in 0..rounds {
        store
            .put(
                &k,
                Body::from(payload(w)),
                PutOptions::new().content_type(content_type(w)),
            )
            .await
            .check(format!("writer {w}, round {round}"))?;
    }
    Ok(())
}

fn joined(e: tokio::task::JoinError) -> Failure {
    Failure::new(format!("a concurrent task panicked: {e}"))
}

/// Eight writers overwrite one key; the final blob is exactly one writer's
/// payload, with that writer's content type and matching size.
pub async fn concurrency_writers_one_whole_winner(store: Store) -> Outcome {
    let k = Arc::new(key("race/last-writer")?);
    let tasks =
        (0..WRITERS).map(|w| tokio::spawn(write_all_rounds(store.clone(), k.clone(), w, 3)));
    for result in try_join_all(tasks).await.map_err(joined)? {
        result?;
    }
    let (meta, bytes) = get(&store, &k).await?;
    let w = whole_payload(&meta.content_type, &bytes)?;
    expect_eq(
        "size in meta of the final blob",
        payload(w).len() as u64,
        meta.size,
    )
}

/// Readers running during the overwrites only ever see whole payloads that
/// agree with their meta.
pub async fn concurrency_readers_see_whole_blobs(store: Store) -> Outcome {
    let k = Arc::new(key("race/read-while-writing")?);
    write_all_rounds(store.clone(), k.clone(), 0, 1).await?;
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let (store, k, done) = (store.clone(), k.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0usize;
                // At least a few reads even if the writers finish first.
                while !done.load(Ordering::Relaxed) || reads < 5 {
                    let blob = store
                        .get(&k, GetOptions::new())
                        .await
                        .check(format!("reader {r}"))?;
                    let meta = blob.meta.clone();
                    let bytes = blob.bytes().await.check(format!("reader {r} body"))?;
                    let w = whole_payload(&meta.content_type, &bytes)?;
                    expect_eq(
                        format!("reader {r}: meta size of writer {w}'s blob"),
                        bytes.len() as u64,
                        meta.size,
                    )?;
                    reads += 1;
                    // An in-memory store never returns Pending, so without
                    // this the readers would starve the writers' tasks.
                    tokio::task::yield_now().await;
                }
                Ok::<usize, Failure>(reads)
            })
        })
        .collect();
    let writers =
        (0..WRITERS).map(|w| tokio::spawn(write_all_rounds(store.clone(), k.clone(), w, 4)));
    let written = try_join_all(writers).await.map_err(joined);
    done.store(true, Ordering::Relaxed);
    for result in written? {
        result?;
    }
    for result in try_join_all(readers).await.map_err(joined)? {
        result?;
    }
    Ok(())
}

/// Many tasks writing different keys at once all land.
pub async fn concurrency_parallel_distinct_keys(store: Store) -> Outcome {
    let names: Vec<String> = (0..32).map(|i| format!("parallel/{i:02}")).collect();
    let tasks = names.iter().map(|name| {
        let store = store.clone();
        let name = name.clone();
        tokio::spawn(async move {
            let k = key(&name)?;
            store
                .put(&k, Body::from(name.clone()), PutOptions::new())
                .await
                .check(format!("put {name:?}"))?;
            Ok::<(), Failure>(())
        })
    });
    for result in try_join_all(tasks).await.map_err(joined)? {
        result?;
    }
    for name in &names {
        expect_bytes(&store, &key(name)?, name.as_bytes()).await?;
    }
    expect_eq(
        "keys listed after parallel writes",
        names.clone(),
        list_keys(&store, ListOptions::new()).await?,
    )
}
