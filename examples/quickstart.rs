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

use storage::{BlobStoreExt, ListOptions, PutOptions};

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
    println!("provider: {}", store.provider());

    let scratch = std::env::temp_dir().join(format!("quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| input_error(&scratch, e))?;
    let source = scratch.join("greeting.txt");
    std::fs::write(&source, "Hello from the blob storage quick start.\n")
        .map_err(|e| input_error(&source, e))?;

    let key = "quickstart/greeting.txt";
    let meta = store
        .put_file(
            key,
            &source,
            PutOptions::new().metadata("source", "quickstart"),
        )
        .await?;
    println!(
        "uploaded {key}: {} bytes, {}, etag {}",
        meta.size, meta.content_type, meta.etag
    );

    let back = store.get_bytes(key).await?;
    let original = std::fs::read(&source).map_err(|e| input_error(&source, e))?;
    assert_eq!(
        back, original,
        "the bytes read back differ from the file uploaded"
    );
    println!("read back {} bytes, identical to the file", back.len());

    let listed = store.list(ListOptions::new().prefix("quickstart/")).await?;
    for entry in &listed.entries {
        println!("listed {} ({} bytes)", entry.key, entry.size);
    }

    store.delete(&store.key(key)?).await?;
    println!("deleted {key}; exists now: {}", store.exists(key).await?);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn input_error(path: &std::path::Path, e: std::io::Error) -> storage::Error {
    storage::Error::without_provider(storage::ErrorKind::InvalidInput).with_message(format!(
        "cannot use the scratch file `{}`: {e}",
        path.display()
    ))
}
