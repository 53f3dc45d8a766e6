//! `storage::open(url)`: each scheme opens the store it names, and bad URLs
//! fail before any I/O with a message that says which form to use.

use storage::{BlobStoreExt, ErrorKind, Provider};

#[tokio::test]
async fn file_url_roots_a_local_store_at_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().display());
    let store = storage::open(&url).expect("open");
    assert_eq!(store.provider(), Provider::Local);
    store.put_bytes("a/b.txt", "hello").await.expect("put");
    let again = storage::open(&format!("{url}/")).expect("open again");
    assert_eq!(again.get_bytes("a/b.txt").await.expect("get"), "hello");
    assert!(dir.path().join("objects/a/b.txt").exists());
}

#[tokio::test]
async fn file_url_decodes_percent_escapes_and_accepts_localhost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spaced = dir.path().join("with space");
    let url = format!("file://localhost{}/with%20space", dir.path().display());
    let store = storage::open(&url).expect("open");
    store.put_bytes("k", "v").await.expect("put");
    assert!(spaced.join("objects/k").exists());
}

#[tokio::test]
async fn memory_url_opens_an_empty_memory_store() {
    let store = storage::open("memory://").expect("open");
    assert_eq!(store.provider(), Provider::Memory);
    assert!(!store.exists("x").await.expect("exists"));
}

#[test]
fn malformed_urls_are_refused_with_the_accepted_forms() {
    for url in [
        "ftp://host/dir",
        "s3://",
        "s3://bucket/key",
        "gs://",
        "gs://bucket/key",
        "no-scheme",
        "file://relative/dir",
        "memory://something",
        "azure://",
        "azure://container/key",
        "vercel://store/path",
        "file:///bad%zzescape",
    ] {
        let err = storage::open(url).expect_err(url);
        assert_eq!(err.kind(), &ErrorKind::InvalidInput, "{url}");
        assert!(err.to_string().contains("file:///abs/dir"), "{url}: {err}");
    }
}

#[test]
fn bucket_urls_name_the_bucket_over_the_bucket_variable() {
    // The rest of the configuration comes from the environment; this test
    // process sets only what it needs, and no test here sets these.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "AwsSecretValue0123");
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    std::env::set_var("STORAGE_EMULATOR_HOST", "127.0.0.1:9");
    let s3 = storage::open("s3://from-the-url").expect("s3 URL");
    assert_eq!(s3.provider(), Provider::S3);
    let s3 = s3
        .native()
        .downcast_ref::<storage::s3::S3Store>()
        .expect("an S3Store");
    assert_eq!(s3.config().bucket(), "from-the-url");
    let gcs = storage::open("gs://from-the-url/").expect("gs URL");
    assert_eq!(gcs.provider(), Provider::Gcs);
    let gcs = gcs
        .native()
        .downcast_ref::<storage::gcs::GcsStore>()
        .expect("a GcsStore");
    assert_eq!(gcs.config().bucket(), "from-the-url");
}
