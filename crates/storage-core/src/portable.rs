//! The portable layer: every [`Driver`] is a [`BlobStore`], and this is
//! where the behaviour common to all of them lives, once.
//!
//! For every call it checks the options and the driver's capabilities
//! before any I/O (`InvalidInput`, `Unsupported`), opens a tracing span
//! (`blob.put`, `blob.get` … with the provider and the key), tags errors
//! with the provider and the key, bounds network calls by the retry
//! policy's deadline (`Timeout`, naming the endpoint and
//! `BLOB_STORAGE_DEADLINE`), and resumes a download whose connection broke
//! (see [`crate::resume`]).

use std::any::Any;
use std::future::Future;

use async_trait::async_trait;
use tracing::Instrument;

use crate::driver::Driver;
use crate::{
    resume, Blob, BlobKey, BlobMeta, BlobStore, Body, Capabilities, CopyOptions, Error, ErrorKind,
    GetOptions, ListOptions, ListPage, Provider, PutMode, PutOptions, Result, SignMethod,
    SignOptions, SignedRequest,
};

#[async_trait]
impl<D: Driver> BlobStore for D {
    fn provider(&self) -> Provider {
        Driver::provider(self)
    }

    fn capabilities(&self) -> Capabilities {
        self.supports()
    }

    fn native(&self) -> &dyn Any {
        Driver::native(self)
    }

    async fn put(&self, key: &BlobKey, body: Body, opts: PutOptions) -> Result<BlobMeta> {
        let span = tracing::debug_span!("blob.put", provider = %Driver::provider(self), key = %key);
        tagged(self, Some(key), async {
            check_put(&self.supports(), &opts)?;
            // The body's transfer can take as long as it needs; parts and
            // requests are bounded by the per-attempt timeout instead.
            self.write_blob(key, body, opts).await
        })
        .instrument(span)
        .await
    }

    async fn get(&self, key: &BlobKey, opts: GetOptions) -> Result<Blob> {
        let span = tracing::debug_span!("blob.get", provider = %Driver::provider(self), key = %key);
        tagged(self, Some(key), async {
            opts.validate()?;
            if opts.range.is_some() && !self.supports().ranges {
                return Err(unsupported("ranged reads"));
            }
            let blob = bounded(self, "get", self.read_blob(key, opts)).await?;
            Ok(match self.retry_policy() {
                Some(policy) => resume::resuming(self.clone(), key.clone(), blob, policy.clone()),
                None => blob,
            })
        })
        .instrument(span)
        .await
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobMeta> {
        let span =
            tracing::debug_span!("blob.head", provider = %Driver::provider(self), key = %key);
        tagged(self, Some(key), bounded(self, "head", self.stat_blob(key)))
            .instrument(span)
            .await
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let span =
            tracing::debug_span!("blob.delete", provider = %Driver::provider(self), key = %key);
        tagged(
            self,
            Some(key),
            bounded(self, "delete", self.delete_blob(key)),
        )
        .instrument(span)
        .await
    }

    async fn delete_many(&self, keys: &[BlobKey]) -> Result<()> {
        let span = tracing::debug_span!("blob.delete_many", provider = %Driver::provider(self), count = keys.len());
        tagged(self, None, self.delete_blobs(keys))
            .instrument(span)
            .await
    }

    async fn list(&self, opts: ListOptions) -> Result<ListPage> {
        let span = tracing::debug_span!("blob.list", provider = %Driver::provider(self), prefix = opts.prefix_str());
        tagged(self, None, async {
            opts.validate()?;
            if opts.delimiter && !self.supports().list_delimiter {
                return Err(unsupported("delimited listing"));
            }
            bounded(self, "list", self.list_blobs(opts)).await
        })
        .instrument(span)
        .await
    }

    async fn copy(&self, from: &BlobKey, to: &BlobKey, opts: CopyOptions) -> Result<BlobMeta> {
        let span = tracing::debug_span!("blob.copy", provider = %Driver::provider(self), from = %from, to = %to);
        tagged(self, Some(to), async {
            opts.validate()?;
            let caps = self.supports();
            if !caps.copy {
                return Err(unsupported("copy"));
            }
            check_mode(&caps, &opts.mode)?;
            bounded(self, "copy", self.copy_blob(from, to, opts)).await
        })
        .instrument(span)
        .await
    }

    async fn signed_url(&self, key: &BlobKey, opts: SignOptions) -> Result<SignedRequest> {
        let span = tracing::debug_span!("blob.sign", provider = %Driver::provider(self), key = %key, method = %opts.method);
        tagged(self, Some(key), async {
            opts.validate()?;
            let caps = self.supports();
            let allowed = match opts.method {
                SignMethod::Get => caps.sign_get,
                SignMethod::Put => caps.sign_put,
                SignMethod::Delete => caps.sign_delete,
            };
            if !allowed {
                return Err(unsupported(match opts.method {
                    SignMethod::Get => "signed GET URLs",
                    SignMethod::Put => "signed PUT URLs",
                    SignMethod::Delete => "signed DELETE URLs",
                })
                .with_message(
                    "this store cannot sign URLs; use a provider with an HTTP endpoint \
                     (local, azure, vercel) for direct browser transfers",
                ));
            }
            if opts.max_size.is_some() && !caps.sign_max_size {
                return Err(unsupported("SignOptions::max_size").with_message(
                    "this provider cannot bound an upload's size in a signed URL; check the \
                     size the client declares before signing instead",
                ));
            }
            bounded(self, "sign", self.sign_blob(key, opts)).await
        })
        .instrument(span)
        .await
    }
}

fn unsupported(op: &'static str) -> Error {
    Error::without_provider(ErrorKind::Unsupported { op })
        .with_message("nothing was read or written; see capabilities()")
}

/// Checks what a put asks for against what the driver can keep.
fn check_put(caps: &Capabilities, opts: &PutOptions) -> Result<()> {
    opts.validate()?;
    check_mode(caps, &opts.mode)?;
    if !opts.metadata.is_empty() && !caps.user_metadata {
        return Err(unsupported("user metadata").with_message(
            "this provider stores no user metadata; nothing was written (capabilities().user_metadata is false)",
        ));
    }
    if opts.content_disposition.is_some() && !caps.content_disposition {
        return Err(unsupported("content_disposition").with_message(
            "this provider cannot store a content disposition; nothing was written \
             (capabilities().content_disposition is false)",
        ));
    }
    Ok(())
}

fn check_mode(caps: &Capabilities, mode: &PutMode) -> Result<()> {
    match mode {
        PutMode::Create if !caps.put_create => Err(unsupported("PutMode::Create")),
        PutMode::IfMatch(_) if !caps.put_if_match => Err(unsupported("PutMode::IfMatch")),
        _ => Ok(()),
    }
}

/// Tags the error of `fut` with the driver's provider and, unless the
/// driver named another (a copy's missing source), `key`.
async fn tagged<D: Driver, T>(
    driver: &D,
    key: Option<&BlobKey>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    fut.await.map_err(|e| {
        let e = e.with_provider(Driver::provider(driver));
        tracing::debug!(error = %e, "failed");
        match key {
            Some(key) if e.key().is_none() => e.with_key(key.as_str()),
            _ => e,
        }
    })
}

/// Bounds a call of a network driver by its policy's deadline.
async fn bounded<D: Driver, T>(
    driver: &D,
    operation: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match driver.retry_policy() {
        None => fut.await,
        Some(policy) => match tokio::time::timeout(policy.deadline, fut).await {
            Ok(result) => result,
            Err(_) => Err(policy.operation_timed_out(&driver.endpoint(), operation)),
        },
    }
}
