//! `blobctl` logs through `tracing` on stderr: quiet by default, the
//! storage layer's spans and failures with `-vv` or `RUST_LOG=debug`, and
//! never a credential from the environment.

mod common;

use common::{blobctl, file_url, run};

/// A token shaped like Vercel's, whose secret part must never be printed.
const TOKEN: &str = "vercel_blob_rw_teststore0001_s3cr3tTokenValue0123456789";
const SIGNING_KEY: &str = "local-signing-key-0123456789abcdef0123456789abcdef";

fn with_secrets(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("BLOB_READ_WRITE_TOKEN", TOKEN)
        .env("LOCAL_STORAGE_SIGNING_KEY", SIGNING_KEY)
        .env("LOCAL_STORAGE_BASE_URL", "http://127.0.0.1:9/blobs")
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains("s3cr3tToken"), "the token leaked: {text}");
    assert!(
        !text.contains(SIGNING_KEY),
        "the signing key leaked: {text}"
    );
}

#[test]
fn debug_logs_show_storage_spans_and_failures_on_stderr_without_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("a.txt");
    std::fs::write(&src, b"hello").expect("write");
    let store = dir.path().join("store");

    let put = run(with_secrets(blobctl().args([
        "-vv",
        "put",
        src.to_str().expect("utf8"),
        &file_url(&store, "docs/a.txt"),
    ])))
    .ok();
    assert!(
        put.stderr
            .contains("blob.put{provider=local key=docs/a.txt}"),
        "{}",
        put.stderr
    );
    assert!(put.stderr.contains("close"), "{}", put.stderr);
    assert!(
        !put.stdout.contains("blob.put"),
        "logs went to stdout: {}",
        put.stdout
    );

    let missing = run(with_secrets(
        blobctl()
            .env("RUST_LOG", "debug")
            .args(["stat", &file_url(&store, "docs/missing.txt")]),
    ));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .lines()
            .any(|l| l.contains("blob.head{") && l.contains("failed") && l.contains("not found")),
        "{}",
        missing.stderr
    );

    // Signing uses the key; the URL carries a signature made with it, never the key.
    let sign = run(with_secrets(
        blobctl()
            .env("RUST_LOG", "trace")
            .args(["sign", &file_url(&store, "docs/a.txt")]),
    ))
    .ok();
    assert!(sign.stderr.contains("blob.sign{"), "{}", sign.stderr);

    for output in [&put, &missing, &sign] {
        assert_no_secret(&output.stdout);
        assert_no_secret(&output.stderr);
    }
}

#[test]
fn without_flags_a_successful_verb_logs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("a.txt");
    std::fs::write(&src, b"hello").expect("write");
    let put = run(with_secrets(blobctl().args([
        "put",
        src.to_str().expect("utf8"),
        &file_url(&dir.path().join("store"), "a.txt"),
    ])))
    .ok();
    assert_eq!(put.stderr, "", "stderr is for diagnostics only");
}
