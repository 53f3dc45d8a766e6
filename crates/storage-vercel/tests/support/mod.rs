//! Starting a fresh emulator and a store pointed at it, for every test file.

#![allow(dead_code)]

use storage_vercel::{Access, VercelConfig, VercelStore};
use vercel_blob_emulator::{Emulator, RunningEmulator};

/// A running emulator (stopped when dropped) and its read-write token.
pub struct Started {
    pub emulator: RunningEmulator,
    pub token: String,
}

pub async fn emulator() -> Started {
    let emulator = Emulator::builder()
        .start()
        .await
        .unwrap_or_else(|e| panic!("the Vercel Blob emulator did not start: {e}"));
    let token = emulator.rw_token().expose().to_string();
    Started { emulator, token }
}

/// A config for `started`, reading through its blob host.
pub fn config(started: &Started, access: Access) -> VercelConfig {
    VercelConfig::new(started.token.clone())
        .expect("emulator token")
        .access(access)
        .api_url(&started.emulator.api_url())
        .expect("api url")
        .blob_host_url(&format!(
            "{}/{}",
            started.emulator.blob_host_url(),
            access.as_str()
        ))
        .expect("blob host url")
}

/// A store on a fresh emulator, plus the emulator to keep alive.
pub async fn store(access: Access) -> (VercelStore, Started) {
    let started = emulator().await;
    let store = VercelStore::new(config(&started, access)).expect("store");
    (store, started)
}
