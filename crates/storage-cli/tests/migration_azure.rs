//! The migration of `migration.rs` to another provider: `blobctl sync` of
//! 500 blobs of mixed sizes (0 B to 1 MiB) with content type, cache control
//! and metadata, from a local store to a fresh container on Azurite, killed
//! part-way, rerun: every blob lands exactly once, byte-identical, with its
//! properties.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::corpus::{self, BLOBS};
use common::{file_url, run};
use futures::TryStreamExt;
use storage::azure::{AzureConfig, AzureStore};
use storage::{BlobStore, BlobStoreExt, ListOptions};
use storage_testkit::azurite::Azurite;

/// How many blobs the container holds, listed through the library.
async fn count_blobs(store: &dyn BlobStore) -> usize {
    store
        .list_all(ListOptions::new())
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await
        .expect("list")
}

#[test]
fn interrupted_sync_to_azure_resumes_and_copies_each_blob_once() {
    let started = Instant::now();
    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let container = runtime
        .block_on(azurite.fresh_container())
        .unwrap_or_else(|e| panic!("{e}"));
    let connection_string = azurite.connection_string();
    let blobctl = || {
        let mut cmd = common::blobctl();
        cmd.env("AZURE_STORAGE_CONNECTION_STRING", &connection_string);
        cmd
    };
    let dst_url = format!("azure://{container}/");

    let dir = tempfile::tempdir().expect("tempdir");
    let src_dir = dir.path().join("src");
    let src = storage::open(&format!("file://{}", src_dir.display())).expect("open src");
    runtime.block_on(corpus::seed(&*src));
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(connection_string.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("azure config");
    let dst: Arc<dyn BlobStore> = Arc::new(AzureStore::new(config).expect("azure store"));
    let seeded = Instant::now();

    // First run, killed once part of the blobs landed.
    let log = dir.path().join("first.log");
    let mut child = blobctl()
        .args(["sync", &file_url(&src_dir, ""), &dst_url, "--jobs", "2"])
        .stdout(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn sync");
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("sync finished ({status}) before it could be interrupted; make it slower");
        }
        let n = runtime.block_on(count_blobs(&*dst));
        if n >= 100 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "sync made no progress ({n} blobs)"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("kill");
    child.wait().expect("wait");
    let first_run = seeded.elapsed();

    let landed = runtime.block_on(corpus::landed(&*dst));
    assert!(
        landed.len() >= seen && landed.len() < BLOBS,
        "interrupted after {} blobs (saw {seen})",
        landed.len()
    );
    let reported = corpus::reported_copies(&std::fs::read_to_string(&log).expect("log"));
    assert!(reported.is_subset(&landed), "reported copies are all there");

    // Second run: copies exactly what had not landed.
    let second_started = Instant::now();
    let second = run(blobctl().args([
        "sync",
        &file_url(&src_dir, ""),
        &dst_url,
        "--jobs",
        "2",
        "--json",
    ]))
    .ok()
    .json();
    let copied = corpus::assert_rerun_copied_the_rest(&second, &landed);
    let second_run = second_started.elapsed();

    // Every blob is there, byte-identical, with its properties.
    runtime.block_on(corpus::assert_all_migrated(&*src, &*dst));
    assert_eq!(
        runtime.block_on(count_blobs(&*dst)),
        BLOBS,
        "no extra blobs"
    );

    // A third run finds nothing to do.
    let third = run(blobctl().args(["sync", &file_url(&src_dir, ""), &dst_url, "--json"]))
        .ok()
        .json();
    corpus::assert_nothing_to_do(&third);
    eprintln!(
        "azure migration test took {:?} (first run {first_run:?}, killed after {} blobs; \
         second run {second_run:?}, {} blobs)",
        started.elapsed(),
        landed.len(),
        copied.len()
    );
}
