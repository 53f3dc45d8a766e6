//! Requests on the wire to S3's bucket API: `HeadBucket`, `CreateBucket`,
//! `?cors`, `?publicAccessBlock`, and the listing, batch delete and
//! `DeleteBucket` of `destroy`.
//!
//! Requests are signed with SigV4 by object_store's [`AwsAuthorizer`], with
//! credentials from the same [`S3Config`] and credential chain as the
//! `storage-s3` adapter (a key pair, or web identity, container credentials
//! and instance metadata), so provisioning and the app never sign
//! differently. Bodies carry `Content-MD5`, which S3 requires on
//! `PutBucketCors`, `PutPublicAccessBlock` and `DeleteObjects`.
//!
//! Every request goes through the one retry and timeout policy of
//! [`storage_core::retry`] (the `BLOB_STORAGE_*` variables): reads and
//! idempotent writes are retried on 5xx (not 501), 429 and transport
//! errors; `CreateBucket` is sent once (the next plan re-reads what exists).

use std::sync::Arc;

use base64::Engine;
use md5::{Digest as _, Md5};
use object_store::aws::{AwsAuthorizer, AwsCredential, AwsCredentialProvider};
use object_store::client::HttpRequestBody;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use sha2::Sha256;
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::Provider;
use storage_s3::S3Config;

use super::model;
use crate::azure::model::error_summary;
use crate::error::{InfraError, Result};
use crate::plan::{CorsRule, PublicAccessBlock};
use crate::wire::{self, Reply};

/// At most this many keys per `DeleteObjects`, S3's limit.
const DELETE_BATCH: usize = 1000;

/// A bucket-API client for the account and region an [`S3Config`] names.
pub struct S3Client {
    http: reqwest::Client,
    config: S3Config,
    credentials: AwsCredentialProvider,
    policy: RetryPolicy,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("endpoint", &self.config.endpoint())
            .field("region", &self.config.region())
            .finish_non_exhaustive()
    }
}

/// What `HeadBucket` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketState {
    /// No such bucket.
    Missing,
    /// The bucket exists and these credentials may use it; its region when
    /// the service says (`x-amz-bucket-region`).
    Exists {
        /// The bucket's region.
        region: Option<String>,
    },
}

