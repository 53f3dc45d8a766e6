//! The verbs against Azure Blob, as Azurite (started once for this test
//! binary by `storage_testkit::azurite`), with the real `blobctl` binary as
//! a child process. Credentials come from `AZURE_STORAGE_CONNECTION_STRING`;
//! the container from `azure://<container>/…` URLs, or from
//! `AZURE_STORAGE_CONTAINER_NAME` for bare keys. Each test takes its own
//! fresh container. When Azurite cannot be started, every test fails with
//! the launcher's reason.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{file_url, run, Run};
use serde_json::json;
use storage_testkit::azurite::Azurite;

/// One fresh container on the shared Azurite.
struct Az {
    azurite: &'static Azurite,
    container: String,
}

impl Az {
    fn new() -> Self {
        let azurite = Azurite::shared().unwrap_or_else(|e| panic!("{e}"));
        let container = runtime()
            .block_on(azurite.fresh_container())
            .unwrap_or_else(|e| panic!("{e}"));
        Az { azurite, container }
    }

    /// `blobctl` with the Azurite credentials and nothing else: the
    /// container must come from an `azure://` URL.
    fn blobctl(&self) -> Command {
        let mut cmd = common::blobctl();
        cmd.env(
            "AZURE_STORAGE_CONNECTION_STRING",
            self.azurite.connection_string(),
        );
        cmd
    }

    /// `blobctl` whose environment's store is this container, for bare keys.
    fn env_blobctl(&self) -> Command {
        let mut cmd = self.blobctl();
        cmd.env("BLOB_STORAGE_PROVIDER", "azure")
            .env("AZURE_STORAGE_CONTAINER_NAME", &self.container);
        cmd
    }

    /// Runs `blobctl args…` with the credentials.
    fn blob(&self, args: &[&str]) -> Run {
        run(self.blobctl().args(args))
    }

    /// `azure://<container>/<key>`.
    fn url(&self, key: &str) -> String {
        format!("azure://{}/{key}", self.container)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Bytes that are not UTF-8, so a lossy or text-mode path would show.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8 ^ 0x80).collect()
}

/// Asserts exit 1 with exactly one `blobctl: error:` line on stderr.
fn assert_failed_one_line(run: &Run, needle: &str) {
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {:?}", run.stderr);
    assert!(lines[0].starts_with("blobctl: error: "), "{}", run.stderr);
    assert!(
        lines[0].to_lowercase().contains(needle),
        "`{needle}` in {}",
        run.stderr
    );
}

fn keys_of(list: &serde_json::Value) -> BTreeSet<String> {
    list["blobs"]
        .as_array()
        .expect("blobs")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_string())
        .collect()
}

