//! The verbs against the Vercel Blob emulator, started in-process and
//! reached through the library's variables (`BLOB_STORAGE_PROVIDER=vercel`,
//! `BLOB_READ_WRITE_TOKEN`, `VERCEL_BLOB_API_URL`, `VERCEL_BLOB_HOST_URL`).

mod common;

use common::{file_url, run, Vercel};

#[test]
fn put_get_stat_ls_rm_on_the_emulator() {
    let vercel = Vercel::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hello.txt");
    std::fs::write(&file, "hello vercel").expect("write");
    let put = vercel
        .blob(&[
            "put",
            file.to_str().expect("utf8"),
            "docs/hello.txt",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(put["size"], 12);
    assert_eq!(put["content_type"], "text/plain");
    // Same store through a URL.
    let stat = vercel
        .blob(&["stat", "vercel://docs/hello.txt", "--json"])
        .ok()
        .json();
    assert_eq!(stat["size"], 12);
    assert_eq!(
        vercel.blob(&["get", "docs/hello.txt", "-"]).ok().stdout,
        "hello vercel"
    );
    let ls = vercel.blob(&["ls", "--json"]).ok().json();
    assert_eq!(ls["folders"], serde_json::json!(["docs/"]));
    vercel.blob(&["rm", "vercel://docs/hello.txt"]).ok();
    let missing = vercel.blob(&["stat", "docs/hello.txt"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    // Vercel keeps no user metadata: asking for it fails, naming why.
    let refused = vercel.blob(&["put", "/dev/null", "m", "--metadata", "a=b"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("metadata"), "{}", refused.stderr);
}

#[test]
fn cp_and_sync_from_local_to_the_emulator_and_back() {
    let vercel = Vercel::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local");
    let file = dir.path().join("clip.webm");
    std::fs::write(&file, vec![7u8; 70_000]).expect("write");
    common::blob(&[
        "put",
        file.to_str().expect("utf8"),
        &file_url(&local, "media/clip.webm"),
        "--cache-control",
        "no-store",
        "--metadata",
        "owner=7",
    ])
    .ok();
    // cp drops what Vercel cannot keep instead of failing.
    let cp = vercel
        .blob(&[
            "cp",
            &file_url(&local, "media/clip.webm"),
            "vercel://copies/",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(cp["key"], "copies/clip.webm");
    assert_eq!(cp["content_type"], "video/webm");
    // Within the store, Vercel's copy call does it: no bytes through blobctl.
    let within = vercel
        .blob(&[
            "cp",
            "vercel://copies/clip.webm",
            "vercel://kept/",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(within["method"], "server-side", "{within}");
    assert_eq!(within["key"], "kept/clip.webm");
    assert_eq!(within["content_type"], "video/webm");

    let first = vercel
        .blob(&[
            "sync",
            &file_url(&local, "media/"),
            "vercel://media/",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(first["copied"][0]["key"], "media/clip.webm");
    // Without metadata on Vercel, the rerun reads and hashes: still no copy.
    let again = vercel
        .blob(&[
            "sync",
            &file_url(&local, "media/"),
            "vercel://media/",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(again["copied"], serde_json::json!([]));
    assert_eq!(again["unchanged"], 1);

    let back = dir.path().join("back");
    vercel
        .blob(&["sync", "vercel://media/", &file_url(&back, "m/")])
        .ok();
    let got = run(common::blobctl().args(["get", &file_url(&back, "m/clip.webm"), "-"]));
    assert_eq!(got.code, 0);
    assert_eq!(std::fs::read(&file).expect("read").len(), got.stdout.len());
}

#[test]
fn sign_on_the_emulator_gives_a_url() {
    let vercel = Vercel::start();
    vercel.blob(&["put", "/dev/null", "s/a.txt"]).ok();
    let signed = vercel
        .blob(&["sign", "vercel://s/a.txt", "--method", "get", "--json"])
        .ok()
        .json();
    assert_eq!(signed["method"], "GET");
    assert!(
        signed["url"].as_str().expect("url").starts_with("http"),
        "{signed}"
    );
}
