//! The migration corpus shared by `migration.rs`, `migration_azure.rs` and
//! `migration_cloud.rs`: 500 blobs of mixed sizes (0 B to 1 MiB) with
//! content type, cache control, content disposition and metadata, and the
//! checks that a sync copied them faithfully.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use storage::{BlobStore, BlobStoreExt, PutOptions};

pub const BLOBS: usize = 500;

pub fn size_of(i: usize) -> usize {
    match i {
        0 => 0,
        1 => 1 << 20,
        // One blob in ten is large (up to 1 MiB), the rest small, like a
        // real bucket of thumbnails and recordings.
        _ if i.is_multiple_of(10) => (i * 7919) % (1 << 20),
        _ => (i * 131) % 20_000,
    }
}

pub fn content(i: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(i as u64);
    (0..size_of(i)).map(|_| rng.u8(..)).collect()
}

pub fn key(i: usize) -> String {
    let ext = ["webm", "png", "json", "txt"][i % 4];
    format!("recordings/{:02}/blob-{i:03}.{ext}", i % 7)
}

/// Every key of the corpus.
pub fn all_keys() -> BTreeSet<String> {
    (0..BLOBS).map(key).collect()
}

/// The content disposition of blob `i`: a download name with a space and
/// quotes, which every header encoding must carry through unchanged.
pub fn disposition(i: usize) -> String {
    format!("attachment; filename=\"blob {i:03}.bin\"")
}

/// Puts the corpus into `src`, with cache control, content disposition and
/// metadata.
pub async fn seed(src: &dyn BlobStore) {
    for i in 0..BLOBS {
        let opts = PutOptions::new()
            .cache_control(format!("public, max-age={i}"))
            .content_disposition(disposition(i))
            .metadata("index", i.to_string())
            .metadata("owner", "migration_test");
        src.put_bytes_with(&key(i), content(i), opts)
            .await
            .expect("seed");
    }
}

/// The corpus keys that exist in `dst`.
pub async fn landed(dst: &dyn BlobStore) -> BTreeSet<String> {
    let mut landed = BTreeSet::new();
    for k in all_keys() {
        if dst.exists(&k).await.expect("exists") {
            landed.insert(k);
        }
    }
    landed
}

/// The keys a `sync` printed as `copied <key> …` lines (without `--json`).
pub fn reported_copies(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix("copied "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect()
}

/// Asserts that the rerun's `--json` report copied exactly what had not
/// landed, and returns the keys it copied.
pub fn assert_rerun_copied_the_rest(
    report: &serde_json::Value,
    landed: &BTreeSet<String>,
) -> BTreeSet<String> {
    let copied: BTreeSet<String> = report["copied"]
        .as_array()
        .expect("copied")
        .iter()
        .map(|c| c["key"].as_str().expect("key").to_string())
        .collect();
    assert!(
        copied.is_disjoint(landed),
        "a blob of the first run was copied again"
    );
    assert_eq!(copied.len() + landed.len(), BLOBS);
    assert_eq!(report["unchanged"], landed.len());
    assert_eq!(report["failed"], serde_json::json!([]));
    copied
}

/// Asserts every blob of the corpus is in `dst`, byte-identical, with the
/// content type, cache control, content disposition and metadata it has in
/// `src` (plus the `sha256` entry that sync adds).
pub async fn assert_all_migrated(src: &dyn BlobStore, dst: &dyn BlobStore) {
    for i in 0..BLOBS {
        let k = key(i);
        assert_eq!(dst.get_bytes(&k).await.expect("get"), content(i), "{k}");
        let (a, b) = (
            src.head(&src.key(&k).expect("key")).await.expect("head"),
            dst.head(&dst.key(&k).expect("key")).await.expect("head"),
        );
        // The type the source inferred from the extension, not a default
        // the destination fell back to.
        let inferred = mime_guess::from_path(&k)
            .first_raw()
            .expect("known extension");
        assert_eq!(b.content_type, inferred, "{k}");
        assert_eq!(a.content_type, b.content_type, "{k}");
        assert_eq!(b.cache_control, Some(format!("public, max-age={i}")), "{k}");
        assert_eq!(a.cache_control, b.cache_control, "{k}");
        assert_eq!(b.content_disposition, Some(disposition(i)), "{k}");
        assert_eq!(a.content_disposition, b.content_disposition, "{k}");
        let mut theirs = b.metadata.clone();
        let sum = hex::encode(Sha256::digest(content(i)));
        assert_eq!(theirs.remove("sha256"), Some(sum), "{k} has its checksum");
        assert_eq!(a.metadata, theirs, "{k}");
    }
}

/// Asserts a `--json` sync report of a run that had nothing to do.
pub fn assert_nothing_to_do(report: &serde_json::Value) {
    assert_eq!(report["copied"], serde_json::json!([]));
    assert_eq!(report["unchanged"], BLOBS);
    assert_eq!(report["failed"], serde_json::json!([]));
}
