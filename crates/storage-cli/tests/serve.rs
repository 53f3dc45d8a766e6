//! `blobctl serve`: the local signed-URL router answers the URLs `blobctl
//! sign` prints, and the Vercel emulator it starts works with `blobctl`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use common::{blobctl, file_url, run};

const KEY: &str = "0123456789abcdef0123456789abcdef-test-only";

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `blobctl serve … --json` and returns it with its first line.
fn serve(cmd: &mut std::process::Command) -> (Server, serde_json::Value) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (server, info)
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn serve_local_answers_signed_urls_from_sign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_env = |mut cmd: std::process::Command| {
        cmd.env("LOCAL_STORAGE_SIGNING_KEY", KEY)
            .env("LOCAL_STORAGE_BASE_URL", "/blobs")
            .env("LOCAL_STORAGE_PATH", dir.path());
        cmd
    };
    let (_server, info) =
        serve(with_env(blobctl()).args(["serve", "local", "--addr", "127.0.0.1:0", "--json"]));
    let addr = info["addr"].as_str().expect("addr").to_string();
    assert!(info["url"].as_str().expect("url").ends_with("/blobs"));

    let file = dir.path().join("note.txt");
    std::fs::write(&file, "served").expect("write");
    run(with_env(blobctl()).args(["put", file.to_str().expect("utf8"), "notes/n.txt"])).ok();
    let signed = run(with_env(blobctl()).args(["sign", "notes/n.txt", "--json"]))
        .ok()
        .json();
    let url = signed["url"].as_str().expect("url");
    let answer = http_get(&addr, url);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("served"), "{answer}");
    let forged = http_get(
        &addr,
        &url.replace("x-blob-method=GET", "x-blob-method=PUT"),
    );
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    // The store URL form reaches the same files (same signing key).
    run(with_env(blobctl()).args(["stat", &file_url(dir.path(), "notes/n.txt")])).ok();
}

#[test]
fn serve_vercel_emulator_prints_working_variables() {
    let (_server, info) = serve(blobctl().args([
        "serve",
        "vercel-emulator",
        "--addr",
        "127.0.0.1:0",
        "--json",
    ]));
    let var = |name: &str| info[name].as_str().expect(name).to_string();
    let with_env = || {
        let mut cmd = blobctl();
        cmd.env("BLOB_STORAGE_PROVIDER", "vercel")
            .env("VERCEL_BLOB_API_URL", var("VERCEL_BLOB_API_URL"))
            .env("VERCEL_BLOB_HOST_URL", var("VERCEL_BLOB_HOST_URL"))
            .env("BLOB_READ_WRITE_TOKEN", var("BLOB_READ_WRITE_TOKEN"));
        cmd
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a.json");
    std::fs::write(&file, "{}").expect("write");
    run(with_env().args(["put", file.to_str().expect("utf8"), "x/a.json"])).ok();
    let got = run(with_env().args(["get", "vercel://x/a.json", "-"])).ok();
    assert_eq!(got.stdout, "{}");
    let stat = run(with_env().args(["stat", "x/a.json", "--json"]))
        .ok()
        .json();
    assert_eq!(stat["content_type"], "application/json");
}