#[test]
fn put_stat_and_get_keep_bytes_and_properties() {
    let az = Az::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("upload.bin");
    let bytes = binary(300_000);
    std::fs::write(&file, &bytes).expect("write");
    let src = file.to_str().expect("utf8");

    let put = az
        .blob(&[
            "put",
            src,
            &az.url("data/blob.bin"),
            "--content-type",
            "application/x-test",
            "--cache-control",
            "public, max-age=60",
            "--metadata",
            "owner=42",
            "--metadata",
            "team_name=blobs",
            "--if-not-exists",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(put["key"], "data/blob.bin");
    assert_eq!(put["size"], 300_000);

    let stat = az
        .blob(&["stat", &az.url("data/blob.bin"), "--json"])
        .ok()
        .json();
    assert_eq!(stat["size"], 300_000);
    assert_eq!(stat["content_type"], "application/x-test");
    assert_eq!(stat["cache_control"], "public, max-age=60");
    assert_eq!(
        stat["metadata"],
        json!({ "owner": "42", "team_name": "blobs" })
    );

    // The environment's store (bare keys) is the same container.
    let env_stat = run(az.env_blobctl().args(["stat", "data/blob.bin", "--json"]))
        .ok()
        .json();
    assert_eq!(env_stat["etag"], stat["etag"]);

    // A second create-only put is refused and changes nothing.
    std::fs::write(dir.path().join("other.txt"), "other").expect("write");
    let again = az.blob(&[
        "put",
        dir.path().join("other.txt").to_str().expect("utf8"),
        &az.url("data/blob.bin"),
        "--if-not-exists",
    ]);
    assert_failed_one_line(&again, "--if-not-exists");
    let after = az
        .blob(&["stat", &az.url("data/blob.bin"), "--json"])
        .ok()
        .json();
    assert_eq!(after["etag"], stat["etag"]);
    assert_eq!(after["size"], 300_000);

    // To a file (into a directory: the key's name), byte for byte.
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let got = az
        .blob(&[
            "get",
            &az.url("data/blob.bin"),
            out_dir.to_str().expect("utf8"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(got["size"], 300_000);
    assert_eq!(
        std::fs::read(out_dir.join("blob.bin")).expect("read"),
        bytes
    );

    // To stdout, byte for byte (raw output, not the lossy text of `Run`).
    let output = az
        .blobctl()
        .args(["get", &az.url("data/blob.bin"), "-"])
        .output()
        .expect("run blobctl");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout == bytes, "stdout differs from the upload");

    // Bare keys through the environment, and the guessed content type.
    std::fs::write(dir.path().join("note.txt"), "hi").expect("write");
    let note = run(az.env_blobctl().args([
        "put",
        dir.path().join("note.txt").to_str().expect("utf8"),
        "notes/note.txt",
        "--json",
    ]))
    .ok()
    .json();
    assert_eq!(note["content_type"], "text/plain");
    let text = run(az.env_blobctl().args(["get", "notes/note.txt", "-"])).ok();
    assert_eq!(text.stdout, "hi");
}

#[test]
fn a_missing_blob_fails_with_exit_1_and_one_line() {
    let az = Az::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let get = az.blob(&["get", &az.url("no/such.txt"), "-"]);
    assert_failed_one_line(&get, "not found");
    assert_eq!(get.stdout, "");
    let to_file = dir.path().join("never.txt");
    let get_file = az.blob(&[
        "get",
        &az.url("no/such.txt"),
        to_file.to_str().expect("utf8"),
    ]);
    assert_failed_one_line(&get_file, "not found");
    assert!(!to_file.exists(), "a failed get leaves no file");
    let stat = az.blob(&["stat", &az.url("no/such.txt"), "--json"]);
    assert_failed_one_line(&stat, "not found");
    let cp = az.blob(&[
        "cp",
        &az.url("no/such.txt"),
        &file_url(&dir.path().join("store"), "x.txt"),
    ]);
    assert_failed_one_line(&cp, "not found");
}

#[test]
fn ls_folds_folders_lists_recursively_and_rm_deletes() {
    let az = Az::new();
    for key in [
        "a.txt",
        "docs/one.txt",
        "docs/two.txt",
        "docs/deep/three.txt",
        "img/x.png",
    ] {
        az.blob(&["put", "/dev/null", &az.url(key)]).ok();
    }

    let top = az.blob(&["ls", &az.url(""), "--json"]).ok().json();
    assert_eq!(top["folders"], json!(["docs/", "img/"]));
    assert_eq!(keys_of(&top), BTreeSet::from(["a.txt".to_string()]));
    // A URL without a key lists the whole container too.
    let bare = az
        .blob(&["ls", &format!("azure://{}", az.container), "--json"])
        .ok()
        .json();
    assert_eq!(bare["folders"], top["folders"]);

    let docs = az.blob(&["ls", &az.url("docs/"), "--json"]).ok().json();
    assert_eq!(docs["folders"], json!(["docs/deep/"]));
    assert_eq!(
        keys_of(&docs),
        BTreeSet::from(["docs/one.txt".to_string(), "docs/two.txt".to_string()])
    );

    let all = az
        .blob(&["ls", &az.url(""), "--recursive", "--json"])
        .ok()
        .json();
    assert_eq!(all["folders"], json!([]));
    assert_eq!(keys_of(&all).len(), 5, "{all}");

    // Human listing: folders marked DIR, blobs with size and time.
    let long = az.blob(&["ls", &az.url(""), "--long"]).ok().stdout;
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.len(), 3, "{long}");
    assert!(
        lines[0].contains("DIR") && lines[0].ends_with("docs/"),
        "{long}"
    );
    assert!(
        lines[1].contains("DIR") && lines[1].ends_with("img/"),
        "{long}"
    );
    assert!(
        lines[2].ends_with("a.txt") && lines[2].contains("0 B") && lines[2].contains('T'),
        "{long}"
    );
    let short = az.blob(&["ls", &az.url("docs/"), "-r"]).ok().stdout;
    assert_eq!(
        short.lines().collect::<BTreeSet<_>>(),
        BTreeSet::from(["docs/one.txt", "docs/two.txt", "docs/deep/three.txt"]),
    );

    // rm one blob; it is gone, and deleting it again still succeeds.
    let rm = az.blob(&["rm", &az.url("a.txt"), "--json"]).ok().json();
    assert_eq!(rm["deleted"], json!(["a.txt"]));
    assert_eq!(az.blob(&["stat", &az.url("a.txt")]).code, 1);
    az.blob(&["rm", &az.url("a.txt")]).ok();

    // rm --prefix needs --yes, then takes everything under the prefix.
    let refused = az.blob(&["rm", "--prefix", &az.url("docs/")]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(
        keys_of(&az.blob(&["ls", &az.url(""), "-r", "--json"]).ok().json()).len(),
        4
    );
    let gone = az
        .blob(&["rm", "--prefix", &az.url("docs/"), "--yes", "--json"])
        .ok()
        .json();
    let deleted: BTreeSet<&str> = gone["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .map(|k| k.as_str().expect("key"))
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from(["docs/one.txt", "docs/two.txt", "docs/deep/three.txt"])
    );
    let left = az.blob(&["ls", &az.url(""), "-r", "--json"]).ok().json();
    assert_eq!(keys_of(&left), BTreeSet::from(["img/x.png".to_string()]));
}

#[test]
fn a_signed_get_url_downloads_without_credentials() {
    let az = Az::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("signed.bin");
    let bytes = binary(40_000);
    std::fs::write(&file, &bytes).expect("write");
    az.blob(&[
        "put",
        file.to_str().expect("utf8"),
        &az.url("s/signed.bin"),
        "--content-type",
        "application/octet-stream",
    ])
    .ok();

    let signed = az
        .blob(&[
            "sign",
            &az.url("s/signed.bin"),
            "--method",
            "get",
            "--expires",
            "5m",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(signed["method"], "GET");
    let url = signed["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("http"), "{signed}");
    // The human form prints the URL alone on its first line.
    let human = az
        .blob(&["sign", &az.url("s/signed.bin"), "--method", "get"])
        .ok()
        .stdout;
    assert!(
        human.lines().next().is_some_and(|l| l.starts_with("http")),
        "{human}"
    );

    let (status, body) = runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .send()
            .await
            .expect("GET the signed URL");
        let status = response.status();
        (status, response.bytes().await.expect("body"))
    });
    assert!(status.is_success(), "GET {url}: {status}");
    assert!(body.as_ref() == bytes.as_slice(), "signed GET bytes differ");

    // Without the signature, the same blob is not readable.
    let bare = url.split('?').next().expect("url").to_string();
    let status = runtime().block_on(async {
        reqwest::Client::new()
            .get(&bare)
            .send()
            .await
            .expect("GET")
            .status()
    });
    assert!(!status.is_success(), "unsigned GET {bare}: {status}");
}

#[test]
fn cp_between_local_and_azure_keeps_properties() {
    let az = Az::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local");
    let file = dir.path().join("report.pdf");
    let bytes = binary(120_000);
    std::fs::write(&file, &bytes).expect("write");
    common::blob(&[
        "put",
        file.to_str().expect("utf8"),
        &file_url(&local, "in/report.pdf"),
        "--cache-control",
        "private, max-age=600",
        "--metadata",
        "owner=7",
        "--metadata",
        "kind=report",
    ])
    .ok();

    // file:// → azure://, into a folder (the source's name is kept).
    let up = az
        .blob(&[
            "cp",
            &file_url(&local, "in/report.pdf"),
            &az.url("copies/"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(up["key"], "copies/report.pdf");
    let stat = az
        .blob(&["stat", &az.url("copies/report.pdf"), "--json"])
        .ok()
        .json();
    assert_eq!(stat["size"], 120_000);
    assert_eq!(stat["content_type"], "application/pdf");
    assert_eq!(stat["cache_control"], "private, max-age=600");
    assert_eq!(stat["metadata"], json!({ "owner": "7", "kind": "report" }));

    // azure:// → the same container: Azure copies by itself, properties and all.
    let within = az
        .blob(&[
            "cp",
            &az.url("copies/report.pdf"),
            &az.url("archive/report.pdf"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(within["method"], "server-side", "{within}");
    let archived = az
        .blob(&["stat", &az.url("archive/report.pdf"), "--json"])
        .ok()
        .json();
    assert_eq!(archived["size"], 120_000);
    assert_eq!(archived["cache_control"], "private, max-age=600");
    assert_eq!(
        archived["metadata"],
        json!({ "owner": "7", "kind": "report" })
    );

    // azure:// → file:// (another local store), to a full key.
    let back = dir.path().join("back");
    let down = az
        .blob(&[
            "cp",
            &az.url("copies/report.pdf"),
            &file_url(&back, "out/report.pdf"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(down["key"], "out/report.pdf");
    let local_stat = common::blob(&["stat", &file_url(&back, "out/report.pdf"), "--json"])
        .ok()
        .json();
    assert_eq!(local_stat["content_type"], "application/pdf");
    assert_eq!(local_stat["cache_control"], "private, max-age=600");
    assert_eq!(
        local_stat["metadata"],
        json!({ "owner": "7", "kind": "report" })
    );
    let got = common::blobctl()
        .args(["get", &file_url(&back, "out/report.pdf"), "-"])
        .output()
        .expect("run blobctl");
    assert!(got.status.success(), "{got:?}");
    assert!(got.stdout == bytes, "round trip changed the bytes");

    // A plain local path in, and a plain local path out.
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "plain text").expect("write");
    az.blob(&["cp", plain.to_str().expect("utf8"), &az.url("p/plain.txt")])
        .ok();
    let out = dir.path().join("plain-back.txt");
    az.blob(&["cp", &az.url("p/plain.txt"), out.to_str().expect("utf8")])
        .ok();
    assert_eq!(std::fs::read(&out).expect("read"), b"plain text");
}

#[test]
fn sync_from_local_to_azure_copies_once_and_then_nothing() {
    const COUNT: usize = 50;
    let az = Az::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local");
    let file = dir.path().join("src.bin");
    for i in 0..COUNT {
        std::fs::write(&file, binary(1_000 + i * 37)).expect("write");
        let key = format!("set/{}/blob-{i:02}.bin", i % 3);
        let index = format!("index={i}");
        common::blob(&[
            "put",
            file.to_str().expect("utf8"),
            &file_url(&local, &key),
            "--content-type",
            "application/x-blob",
            "--cache-control",
            "max-age=30",
            "--metadata",
            &index,
        ])
        .ok();
    }

    let first = az
        .blob(&[
            "sync",
            &file_url(&local, "set/"),
            &az.url("mirror/"),
            "--jobs",
            "8",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(first["failed"], json!([]));
    assert_eq!(first["unchanged"], 0);
    let copied: BTreeSet<&str> = first["copied"]
        .as_array()
        .expect("copied")
        .iter()
        .map(|c| c["key"].as_str().expect("key"))
        .collect();
    assert_eq!(copied.len(), COUNT, "{first}");
    assert!(copied.contains("mirror/2/blob-05.bin"), "{first}");
    let total: u64 = (0..COUNT as u64).map(|i| 1_000 + i * 37).sum();
    assert_eq!(first["bytes"], total);

    let listed = az
        .blob(&["ls", &az.url("mirror/"), "--recursive", "--json"])
        .ok()
        .json();
    assert_eq!(keys_of(&listed).len(), COUNT);
    let stat = az
        .blob(&["stat", &az.url("mirror/1/blob-07.bin"), "--json"])
        .ok()
        .json();
    assert_eq!(stat["size"], 1_000 + 7 * 37);
    assert_eq!(stat["content_type"], "application/x-blob");
    assert_eq!(stat["cache_control"], "max-age=30");
    assert_eq!(stat["metadata"]["index"], "7");
    let sum = stat["metadata"]["sha256"].as_str().expect("sha256 entry");
    assert_eq!(sum.len(), 64, "{stat}");

    // A rerun copies nothing.
    let again = az
        .blob(&[
            "sync",
            &file_url(&local, "set/"),
            &az.url("mirror/"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(again["copied"], json!([]));
    assert_eq!(again["unchanged"], COUNT);
    assert_eq!(again["failed"], json!([]));
    assert_eq!(again["bytes"], 0);

    // Changing one source blob (same size, other bytes) copies just it.
    let mut changed = binary(1_000 + 4 * 37);
    changed[0] ^= 0xff;
    std::fs::write(&file, &changed).expect("write");
    common::blob(&[
        "put",
        file.to_str().expect("utf8"),
        &file_url(&local, "set/1/blob-04.bin"),
        "--metadata",
        "index=4",
    ])
    .ok();
    let third = az
        .blob(&[
            "sync",
            &file_url(&local, "set/"),
            &az.url("mirror/"),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        third["copied"],
        json!([{ "key": "mirror/1/blob-04.bin", "size": 1_000 + 4 * 37 }])
    );
    assert_eq!(third["unchanged"], COUNT - 1);
    let output = az
        .blobctl()
        .args(["get", &az.url("mirror/1/blob-04.bin"), "-"])
        .output()
        .expect("run blobctl");
    assert!(output.stdout == changed, "the changed blob was not copied");
}
