//! The local store against the filesystem calls it is built on, in one run.
//!
//! Baselines: a plain `tokio::fs::write` (what a naive app does, not crash
//! safe) and the same atomic protocol done by hand (write a temp file, fsync,
//! rename), so the ratios show what the sidecar, locking and validation cost
//! on top of atomicity.
//!
//! `cargo bench -p benches --bench local`

use std::hint::black_box;
use std::path::Path;

use storage::local::{LocalConfig, LocalStore};
use storage::{BlobStoreExt, Bytes};
use tokio::io::AsyncWriteExt;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(LocalConfig::new(dir.path().join("store"))).expect("store");
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).expect("raw dir");

    for size in [4 * 1024usize, 1024 * 1024] {
        let data = Bytes::from(vec![7u8; size]);
        println!(
            "\n{} KiB blobs, {} rounds of {:?}, median",
            size / 1024,
            benches::ROUNDS,
            benches::ROUND
        );
        let naive = benches::rate(|| {
            runtime
                .block_on(tokio::fs::write(raw.join("naive"), &data))
                .expect("write");
        });
        benches::report("baseline: tokio::fs::write", naive, naive);
        let atomic = benches::rate(|| {
            runtime
                .block_on(atomic_write(&raw, &data))
                .expect("atomic write");
        });
        benches::report("baseline: temp + fsync + rename by hand", atomic, naive);
        let put = benches::rate(|| {
            black_box(
                runtime
                    .block_on(store.put_bytes("bench/blob", data.clone()))
                    .expect("put"),
            );
        });
        benches::report("local: put_bytes", put, naive);
        println!(
            "{:<48} {:>12.2}x",
            "local put vs hand-made atomic write",
            put / atomic
        );

        let read_raw = benches::rate(|| {
            black_box(
                runtime
                    .block_on(tokio::fs::read(raw.join("naive")))
                    .expect("read"),
            );
        });
        benches::report("baseline: tokio::fs::read", read_raw, read_raw);
        let get = benches::rate(|| {
            black_box(
                runtime
                    .block_on(store.get_bytes("bench/blob"))
                    .expect("get"),
            );
        });
        benches::report("local: get_bytes (with sidecar match)", get, read_raw);
    }
}

async fn atomic_write(dir: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join("atomic.tmp");
    let mut file = tokio::fs::File::create(&tmp).await?;
    file.write_all(data).await?;
    file.sync_all().await?;
    tokio::fs::rename(&tmp, dir.join("atomic")).await
}
