//! Each verb as a real `blobctl` process against local (`file://`) and
//! memory stores, and the environment's store; exit codes and `--json`.

mod common;

use common::{blob, blobctl, file_url, run};

#[test]
fn put_stat_get_round_trip_keeps_bytes_and_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let src = dir.path().join("photo.png");
    std::fs::write(&src, b"\x89PNG not really").expect("write");
    let url = file_url(&store, "img/photo.png");
    let put = blob(&[
        "put",
        src.to_str().expect("utf8"),
        &url,
        "--cache-control",
        "public, max-age=60",
        "--metadata",
        "owner=42",
        "--metadata",
        "kind=demo",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(put["content_type"], "image/png");
    assert_eq!(put["size"], 15);

    let stat = blob(&["stat", &url, "--json"]).ok().json();
    assert_eq!(stat["cache_control"], "public, max-age=60");
    assert_eq!(stat["metadata"]["owner"], "42");
    assert_eq!(stat["metadata"]["kind"], "demo");
    let human = blob(&["stat", &url]).ok().stdout;
    assert!(
        human.contains("image/png") && human.contains("owner=42"),
        "{human}"
    );

    let out = dir.path().join("out.png");
    let got = blob(&["get", &url, out.to_str().expect("utf8"), "--json"])
        .ok()
        .json();
    assert_eq!(got["size"], 15);
    assert_eq!(std::fs::read(&out).expect("read"), b"\x89PNG not really");
    // No temporary file is left beside the download: store, photo, out.
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 3);

    let raw = blobctl().args(["get", &url, "-"]).output().expect("run");
    assert!(raw.status.success());
    assert_eq!(raw.stdout, b"\x89PNG not really");
}

