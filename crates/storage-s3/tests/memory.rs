//! Peak memory of a large streamed round trip: 256 MiB up through `put` and
//! back through `get` (multipart, parts of 8 MiB, four in flight) must stay well under the blob's size.
//!
//! This file holds exactly one test so that nothing else runs in the
//! process: `storage_testkit::memory_bound` reads the peak resident set of
//! the whole test process. moto runs as a separate process and is not
//! counted.

mod common;

use storage_s3::S3Store;

/// The bound on the test process's peak resident memory: parts of 8 MiB, four in flight and one being read, plus the
/// process itself.
const LIMIT_KB: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_256_mib_round_trip_stays_bounded() {
    let store = S3Store::new(common::fresh_config().await).expect("store");
    let trip = storage_testkit::memory_bound::round_trip(&store, "big/stream.bin").await;
    let report = format!(
        "{trip}, part size {} bytes x concurrency {}",
        store.config().part_size(),
        store.config().max_concurrency()
    );
    println!("{report}");
    eprintln!("{report}");
    assert!(
        trip.peak_kb < LIMIT_KB,
        "{report}: over the {LIMIT_KB} kB bound"
    );
}
