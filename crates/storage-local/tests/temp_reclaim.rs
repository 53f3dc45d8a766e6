//! Temporary files of writers killed mid-put are reclaimed by the next open,
//! and a live writer's temporary file survives any sweep.
//!
//! The test binary plays both roles: run normally it is the parent; with
//! `TEMP_RECLAIM_ROOT` set it is the writer process.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use storage_core::{BlobStore, BlobStoreExt, Body, PutOptions};
use storage_local::{LocalConfig, LocalStore};

const CHILD_ENV: &str = "TEMP_RECLAIM_ROOT";
/// What a writer sends before it stalls: enough that a leftover is visible.
const FIRST: usize = 1024 * 1024;
const SECOND: usize = 64 * 1024;

fn first_chunk() -> Bytes {
    Bytes::from(vec![b'a'; FIRST])
}

fn second_chunk() -> Bytes {
    Bytes::from(vec![b'b'; SECOND])
}

/// Runs the writer role in a child process: a put that sends [`FIRST`]
/// bytes, then waits for a line on stdin before sending the rest. Killed
/// children never get the line.
fn writer(root: String) {
    let rt = tokio::runtime::Runtime::new().expect("child runtime");
    rt.block_on(async move {
        let store = LocalStore::new(LocalConfig::new(root)).expect("child opens the store");
        let rest = futures::stream::once(async {
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map(|_| ())
            })
            .await
            .expect("stdin task")
            .expect("read the go-ahead");
            Ok(second_chunk())
        });
        let body = Body::from_stream(
            futures::stream::once(async { Ok(first_chunk()) }).chain(rest),
            Some((FIRST + SECOND) as u64),
        );
        let meta = store
            .put(&store.key("stalled").expect("key"), body, PutOptions::new())
            .await
            .expect("child put");
        println!("committed {}", meta.etag);
    });
}

fn spawn_writer(test: &str, root: &Path) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the writer process")
}

/// The files in `tmp/`.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(root.join("tmp")) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until the writer has spooled its first chunk; returns its file.
fn stalled_temp_file(root: &Path, child: &mut Child, known: &[PathBuf]) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spooled = temp_files(root).into_iter().find(|p| {
            !known.contains(p)
                && std::fs::metadata(p).is_ok_and(|m| m.len() >= FIRST as u64)
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("put-"))
        });
        if let Some(path) = spooled {
            return path;
        }
        if let Some(status) = child.try_wait().expect("poll writer") {
            panic!("the writer exited ({status}) before spooling its first chunk");
        }
        assert!(
            Instant::now() < deadline,
            "the writer spooled nothing in 30 s; tmp/ holds {:?}",
            temp_files(root)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn temp_files_of_killed_writers_are_reclaimed_on_open() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        return writer(root);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = LocalStore::new(LocalConfig::new(&root)).expect("open");
    let root = store.root().to_path_buf();
    let mut dead = Vec::new();
    for _ in 0..4 {
        let mut child = spawn_writer("temp_files_of_killed_writers_are_reclaimed_on_open", &root);
        let leftover = stalled_temp_file(&root, &mut child, &dead);
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");
        assert!(leftover.exists(), "the kill itself removed {leftover:?}");
        dead.push(leftover);
    }
    // Each writer's own open swept its predecessors; the last one's file
    // is still there for the parent's open to find.
    assert_eq!(temp_files(&root), dead[dead.len() - 1..]);
    let reopened = LocalStore::new(LocalConfig::new(&root)).expect("reopen");
    let left: Vec<_> = temp_files(&root)
        .into_iter()
        .filter(|p| dead.contains(p))
        .collect();
    assert!(left.is_empty(), "files of dead writers survived: {left:?}");
    rt.block_on(reopened.put_bytes("after", "x"))
        .expect("put after the kills");
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
    assert!(!reopened.root().join("objects/stalled").exists());
}

#[test]
fn a_live_writers_temp_file_survives_a_sweep() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        return writer(root);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let first = LocalStore::new(LocalConfig::new(&root)).expect("open");
    let root = first.root().to_path_buf();
    let mut child = spawn_writer("a_live_writers_temp_file_survives_a_sweep", &root);
    let live = stalled_temp_file(&root, &mut child, &[]);
    let size = std::fs::metadata(&live).expect("stat").len();

    // A second store's open sweeps, and its put runs beside the stalled one.
    let second = LocalStore::new(LocalConfig::new(&root)).expect("second open");
    rt.block_on(second.put_bytes("other", "y"))
        .expect("put beside the stalled writer");
    assert!(live.exists(), "a sweep removed the live writer's file");
    assert_eq!(std::fs::metadata(&live).expect("stat").len(), size);

    let mut stdin = child.stdin.take().expect("child stdin");
    writeln!(stdin, "go").expect("send the go-ahead");
    let out = child.wait_with_output().expect("writer output");
    assert!(out.status.success(), "the writer failed: {}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The harness prints the test's name on the same line, before it.
    let etag = stdout
        .split("committed ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the writer did not commit: {stdout}"));

    let key = second.key("stalled").expect("key");
    let head = rt
        .block_on(second.head(&key))
        .expect("head the committed blob");
    assert_eq!(head.etag, etag);
    let bytes = rt
        .block_on(second.get_bytes("stalled"))
        .expect("get the committed blob");
    let mut expected = first_chunk().to_vec();
    expected.extend_from_slice(&second_chunk());
    assert!(
        bytes == expected,
        "the committed blob is not the bytes sent"
    );
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
}
