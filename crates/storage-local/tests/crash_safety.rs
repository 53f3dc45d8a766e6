//! A writer process killed with SIGKILL at random points leaves only whole
//! blobs whose properties match their bytes, with writes flushed to disk
//! (`Fsync::Always`) and without (`Fsync::Never`): atomicity never depends
//! on fsync.
//!
//! The test binary plays both roles: run normally it is the parent; with
//! `CRASH_CHILD_ROOT` set it is the writer that gets killed, and
//! `CRASH_CHILD_FSYNC` gives its durability setting.

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use storage_core::{BlobStore, BlobStoreExt, Body, CopyOptions, ListOptions, PutOptions};
use storage_local::{Fsync, LocalConfig, LocalStore};

const CHILD_ENV: &str = "CRASH_CHILD_ROOT";
const CHILD_FSYNC_ENV: &str = "CRASH_CHILD_FSYNC";
const KEYS: usize = 12;
const ROUNDS: usize = 12;

/// The bytes that `version` of `key` must have: random-looking, of varying
/// length, and reproducible from the two numbers alone.
fn payload(key: &str, version: u64) -> Vec<u8> {
    let seed = key.bytes().fold(version, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let mut rng = fastrand::Rng::with_seed(seed);
    let len = rng.usize(0..300 * 1024);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn key_name(i: usize) -> String {
    format!("crash/{}/blob-{i}.bin", i % 3)
}

async fn writer(root: String, fsync: Fsync) {
    let store =
        LocalStore::new(LocalConfig::new(root).fsync(fsync)).expect("child opens the store");
    let mut version = std::process::id() as u64 * 1_000_000;
    loop {
        version += 1;
        let key = key_name(fastrand::usize(0..KEYS));
        let data = payload(&key, version);
        let mut opts = PutOptions::new()
            .content_type(format!("application/x-test; v={version}"))
            .metadata("version", version.to_string());
        if version.is_multiple_of(3) {
            // More than ext4 holds in a file's extended attributes, so
            // these versions keep a sidecar, and kills land between
            // versions of both kinds.
            opts = opts
                .metadata("padding_a", "p".repeat(3000))
                .metadata("padding_b", "p".repeat(3000));
        }
        match fastrand::u8(0..10) {
            0 => {
                let _ = store.delete(&store.key(&key).expect("key")).await;
            }
            1 => {
                let to = key_name(fastrand::usize(0..KEYS));
                let (from, to) = (store.key(&key).expect("key"), store.key(&to).expect("key"));
                let _ = store.copy(&from, &to, CopyOptions::new()).await;
            }
            _ => {
                // Small chunks with yields widen the window in which the
                // kill can land mid-upload.
                let chunks: Vec<storage_core::Result<Bytes>> = data
                    .chunks(16 * 1024)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                let len = data.len() as u64;
                let body = Body::from_stream(
                    futures::stream::iter(chunks).then(|c| async {
                        tokio::task::yield_now().await;
                        c
                    }),
                    Some(len),
                );
                let k = store.key(&key).expect("key");
                store.put(&k, body, opts).await.expect("child put");
            }
        }
    }
}

use futures::StreamExt;

/// Checks every blob in the store; returns how many there were.
async fn verify(store: &LocalStore) -> usize {
    let entries: Vec<_> = store
        .list_all(ListOptions::new())
        .try_collect()
        .await
        .expect("list after a crash");
    for entry in &entries {
        let key = entry.key.as_str();
        let head = store.head(&entry.key).await.expect("head a listed blob");
        // Copies keep the source's properties, so the version names the
        // payload of the key it was first written under.
        let version: u64 = head
            .metadata
            .get("version")
            .unwrap_or_else(|| panic!("{key}: metadata lost: {head:?}"))
            .parse()
            .expect("version is a number");
        assert_eq!(
            head.content_type,
            format!("application/x-test; v={version}"),
            "{key}: content type and metadata disagree"
        );
        let bytes = store.get_bytes(key).await.expect("get a listed blob");
        assert_eq!(
            bytes.len() as u64,
            head.size,
            "{key}: size differs from head"
        );
        assert_eq!(
            entry.etag, head.etag,
            "{key}: list and head disagree on the etag"
        );
        let whole = (0..KEYS).any(|i| payload(&key_name(i), version) == bytes.as_ref());
        assert!(
            whole,
            "{key}: {} bytes match no whole payload of version {version}",
            bytes.len()
        );
    }
    entries.len()
}

/// In the parent, kills writers of `fsync` and checks what they left; in
/// the child (started by `test`, the calling test's name), is the writer.
fn kill_writers(test: &str, fsync: Fsync) {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        let fsync = std::env::var(CHILD_FSYNC_ENV)
            .expect("the parent gives the setting")
            .parse()
            .expect("a valid setting");
        let rt = tokio::runtime::Runtime::new().expect("child runtime");
        rt.block_on(writer(root, fsync));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let exe = std::env::current_exe().expect("test binary path");
    let mut blobs_seen = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([test, "--exact", "--nocapture"])
            .env(CHILD_ENV, &root)
            .env(CHILD_FSYNC_ENV, fsync.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the writer process");
        std::thread::sleep(Duration::from_millis(150 + fastrand::u64(0..400)));
        if let Some(status) = child.try_wait().expect("poll writer") {
            let out = child.wait_with_output().expect("writer output");
            panic!(
                "round {round}: the writer exited on its own ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");
        let store = LocalStore::new(LocalConfig::new(&root)).expect("reopen after the kill");
        // Wherever the kill landed, the writer's temporary files died with it.
        let left: Vec<_> = std::fs::read_dir(root.join("tmp"))
            .expect("read tmp/")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "round {round}: tmp/ still holds {left:?}");
        blobs_seen += rt.block_on(verify(&store));
    }
    assert!(
        blobs_seen > ROUNDS,
        "the writer barely wrote anything ({blobs_seen} blobs over {ROUNDS} rounds)"
    );
}

#[test]
fn killed_writers_leave_only_whole_blobs() {
    kill_writers("killed_writers_leave_only_whole_blobs", Fsync::Always);
}

#[test]
fn killed_writers_leave_only_whole_blobs_without_fsync() {
    kill_writers(
        "killed_writers_leave_only_whole_blobs_without_fsync",
        Fsync::Never,
    );
}
