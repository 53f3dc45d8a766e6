//! `blobctl sync` from local disk to the Vercel emulator through proxies
//! that break a fifth of the requests: the migration still exits 0 with
//! every blob byte-identical, a rerun finds everything in place and exits
//! 0 too, and no create-only write was ever sent twice.

mod common;

use common::{file_url, run, Vercel};
use sha2::{Digest, Sha256};
use storage_testkit::data::twenty_percent_faults;

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn sync_to_vercel_through_twenty_percent_faults_exits_zero_twice() {
    let vercel = Vercel::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("local");
    let mut expected = Vec::new();
    let mut rng = fastrand::Rng::with_seed(0x5ec0);
    for i in 0..30usize {
        let mut bytes = vec![0u8; rng.usize(0..150_000)];
        rng.fill(&mut bytes);
        let file = dir.path().join(format!("f{i}"));
        std::fs::write(&file, &bytes).expect("write");
        let key = format!("recordings/{i:02}.bin");
        common::blob(&["put", file.to_str().expect("utf8"), &file_url(&local, &key)]).ok();
        expected.push((key, digest(&bytes)));
    }
    // One blob large enough for a multipart upload (parts of 8 MiB).
    let big = vec![0x5au8; (9 << 20) + 123];
    let file = dir.path().join("big");
    std::fs::write(&file, &big).expect("write");
    common::blob(&[
        "put",
        file.to_str().expect("utf8"),
        &file_url(&local, "recordings/big.bin"),
    ])
    .ok();
    expected.push(("recordings/big.bin".to_string(), digest(&big)));

    let (api, host) = vercel.proxies(
        twenty_percent_faults(0xfa17_0001),
        twenty_percent_faults(0xfa17_0002),
    );
    let sync = |label: &str| {
        let out = run(vercel
            .blobctl_through(&api, &host)
            .env("BLOB_STORAGE_MAX_RETRIES", "8")
            .env("BLOB_STORAGE_ATTEMPT_TIMEOUT", "10s")
            .env("BLOB_STORAGE_DEADLINE", "60s")
            .args([
                "sync",
                &file_url(&local, "recordings/"),
                "vercel://recordings/",
                "--jobs",
                "4",
                "--json",
            ]));
        assert_eq!(
            out.code, 0,
            "{label} sync through faults failed\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        out.json()
    };
    let first = sync("first");
    assert_eq!(
        first["copied"].as_array().expect("copied").len(),
        expected.len(),
        "{first}"
    );
    let again = sync("second");
    assert_eq!(again["copied"], serde_json::json!([]), "{again}");

    let faulted = api.count(|r| r.fault.is_some()) + host.count(|r| r.fault.is_some());
    assert!(faulted >= 10, "the proxies faulted only {faulted} requests");
    // sync writes with overwrite allowed, so replays are safe; but a
    // create-only write (x-allow-overwrite: 0) must never be sent twice.
    let creates = api.count(|r| r.forwarded && r.head.header("x-allow-overwrite") == Some("0"));
    assert_eq!(creates, 0, "sync sent create-only writes");

    // Every byte, read straight from the emulator.
    for (key, want) in &expected {
        assert_eq!(&digest(&read_directly(&vercel, key)), want, "{key}");
    }
}

/// The bytes of `key`, read with no proxy in the way.
fn read_directly(vercel: &Vercel, key: &str) -> Vec<u8> {
    let out = vercel
        .blobctl()
        .args(["get", &format!("vercel://{key}"), "-"])
        .output()
        .expect("blobctl get");
    assert!(
        out.status.success(),
        "{key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
