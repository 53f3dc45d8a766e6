//! The quick start's steps, on whatever store it is given: upload a file,
//! read it back, list, delete. `cargo run --example quickstart` runs them
//! on `storage::from_env()`; the tests run them on each emulator.

use storage::{BlobStore, BlobStoreExt, ListOptions, PutOptions};

/// Uploads a scratch file as `quickstart/greeting.txt`, reads it back and
/// compares, lists `quickstart/`, deletes it, printing each step.
///
/// # Errors
/// The store's error for a step that failed, or `InvalidInput` when the
/// scratch file cannot be written.
pub async fn run(store: &dyn BlobStore) -> storage::Result<()> {
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
    if back != original {
        return Err(
            storage::Error::new(storage::ErrorKind::Backend, store.provider()).with_message(
                format!(
                    "the {} bytes read back differ from the file uploaded",
                    back.len()
                ),
            ),
        );
    }
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
