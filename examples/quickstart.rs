//! Quick start: upload a file, read it back, list, delete.
//!
//! ```text
//! cargo run --example quickstart                         # local disk under ./.blobs
//! BLOB_STORAGE_PROVIDER=memory cargo run --example quickstart
//! ```
//!
//! The provider comes from `BLOB_STORAGE_PROVIDER`; nothing in this code
//! names one. A bad value makes it exit with status 1 and an error that names
//! the variable.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> storage::Result<()> {
    let store = storage::from_env()?;
    examples::quickstart::run(store.as_ref()).await
}
