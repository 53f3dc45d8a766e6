//! Migrations between two emulated clouds with `blobctl sync`: the 500
//! blobs of `migration.rs` (0 B to 1 MiB, with content type, cache control,
//! content disposition and metadata) put on Azurite through the library,
//! then synced from Azurite to a fresh bucket on moto (S3) and on
//! fake-gcs-server (GCS), killed part-way, rerun: every blob lands exactly
//! once, byte-identical, with every property, and a third run copies
//! nothing.
//!
//! Each `blobctl` reads both providers' variables at once: the Azure
//! connection string for the source and the S3 or GCS variables for the
//! destination, exactly as an operator's shell would hold them.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::corpus::{self, BLOBS};
use common::run;
use futures::TryStreamExt;
use storage::azure::{AzureConfig, AzureStore};
use storage::gcs::{GcsConfig, GcsStore};
use storage::s3::{S3Config, S3Store};
use storage::{BlobStore, BlobStoreExt, ListOptions};
use storage_testkit::azurite::Azurite;
use storage_testkit::gcs_emulator::GcsEmulator;
use storage_testkit::moto::{self, Moto};

/// Where a migration goes: the URL `blobctl` is given, the variables it
/// needs to reach it, and the same bucket opened in-process for checking.
struct Destination {
    url: String,
    env: Vec<(&'static str, String)>,
    store: Arc<dyn BlobStore>,
}

/// How many blobs `store` holds, listed through the library.
async fn count_blobs(store: &dyn BlobStore) -> usize {
    store
        .list_all(ListOptions::new())
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await
        .expect("list")
}

/// Seeds a fresh Azurite container with the corpus, syncs it to `dst`
/// (killed once, then rerun), and checks every blob; `name` labels the
/// timing line.
fn migrate_from_azurite(name: &str, runtime: &tokio::runtime::Runtime, dst: Destination) {
    let started = Instant::now();
    let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
    let container = runtime
        .block_on(azurite.fresh_container())
        .unwrap_or_else(|e| panic!("{e}"));
    let connection_string = azurite.connection_string();
    let config = AzureConfig::from_lookup(|var| match var {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(connection_string.clone()),
        "AZURE_STORAGE_CONTAINER_NAME" => Some(container.clone()),
        _ => None,
    })
    .expect("azure config");
    let src: Arc<dyn BlobStore> = Arc::new(AzureStore::new(config).expect("azure store"));
    runtime.block_on(corpus::seed(&*src));
    let seeded = started.elapsed();

    let src_url = format!("azure://{container}/");
    let blobctl = || {
        let mut cmd = common::blobctl();
        cmd.env("AZURE_STORAGE_CONNECTION_STRING", &connection_string)
            .envs(dst.env.iter().map(|(k, v)| (*k, v)));
        cmd
    };
    let sync = |cmd: &mut Command, extra: &[&str]| {
        cmd.args(["sync", &src_url, &dst.url]).args(extra);
    };

    // First run, killed once part of the blobs landed.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("first.log");
    let first_started = Instant::now();
    let mut first = blobctl();
    sync(&mut first, &["--jobs", "2"]);
    let mut child = first
        .stdout(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn sync");
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("sync finished ({status}) before it could be interrupted; make it slower");
        }
        let n = runtime.block_on(count_blobs(&*dst.store));
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
    let first_run = first_started.elapsed();

    let landed = runtime.block_on(corpus::landed(&*dst.store));
    assert!(
        landed.len() >= seen && landed.len() < BLOBS,
        "interrupted after {} blobs (saw {seen})",
        landed.len()
    );
    let reported = corpus::reported_copies(&std::fs::read_to_string(&log).expect("log"));
    assert!(reported.is_subset(&landed), "reported copies are all there");

    // Second run: copies exactly what had not landed.
    let second_started = Instant::now();
    let mut second = blobctl();
    sync(&mut second, &["--jobs", "2", "--json"]);
    let report = run(&mut second).ok().json();
    let copied = corpus::assert_rerun_copied_the_rest(&report, &landed);
    let second_run = second_started.elapsed();

    // Every blob is there, byte-identical, with its properties.
    runtime.block_on(corpus::assert_all_migrated(&*src, &*dst.store));
    assert_eq!(
        runtime.block_on(count_blobs(&*dst.store)),
        BLOBS,
        "no extra blobs"
    );

    // A third run finds nothing to do.
    let mut third = blobctl();
    sync(&mut third, &["--json"]);
    corpus::assert_nothing_to_do(&run(&mut third).ok().json());
    eprintln!(
        "azure -> {name} migration test took {:?} (seeding {seeded:?}; first run \
         {first_run:?}, killed after {} blobs; second run {second_run:?}, {} blobs)",
        started.elapsed(),
        landed.len(),
        copied.len()
    );
}

#[test]
fn interrupted_sync_from_azure_to_s3_resumes_and_copies_each_blob_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let moto = Moto::shared().unwrap_or_else(|e| panic!("{e}"));
    let bucket = runtime
        .block_on(moto.fresh_bucket())
        .unwrap_or_else(|e| panic!("{e}"));
    // The variables an operator would export for S3; moto's endpoint is a
    // loopback IP, so the adapter addresses it in path style unasked.
    let env = vec![
        ("AWS_ACCESS_KEY_ID", moto::ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", moto::SECRET_ACCESS_KEY.to_string()),
        ("AWS_REGION", moto::REGION.to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
    ];
    let config = S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some(bucket.clone()),
        _ => env
            .iter()
            .find(|(name, _)| *name == var)
            .map(|(_, v)| v.clone()),
    })
    .expect("s3 config");
    let store = Arc::new(S3Store::new(config).expect("s3 store"));
    let dst = Destination {
        url: format!("s3://{bucket}/"),
        env,
        store,
    };
    migrate_from_azurite("s3", &runtime, dst);
}

#[test]
fn interrupted_sync_from_azure_to_gcs_resumes_and_copies_each_blob_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = GcsEmulator::shared().unwrap_or_else(|e| panic!("{e}"));
    let bucket = runtime
        .block_on(emulator.fresh_bucket())
        .unwrap_or_else(|e| panic!("{e}"));
    // With an emulator host, requests go without credentials, as Google's
    // own SDKs send them.
    let env = vec![("STORAGE_EMULATOR_HOST", emulator.url().to_string())];
    let config = GcsConfig::from_lookup(|var| match var {
        "GCS_BUCKET" => Some(bucket.clone()),
        "STORAGE_EMULATOR_HOST" => Some(emulator.url().to_string()),
        _ => None,
    })
    .expect("gcs config");
    let store = Arc::new(GcsStore::new(config).expect("gcs store"));
    let dst = Destination {
        url: format!("gs://{bucket}/"),
        env,
        store,
    };
    migrate_from_azurite("gcs", &runtime, dst);
}