#[test]
fn put_from_stdin_honours_content_type_and_if_not_exists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = file_url(dir.path(), "logs/today");
    let mut cmd = blobctl();
    cmd.args(["put", "-", &url, "--content-type", "text/plain", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"line one\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(meta["content_type"], "text/plain");
    assert_eq!(meta["size"], 9);

    let again = blob(&["put", "/dev/null", &url, "--if-not-exists"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(again.stderr.lines().count(), 1, "{}", again.stderr);
}

#[test]
fn ls_folds_folders_unless_recursive() {
    let dir = tempfile::tempdir().expect("tempdir");
    for key in ["a/1.txt", "a/b/2.txt", "c.txt"] {
        blob(&["put", "/dev/null", &file_url(dir.path(), key)]).ok();
    }
    let top = blob(&["ls", &file_url(dir.path(), ""), "--json"])
        .ok()
        .json();
    assert_eq!(top["folders"], serde_json::json!(["a/"]));
    assert_eq!(top["blobs"][0]["key"], "c.txt");
    let nested = blob(&["ls", &file_url(dir.path(), "a/")]).ok().stdout;
    assert_eq!(nested, "a/b/\na/1.txt\n");
    let all = blob(&["ls", &file_url(dir.path(), ""), "--recursive", "--long"])
        .ok()
        .stdout;
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.contains("a/b/2.txt") && all.contains("0 B"), "{all}");
}

#[test]
fn rm_deletes_keys_and_prefixes_only_with_yes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for key in ["t/1", "t/2", "keep"] {
        blob(&["put", "/dev/null", &file_url(dir.path(), key)]).ok();
    }
    let refused = blob(&["rm", "--prefix", &file_url(dir.path(), "t/")]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let removed = blob(&[
        "rm",
        "--prefix",
        &file_url(dir.path(), "t/"),
        "--yes",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(removed["deleted"], serde_json::json!(["t/1", "t/2"]));
    blob(&["rm", &file_url(dir.path(), "keep")]).ok();
    let left = blob(&["ls", &file_url(dir.path(), ""), "-r", "--json"])
        .ok()
        .json();
    assert_eq!(left["blobs"], serde_json::json!([]));
    // Deleting what is not there succeeds, as in the library.
    blob(&["rm", &file_url(dir.path(), "keep")]).ok();
}

#[test]
fn the_environment_store_is_used_for_bare_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = |cmd: &mut std::process::Command| {
        cmd.env("LOCAL_STORAGE_PATH", dir.path());
    };
    let mut put = blobctl();
    env(&mut put);
    run(put.args(["put", "/dev/null", "empty.bin"])).ok();
    let mut ls = blobctl();
    env(&mut ls);
    assert_eq!(run(ls.args(["ls"])).ok().stdout, "empty.bin\n");
    assert!(dir.path().join("objects/empty.bin").exists());
}

#[test]
fn cp_between_files_memory_and_local_keeps_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = file_url(&dir.path().join("a"), "x/report.pdf");
    let b = file_url(&dir.path().join("b"), "copies/");
    let src = dir.path().join("report.pdf");
    std::fs::write(&src, b"%PDF").expect("write");
    blob(&[
        "put",
        src.to_str().expect("utf8"),
        &a,
        "--cache-control",
        "no-cache",
        "--metadata",
        "n=1",
    ])
    .ok();
    let copied = blob(&["cp", &a, &b, "--json"]).ok().json();
    assert_eq!(copied["key"], "copies/report.pdf");
    let stat = blob(&[
        "stat",
        &file_url(&dir.path().join("b"), "copies/report.pdf"),
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(stat["content_type"], "application/pdf");
    assert_eq!(stat["cache_control"], "no-cache");
    assert_eq!(stat["metadata"]["n"], "1");

    // A memory store lives as long as the process: the copy succeeds.
    blob(&["cp", &a, "memory://m/report.pdf"]).ok();
    // Store to local file, and a local file to a store.
    let back = dir.path().join("back.pdf");
    blob(&["cp", &a, back.to_str().expect("utf8")]).ok();
    assert_eq!(std::fs::read(&back).expect("read"), b"%PDF");
    blob(&[
        "cp",
        back.to_str().expect("utf8"),
        &file_url(&dir.path().join("a"), "y/"),
    ])
    .ok();
    let y = blob(&[
        "stat",
        &file_url(&dir.path().join("a"), "y/back.pdf"),
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(y["content_type"], "application/pdf");
}

#[test]
fn cp_within_one_store_copies_server_side_and_keeps_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let src = dir.path().join("talk.webm");
    std::fs::write(&src, b"webm bytes").expect("write");
    blob(&[
        "put",
        src.to_str().expect("utf8"),
        &file_url(&store, "in/talk.webm"),
        "--cache-control",
        "private, max-age=60",
        "--content-disposition",
        "attachment",
        "--metadata",
        "owner=42",
    ])
    .ok();

    let copied = blob(&[
        "cp",
        &file_url(&store, "in/talk.webm"),
        &file_url(&store, "archive/"),
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(copied["method"], "server-side", "{copied}");
    assert_eq!(copied["key"], "archive/talk.webm");
    let stat = blob(&["stat", &file_url(&store, "archive/talk.webm"), "--json"])
        .ok()
        .json();
    assert_eq!(stat["content_type"], "video/webm");
    assert_eq!(stat["cache_control"], "private, max-age=60");
    assert_eq!(stat["content_disposition"], "attachment");
    assert_eq!(stat["metadata"]["owner"], "42");
    assert_eq!(stat["size"], 10);

    // Another root is another store: the bytes are streamed through blobctl.
    let other = blob(&[
        "cp",
        &file_url(&store, "in/talk.webm"),
        &file_url(&dir.path().join("other"), "talk.webm"),
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(other["method"], "streamed", "{other}");
}

#[test]
fn memory_store_answers_in_one_process() {
    let empty = blob(&["ls", "memory://", "--json"]).ok().json();
    assert_eq!(empty["blobs"], serde_json::json!([]));
    let missing = blob(&["stat", "memory://nope"]);
    assert_eq!(missing.code, 1);
    blob(&["put", "/dev/null", "memory://a.txt"]).ok();
}

#[test]
fn exit_codes_and_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = blob(&["get", &file_url(dir.path(), "nope.txt"), "-"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    assert_eq!(missing.stderr.lines().count(), 1);

    assert_eq!(blob(&["frobnicate"]).code, 2);
    assert_eq!(blob(&["put"]).code, 2);
    assert_eq!(blob(&["sign", "k", "--method", "post"]).code, 2);
    assert_eq!(blob(&["stat", "ftp://bucket/key"]).code, 2);
    let bad_key = blob(&["stat", &file_url(dir.path(), "a/../b")]);
    assert_eq!(bad_key.code, 2, "{}", bad_key.stderr);
    assert_eq!(blob(&["--help"]).code, 0);
    for verb in [
        "put", "get", "stat", "ls", "rm", "sign", "cp", "sync", "serve",
    ] {
        let help = blob(&[verb, "--help"]).ok().stdout;
        assert!(help.contains("Usage"), "{verb}: {help}");
    }
}

#[test]
fn missing_variables_are_named_and_never_echo_values() {
    let mut cmd = blobctl();
    cmd.env("BLOB_STORAGE_PROVIDER", "vercel");
    let run1 = run(cmd.args(["ls"]));
    assert_eq!(run1.code, 1);
    assert!(
        run1.stderr.contains("BLOB_READ_WRITE_TOKEN"),
        "{}",
        run1.stderr
    );

    let secret = "vercel_blob_rw_store1_TOPSECRETVALUE";
    let mut cmd = blobctl();
    cmd.env("BLOB_STORAGE_PROVIDER", "vercel")
        .env("BLOB_READ_WRITE_TOKEN", secret)
        .env("VERCEL_BLOB_API_URL", "http://127.0.0.1:9/api/blob");
    let run2 = run(cmd.args(["stat", "k"]));
    assert_eq!(run2.code, 1);
    assert!(!run2.stderr.contains("TOPSECRET"), "{}", run2.stderr);
}

#[test]
fn sign_prints_a_local_signed_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = file_url(dir.path(), "a.txt");
    blob(&["put", "/dev/null", &url]).ok();
    let signed = blob(&[
        "sign",
        &url,
        "--method",
        "put",
        "--expires",
        "5m",
        "--content-type",
        "text/plain",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(signed["method"], "PUT");
    assert!(signed["url"]
        .as_str()
        .expect("url")
        .starts_with("/blobs/a.txt?"));
    let too_long = blob(&["sign", &url, "--expires", "30days"]);
    assert_eq!(too_long.code, 1, "{}", too_long.stderr);
}
