//! Conditional writes: `PutMode::Create` and `PutMode::IfMatch`, including
//! the race they exist for.

use std::sync::Arc;

use storage_core::{Body, ErrorKind, PutMode, PutOptions};

use crate::failure::{expect_eq, unsupported, Check, Failure, Outcome};
use crate::support::{expect_absent, expect_bytes, head, key, put, put_plain, Store};

/// Without the capability, `mode` must be refused as `Unsupported` and
/// nothing stored; returns whether the capability is there.
async fn supported_or_refused(store: &Store, mode: PutMode) -> Result<bool, Failure> {
    let caps = store.capabilities();
    let supported = match mode {
        PutMode::Overwrite => true,
        PutMode::Create => caps.put_create,
        PutMode::IfMatch(_) => caps.put_if_match,
    };
    if !supported {
        let k = key("conditional/unsupported")?;
        store
            .put(&k, Body::from("x"), PutOptions::new().mode(mode.clone()))
            .await
            .expect_kind(
                format!("put with {mode:?} on a store without the capability"),
                unsupported(),
            )?;
        expect_absent(store, &k, "a refused conditional put").await?;
    }
    Ok(supported)
}

fn if_match() -> PutMode {
    PutMode::IfMatch("\"testkit\"".into())
}

/// `Create` on an absent key writes the blob.
pub async fn conditional_create_when_absent(store: Store) -> Outcome {
    if !supported_or_refused(&store, PutMode::Create).await? {
        return Ok(());
    }
    let k = key("conditional/create.txt")?;
    put(
        &store,
        &k,
        "created",
        PutOptions::new().mode(PutMode::Create),
    )
    .await?;
    expect_bytes(&store, &k, b"created").await
}

/// `Create` on a present key is `AlreadyExists` and the blob is untouched.
pub async fn conditional_create_when_present_fails(store: Store) -> Outcome {
    if !supported_or_refused(&store, PutMode::Create).await? {
        return Ok(());
    }
    let k = key("conditional/exists.txt")?;
    let original = put_plain(&store, &k, "original").await?;
    store
        .put(
            &k,
            Body::from("intruder"),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .expect_kind("put Create over an existing blob", ErrorKind::AlreadyExists)?;
    expect_eq(
        "etag after a refused Create",
        &original.etag,
        &head(&store, &k).await?.etag,
    )?;
    expect_bytes(&store, &k, b"original").await
}

/// `IfMatch` with the current etag writes and gives a new etag.
pub async fn conditional_if_match_current_succeeds(store: Store) -> Outcome {
    if !supported_or_refused(&store, if_match()).await? {
        return Ok(());
    }
    let k = key("conditional/if-match.txt")?;
    let first = put_plain(&store, &k, "v1").await?;
    let second = put(
        &store,
        &k,
        "v2",
        PutOptions::new().mode(PutMode::IfMatch(first.etag.clone())),
    )
    .await?;
    expect_eq(
        "etag changed by a successful IfMatch put",
        true,
        first.etag != second.etag,
    )?;
    expect_bytes(&store, &k, b"v2").await
}

/// `IfMatch` with a stale etag is `PreconditionFailed` and changes nothing.
pub async fn conditional_if_match_stale_fails(store: Store) -> Outcome {
    if !supported_or_refused(&store, if_match()).await? {
        return Ok(());
    }
    let k = key("conditional/stale.txt")?;
    let stale = put_plain(&store, &k, "v1").await?;
    let current = put_plain(&store, &k, "v2").await?;
    store
        .put(
            &k,
            Body::from("v3"),
            PutOptions::new().mode(PutMode::IfMatch(stale.etag)),
        )
        .await
        .expect_kind(
            "put IfMatch with a stale etag",
            ErrorKind::PreconditionFailed,
        )?;
    expect_eq(
        "etag after a refused IfMatch",
        &current.etag,
        &head(&store, &k).await?.etag,
    )?;
    expect_bytes(&store, &k, b"v2").await
}

/// `IfMatch` on a missing key is `PreconditionFailed` and stores nothing.
pub async fn conditional_if_match_missing_fails(store: Store) -> Outcome {
    if !supported_or_refused(&store, if_match()).await? {
        return Ok(());
    }
    let k = key("conditional/missing.txt")?;
    store
        .put(&k, Body::from("x"), PutOptions::new().mode(if_match()))
        .await
        .expect_kind(
            "put IfMatch on a missing key",
            ErrorKind::PreconditionFailed,
        )?;
    expect_absent(&store, &k, "a refused IfMatch on a missing key").await
}

/// An etag from before a delete does not match the blob written after it.
pub async fn conditional_etag_from_before_delete_is_stale(store: Store) -> Outcome {
    if !supported_or_refused(&store, if_match()).await? {
        return Ok(());
    }
    let k = key("conditional/reborn.txt")?;
    let old = put_plain(&store, &k, "first").await?;
    store.delete(&k).await.check("delete")?;
    // Content-hash etags change only with the content.
    let again = if store.capabilities().etag_per_write {
        "first"
    } else {
        "same"
    };
    put_plain(&store, &k, again).await?;
    store
        .put(
            &k,
            Body::from("x"),
            PutOptions::new().mode(PutMode::IfMatch(old.etag)),
        )
        .await
        .expect_kind(
            "put IfMatch with the etag of a deleted blob",
            ErrorKind::PreconditionFailed,
        )?;
    expect_bytes(&store, &k, again.as_bytes()).await
}

/// Eight racing `Create`s of one key: exactly one wins, the others see
/// `AlreadyExists`, and the stored bytes are the winner's.
pub async fn conditional_concurrent_creates_one_winner(store: Store) -> Outcome {
    if !supported_or_refused(&store, PutMode::Create).await? {
        return Ok(());
    }
    let k = Arc::new(key("conditional/race.txt")?);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, k, barrier) = (store.clone(), k.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let body = Body::from(format!("writer {i}"));
                (
                    i,
                    store
                        .put(&k, body, PutOptions::new().mode(PutMode::Create))
                        .await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (i, result) = task
            .await
            .map_err(|e| Failure::new(format!("a racing writer panicked: {e}")))?;
        match result {
            Ok(meta) => winners.push((i, meta)),
            Err(e) if e.kind() == &ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Failure::new(format!(
                    "racing Create #{i}: expected success or AlreadyExists, saw {e}"
                )))
            }
        }
    }
    let [(winner, meta)] = &winners[..] else {
        let ids: Vec<_> = winners.iter().map(|(i, _)| *i).collect();
        return Err(Failure::new(format!(
            "8 racing Creates: expected exactly one success, saw {} (writers {ids:?})",
            winners.len()
        )));
    };
    expect_eq(
        "etag of the stored blob vs the winner's",
        &meta.etag,
        &head(&store, &k).await?.etag,
    )?;
    expect_bytes(&store, &k, format!("writer {winner}").as_bytes()).await
}
