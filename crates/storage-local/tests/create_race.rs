//! `PutMode::Create` lets exactly one of several processes create a key.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use storage_core::{BlobStoreExt, ErrorKind, PutMode, PutOptions};
use storage_local::{LocalConfig, LocalStore};

const CHILD_ENV: &str = "CREATE_RACE_ROOT";
const ID_ENV: &str = "CREATE_RACE_ID";
const PROCESSES: usize = 4;
const KEYS: usize = 40;

async fn contender(root: &str, id: &str) {
    let store = LocalStore::new(LocalConfig::new(root)).expect("child opens the store");
    // Start together: wait for the parent's signal file.
    let go = Path::new(root).join("go");
    while !go.exists() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for i in 0..KEYS {
        let key = format!("race/{i:02}");
        let body = format!("written by {id}");
        let opts = PutOptions::new().mode(PutMode::Create);
        match store.put_bytes_with(&key, body, opts).await {
            Ok(_) => println!("won {key}"),
            Err(e) if e.kind() == &ErrorKind::AlreadyExists => {}
            Err(e) => panic!("contender {id}: unexpected error on {key}: {e}"),
        }
    }
}

#[test]
fn create_is_exclusive_across_processes() {
    if let (Ok(root), Ok(id)) = (std::env::var(CHILD_ENV), std::env::var(ID_ENV)) {
        let rt = tokio::runtime::Runtime::new().expect("child runtime");
        rt.block_on(contender(&root, &id));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let exe = std::env::current_exe().expect("test binary path");
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "create_is_exclusive_across_processes",
                    "--exact",
                    "--nocapture",
                ])
                .env(CHILD_ENV, &root)
                .env(ID_ENV, id.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a contender")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(root.join("go"), b"").expect("signal the start");

    let mut winners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (id, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("contender output");
        assert!(
            out.status.success(),
            "contender {id} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(key) = line.strip_prefix("won ") {
                winners.entry(key.to_string()).or_default().push(id);
            }
        }
    }
    assert_eq!(winners.len(), KEYS, "every key has a winner: {winners:?}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = LocalStore::new(LocalConfig::new(&root)).expect("open");
    for (key, ids) in &winners {
        assert_eq!(
            ids.len(),
            1,
            "{key} was created by several processes: {ids:?}"
        );
        let stored = rt.block_on(store.get_bytes(key)).expect("read the winner");
        assert_eq!(stored, format!("written by {}", ids[0]), "{key}");
    }
}
