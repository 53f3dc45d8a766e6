//! The object_store S3 client for an [`S3Config`]: object_store's SigV4
//! signer and credential chain, with the workspace's HTTP client
//! ([`PolicyHttp`]) under the one retry policy, and object_store's own
//! retry loop off.

use std::str::FromStr;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use storage_core::{Error, ErrorKind, Provider, Result};
use storage_object_store::{client_options, no_retries, redact_text, PolicyHttp};

use crate::config::{S3Config, S3Credentials};

/// The object_store client and the HTTP client it sends through (which the
/// adapter's own requests share).
pub(crate) fn build(config: &S3Config) -> Result<(AmazonS3, PolicyHttp)> {
    let policy = config.retry_policy();
    let http = PolicyHttp::new(policy).map_err(|e| e.with_provider(Provider::S3))?;
    let allow_http = config.bucket_url().starts_with("http://");
    // The bucket URL is computed once (path or virtual-hosted style) and
    // handed over whole: with virtual-hosted style on, object_store takes
    // the endpoint as the bucket's own URL.
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(config.bucket())
        .with_region(config.region())
        .with_endpoint(config.bucket_url())
        .with_virtual_hosted_style_request(true)
        .with_client_options(client_options(policy, allow_http))
        .with_allow_http(allow_http)
        .with_http_connector(http.clone())
        .with_retry(no_retries());
    builder = match config.credentials() {
        S3Credentials::Static {
            key_id,
            secret_key,
            session_token,
        } => {
            let builder = builder
                .with_access_key_id(key_id)
                .with_secret_access_key(secret_key.expose());
            match session_token {
                Some(token) => builder.with_token(token.expose()),
                None => builder,
            }
        }
        S3Credentials::Chain(settings) => {
            for (name, value) in settings {
                let key = AmazonS3ConfigKey::from_str(name).map_err(|e| invalid(&e))?;
                builder = builder.with_config(key, value);
            }
            builder
        }
    };
    let store = builder.build().map_err(|e| invalid(&e))?;
    Ok((store, http))
}

fn invalid(e: &object_store::Error) -> Error {
    Error::new(
        ErrorKind::InvalidConfig {
            var: "AWS_* / S3_*".into(),
        },
        Provider::S3,
    )
    .with_message(format!(
        "cannot build the S3 client: {}",
        redact_text(&e.to_string())
    ))
}