impl S3Client {
    /// A client for `config`'s endpoint, region and credentials (its
    /// bucket is not used: provisioning names the buckets).
    pub fn new(config: &S3Config) -> Result<S3Client> {
        // The adapter's store holds the credential provider the chain
        // resolves to; building it makes no request.
        let store = storage_s3::S3Store::new(config.clone())?;
        let credentials = Arc::clone(store.object_store().credentials());
        let policy = config.retry_policy().clone();
        // No total timeout: the policy bounds every attempt.
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(|e| InfraError::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(S3Client {
            http,
            config: config.clone(),
            credentials,
            policy,
        })
    }

    /// Scheme, host and port requests go to, for reports.
    pub fn endpoint(&self) -> String {
        self.config.endpoint()
    }

    /// The region buckets are created in and requests are signed for.
    pub fn region(&self) -> &str {
        self.config.region()
    }

    async fn send(
        &self,
        op: &str,
        method: Method,
        bucket: &str,
        query: &str,
        body: Option<String>,
        idempotency: Idempotency,
    ) -> Result<Reply> {
        let endpoint = self.config.endpoint();
        wire::send(
            &self.policy,
            Provider::S3,
            &endpoint,
            op,
            idempotency,
            || self.send_once(method.clone(), bucket, query, body.clone()),
        )
        .await
    }

    async fn send_once(
        &self,
        method: Method,
        bucket: &str,
        query: &str,
        body: Option<String>,
    ) -> std::result::Result<Reply, String> {
        // Path style puts the bucket in the path, so the bucket URL ends
        // without `/`; the root of the bucket needs one for the signer's
        // canonical URI to match what is sent.
        let mut url = format!("{}/", self.config.bucket_url_for(bucket));
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let bytes = body.map(String::into_bytes).unwrap_or_default();
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(HttpRequestBody::from(Vec::new()))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let headers = request.headers_mut();
        headers.insert("content-length", HeaderValue::from(bytes.len()));
        if !bytes.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/xml"));
            let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&bytes));
            headers.insert(
                "content-md5",
                HeaderValue::from_str(&md5).map_err(|e| e.to_string())?,
            );
        }
        let credential: Arc<AwsCredential> = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| format!("cannot get AWS credentials: {e}"))?;
        let digest = <Sha256 as sha2::Digest>::digest(&bytes);
        AwsAuthorizer::new(&credential, "s3", self.config.region())
            .try_authorize(&mut request, Some(&digest))
            .map_err(|e| format!("cannot sign the request: {e}"))?;
        let response = self
            .http
            .request(method, &url)
            .headers(request.headers().clone())
            .body(bytes)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Whether `bucket` exists and is usable with these credentials.
    pub async fn head_bucket(&self, bucket: &str) -> Result<BucketState> {
        let op = format!("reading bucket `{bucket}`");
        let reply = self
            .send(&op, Method::HEAD, bucket, "", None, Idempotency::Idempotent)
            .await?;
        let region = reply
            .headers
            .get("x-amz-bucket-region")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match reply.status {
            StatusCode::NOT_FOUND => Ok(BucketState::Missing),
            StatusCode::MOVED_PERMANENTLY => Err(InfraError::backend(
                &op,
                format!(
                    "the bucket is in region `{}`, not `{}`; set AWS_REGION to its region",
                    region.as_deref().unwrap_or("unknown"),
                    self.region()
                ),
            )),
            StatusCode::FORBIDDEN => Err(InfraError::backend(
                &op,
                "HTTP 403: the name is taken by another account, or these credentials may not \
                 read it (bucket names are global on AWS: pick another name, or check the \
                 key's permissions)",
            )),
            _ => {
                check(&op, &reply)?;
                Ok(BucketState::Exists { region })
            }
        }
    }

    /// Creates `bucket` in the configured region. Sent once, never replayed:
    /// a replay of a create that did succeed would fail with
    /// `BucketAlreadyOwnedByYou` outside us-east-1.
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let op = format!("creating bucket `{bucket}` in {}", self.region());
        let body = model::create_bucket_body(self.region());
        let reply = self
            .send(
                &op,
                Method::PUT,
                bucket,
                "",
                body,
                Idempotency::NotIdempotent,
            )
            .await?;
        check(&op, &reply)
    }

    /// The bucket's CORS rules; none when it has no CORS configuration.
    pub async fn get_cors(&self, bucket: &str) -> Result<Vec<CorsRule>> {
        let op = format!("reading the CORS rules of bucket `{bucket}`");
        let reply = self
            .send(
                &op,
                Method::GET,
                bucket,
                "cors",
                None,
                Idempotency::Idempotent,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND && reply.body.contains("NoSuchCORSConfiguration") {
            return Ok(Vec::new());
        }
        check(&op, &reply)?;
        model::parse_cors(&reply.body).map_err(|e| InfraError::backend(&op, e))
    }

    /// Replaces the bucket's CORS rules; no rules deletes the configuration
    /// (S3 refuses an empty one).
    pub async fn set_cors(&self, bucket: &str, rules: &[CorsRule]) -> Result<()> {
        let op = format!("setting the CORS rules of bucket `{bucket}`");
        let reply = if rules.is_empty() {
            self.send(
                &op,
                Method::DELETE,
                bucket,
                "cors",
                None,
                Idempotency::Idempotent,
            )
            .await?
        } else {
            let body = Some(model::cors_body(rules));
            self.send(
                &op,
                Method::PUT,
                bucket,
                "cors",
                body,
                Idempotency::Idempotent,
            )
            .await?
        };
        check(&op, &reply)
    }

    /// The bucket's public access block; `None` when it has none.
    pub async fn get_public_access_block(&self, bucket: &str) -> Result<Option<PublicAccessBlock>> {
        let op = format!("reading the public access block of bucket `{bucket}`");
        let reply = self
            .send(
                &op,
                Method::GET,
                bucket,
                "publicAccessBlock",
                None,
                Idempotency::Idempotent,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND
            && reply.body.contains("NoSuchPublicAccessBlockConfiguration")
        {
            return Ok(None);
        }
        check(&op, &reply)?;
        model::parse_public_access_block(&reply.body)
            .map(Some)
            .map_err(|e| InfraError::backend(&op, e))
    }

    /// Sets the bucket's public access block.
    pub async fn set_public_access_block(
        &self,
        bucket: &str,
        block: &PublicAccessBlock,
    ) -> Result<()> {
        let op = format!("setting the public access block of bucket `{bucket}`");
        let body = Some(model::public_access_block_body(block));
        let reply = self
            .send(
                &op,
                Method::PUT,
                bucket,
                "publicAccessBlock",
                body,
                Idempotency::Idempotent,
            )
            .await?;
        check(&op, &reply)
    }

    /// Deletes every object in `bucket`, then the bucket; `false` when it
    /// did not exist. Object versions of a versioned bucket are not
    /// deleted, so S3 refuses to delete such a bucket (`BucketNotEmpty`).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<bool> {
        let op = format!("emptying bucket `{bucket}`");
        let mut token: Option<String> = None;
        loop {
            let mut query = "list-type=2".to_string();
            if let Some(t) = &token {
                query.push_str("&continuation-token=");
                query.push_str(
                    &url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>(),
                );
            }
            let reply = self
                .send(
                    &op,
                    Method::GET,
                    bucket,
                    &query,
                    None,
                    Idempotency::Idempotent,
                )
                .await?;
            if reply.status == StatusCode::NOT_FOUND {
                return Ok(false);
            }
            check(&op, &reply)?;
            let (keys, next) =
                model::parse_listing(&reply.body).map_err(|e| InfraError::backend(&op, e))?;
            for batch in keys.chunks(DELETE_BATCH) {
                let body = Some(model::delete_objects_body(batch));
                let reply = self
                    .send(
                        &op,
                        Method::POST,
                        bucket,
                        "delete",
                        body,
                        Idempotency::Idempotent,
                    )
                    .await?;
                check(&op, &reply)?;
                if reply.body.contains("<Error>") {
                    let detail = error_summary(&reply.body).unwrap_or_default();
                    return Err(InfraError::backend(
                        &op,
                        format!("an object was not deleted: {detail}"),
                    ));
                }
            }
            token = next;
            if token.is_none() {
                break;
            }
        }
        let op = format!("deleting bucket `{bucket}`");
        let reply = self
            .send(
                &op,
                Method::DELETE,
                bucket,
                "",
                None,
                Idempotency::Idempotent,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(&op, &reply).map(|()| true)
    }
}

fn check(op: &str, reply: &Reply) -> Result<()> {
    if reply.status.is_success() {
        return Ok(());
    }
    let detail = error_summary(&reply.body).unwrap_or_default();
    let hint = match reply.status {
        StatusCode::FORBIDDEN => {
            " (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or that the identity may do this)"
        }
        _ => "",
    };
    Err(InfraError::backend(
        op,
        format!("HTTP {} {detail}{hint}", reply.status),
    ))
}
