//! Stores on the shared moto, each on a bucket of its own.

#![allow(dead_code)]

use storage_s3::{S3Config, S3Store};
use storage_testkit::moto::{Moto, ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};

/// The shared moto, or a panic that says why there is none.
pub async fn moto() -> &'static Moto {
    match tokio::task::spawn_blocking(Moto::shared).await {
        Ok(Ok(moto)) => moto,
        Ok(Err(e)) => panic!("{e}"),
        Err(e) => panic!("starting moto panicked: {e}"),
    }
}

/// Settings for `bucket` reached at `endpoint`.
pub fn config_for(endpoint: &str, bucket: &str) -> S3Config {
    S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some(bucket.to_string()),
        "AWS_ENDPOINT_URL" => Some(endpoint.to_string()),
        "AWS_REGION" => Some(REGION.to_string()),
        "AWS_ACCESS_KEY_ID" => Some(ACCESS_KEY_ID.to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET_ACCESS_KEY.to_string()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("moto configuration: {e}"))
}

/// A fresh, empty bucket on moto.
pub async fn fresh_bucket() -> String {
    moto()
        .await
        .fresh_bucket()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Settings for a fresh, empty bucket on moto.
pub async fn fresh_config() -> S3Config {
    let bucket = fresh_bucket().await;
    config_for(moto().await.endpoint(), &bucket)
}

/// A store on a fresh, empty bucket.
pub async fn fresh_store() -> S3Store {
    S3Store::new(fresh_config().await).unwrap_or_else(|e| panic!("S3Store::new: {e}"))
}
