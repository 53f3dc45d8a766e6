//! Signed-URL signing and verification rate for the local provider, against
//! a bare HMAC-SHA256 of a canonical string of the same shape (the least any
//! HMAC URL signer must do).
//!
//! `cargo bench -p benches --bench signing`

use std::hint::black_box;
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use storage::local::{LocalConfig, LocalStore};
use storage::{BlobKey, BlobStore, SignMethod, SignOptions};

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LocalConfig::new(dir.path())
        .base_url("https://app.example/blobs")
        .expect("base")
        .signing_key("benchmark-signing-key-0123456789abcdef")
        .expect("key");
    let store = LocalStore::new(config).expect("store");
    let key = BlobKey::new("recordings/2026/11/22/call-0001.webm").expect("key");
    let opts = SignOptions::new(SignMethod::Put)
        .content_type("audio/webm")
        .max_size(100 << 20);
    let now = SystemTime::now();

    let canonical = "blobstore-local-v1\nPUT\nrecordings/2026/11/22/call-0001.webm\n1795394119\naudio/webm\n104857600\n";
    let baseline = benches::rate(|| {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(b"benchmark-signing-key-0123456789abcdef")
                .expect("hmac key");
        mac.update(canonical.as_bytes());
        black_box(mac.finalize().into_bytes());
    });
    println!(
        "signing rate, {} rounds of {:?}, median",
        benches::ROUNDS,
        benches::ROUND
    );
    benches::report("baseline: raw HMAC-SHA256", baseline, baseline);

    let signer = store.signer();
    let sign = benches::rate(|| {
        black_box(signer.sign(&key, &opts, now).expect("sign"));
    });
    benches::report("local: Signer::sign (URL + headers)", sign, baseline);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dyn_store: std::sync::Arc<dyn BlobStore> = std::sync::Arc::new(store.clone());
    let via_trait = benches::rate(|| {
        black_box(
            runtime
                .block_on(dyn_store.signed_url(&key, opts.clone()))
                .expect("sign"),
        );
    });
    benches::report(
        "local: BlobStore::signed_url (dyn, async)",
        via_trait,
        baseline,
    );

    let url = signer.sign(&key, &opts, now).expect("sign").url;
    let query = url
        .split_once('?')
        .map(|(_, q)| q.to_string())
        .expect("query");
    let verify = benches::rate(|| {
        black_box(
            signer
                .verify(SignMethod::Put, key.as_str(), &query, now)
                .expect("verify"),
        );
    });
    benches::report(
        "local: Signer::verify (parse + constant-time)",
        verify,
        baseline,
    );
}
