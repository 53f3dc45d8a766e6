//! A migration with `blobctl sync`: 500 blobs of mixed sizes (0 B to
//! 1 MiB) with content type, cache control and metadata, from one local
//! store to another, killed half-way, rerun: every blob lands exactly once,
//! byte-identical, with its properties.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::corpus::{self, BLOBS};
use common::{blob, blobctl, file_url};

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn interrupted_sync_resumes_and_copies_each_blob_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let (src_dir, dst_dir) = (dir.path().join("src"), dir.path().join("dst"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let src = storage::open(&format!("file://{}", src_dir.display())).expect("open src");
    runtime.block_on(corpus::seed(&*src));

    // First run, killed once part of the blobs landed.
    let log = dir.path().join("first.log");
    let mut child = blobctl()
        .args([
            "sync",
            &file_url(&src_dir, ""),
            &file_url(&dst_dir, ""),
            "--jobs",
            "2",
        ])
        .stdout(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn sync");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("sync finished ({status}) before it could be interrupted; make it slower");
        }
        if count_files(&dst_dir.join("objects")) >= 100 {
            break;
        }
        assert!(Instant::now() < deadline, "sync made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");

    let dst = storage::open(&format!("file://{}", dst_dir.display())).expect("open dst");
    let landed = runtime.block_on(corpus::landed(&*dst));
    assert!(
        !landed.is_empty() && landed.len() < BLOBS,
        "interrupted after {} blobs",
        landed.len()
    );
    let reported = corpus::reported_copies(&std::fs::read_to_string(&log).expect("log"));
    assert!(reported.is_subset(&landed), "reported copies are all there");

    // Second run: copies exactly what had not landed.
    let second = blob(&[
        "sync",
        &file_url(&src_dir, ""),
        &file_url(&dst_dir, ""),
        "--jobs",
        "2",
        "--json",
    ])
    .ok()
    .json();
    corpus::assert_rerun_copied_the_rest(&second, &landed);

    // Every blob is there, byte-identical, with its properties.
    runtime.block_on(corpus::assert_all_migrated(&*src, &*dst));

    // A third run finds nothing to do.
    let third = blob(&[
        "sync",
        &file_url(&src_dir, ""),
        &file_url(&dst_dir, ""),
        "--json",
    ])
    .ok()
    .json();
    corpus::assert_nothing_to_do(&third);
    eprintln!("migration test took {:?}", started.elapsed());
}

#[test]
fn sync_copies_changed_blobs_deletes_extras_and_dry_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (k, body) in [("p/1.txt", "one"), ("p/2.txt", "two")] {
        let file = dir.path().join("f");
        std::fs::write(&file, body).expect("write");
        blob(&["put", file.to_str().expect("utf8"), &file_url(&a, k)]).ok();
    }
    blob(&["sync", &file_url(&a, "p/"), &file_url(&b, "q/")]).ok();
    // Same size, other content: found by the checksum, not the size.
    let file = dir.path().join("f");
    std::fs::write(&file, "TWO").expect("write");
    blob(&[
        "put",
        file.to_str().expect("utf8"),
        &file_url(&a, "p/2.txt"),
    ])
    .ok();
    blob(&["put", "/dev/null", &file_url(&b, "q/extra")]).ok();

    let dry = blob(&[
        "sync",
        &file_url(&a, "p/"),
        &file_url(&b, "q/"),
        "--delete",
        "--dry-run",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["copied"][0]["key"], "q/2.txt");
    assert_eq!(dry["deleted"], serde_json::json!(["q/extra"]));

    let real = blob(&[
        "sync",
        &file_url(&a, "p/"),
        &file_url(&b, "q/"),
        "--delete",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(real["copied"].as_array().expect("copied").len(), 1);
    assert_eq!(real["unchanged"], 1);
    let out = blob(&["get", &file_url(&b, "q/2.txt"), "-"]).ok().stdout;
    assert_eq!(out, "TWO");
    assert_eq!(blob(&["stat", &file_url(&b, "q/extra")]).code, 1);
}
