//! Signed URLs refuse what they were not signed for: another method, a
//! time after their expiry, another key. Each attempt is sent over HTTP with
//! the fixture's plain client and must get a 4xx answer (a 2xx means the URL
//! allowed too much, a 5xx that the server broke instead of checking), and
//! the store must show nothing changed.
//!
//! Without any `sign_*` capability the behaviours check that signing is
//! `Unsupported` and that the store is untouched.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use storage_core::{BlobKey, BlobMeta, PutOptions, SignMethod, SignOptions, SignedRequest};

use super::signing::{expect_unsupported, http, sign, TEXT};
use crate::failure::{expect_eq, Failure, Outcome};
use crate::support::{expect_absent, expect_bytes, head, key, put, Store};
use crate::Target;

const METHODS: [SignMethod; 3] = [SignMethod::Get, SignMethod::Put, SignMethod::Delete];
/// What the blob under test holds throughout.
const ORIGINAL: &[u8] = b"the original bytes";
/// What a refused upload would have written.
const INTRUDER: &[u8] = b"bytes that must not land";

/// Options for a URL allowing `method`: uploads carry the content type every
/// provider here can sign for, so a refusal is about the method, the time
/// or the key, never a missing header.
fn options(method: SignMethod, expires_in: Duration) -> SignOptions {
    let opts = SignOptions::new(method).expires_in(expires_in);
    match method {
        SignMethod::Put => opts.content_type(TEXT),
        _ => opts,
    }
}

/// Puts [`ORIGINAL`] under `k`, returning its meta to compare with later.
async fn put_original(store: &Store, k: &BlobKey) -> Result<BlobMeta, Failure> {
    put(store, k, ORIGINAL, PutOptions::new().content_type(TEXT)).await
}

/// Checks `k` still holds [`ORIGINAL`], unchanged since `before`.
async fn expect_unchanged(store: &Store, k: &BlobKey, before: &BlobMeta, why: &str) -> Outcome {
    let now = head(store, k).await?;
    expect_eq(
        format!("etag of {k:?} after {why}"),
        &before.etag,
        &now.etag,
    )?;
    expect_bytes(store, k, ORIGINAL).await
}

/// The body a request with `method` carries.
fn body_for(method: SignMethod) -> Option<Bytes> {
    (method == SignMethod::Put).then(|| Bytes::from_static(INTRUDER))
}

/// The methods the store signs, after checking it refuses the others as
/// `Unsupported`.
async fn signable(store: &Store, k: &BlobKey) -> Result<Vec<SignMethod>, Failure> {
    let mut methods = Vec::new();
    for method in METHODS {
        if store.capabilities().can_sign(method) {
            methods.push(method);
        } else {
            expect_unsupported(store, k, options(method, Duration::from_secs(60))).await?;
        }
    }
    Ok(methods)
}

/// A URL signed for one method is refused for each other method, sent with
/// the headers a genuine request of that method would list (so only the
/// URL's grant differs), and the blob stays as it was.
pub async fn signing_other_method_is_refused(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/one-method.txt")?;
    let before = put_original(store, &k).await?;
    let methods = signable(store, &k).await?;
    let mut genuine: Vec<SignedRequest> = Vec::new();
    for &method in &methods {
        genuine.push(sign(store, &k, options(method, Duration::from_secs(600))).await?);
    }
    for signed in &genuine {
        let http = http(&target, signed.method)?;
        for other in METHODS.into_iter().filter(|m| *m != signed.method) {
            let headers = genuine
                .iter()
                .find(|g| g.method == other)
                .map(|g| g.headers.clone())
                .unwrap_or_default();
            http.send(other.as_str(), &signed.url, &headers, body_for(other))
                .await?
                .expect_refused(&format!("a URL signed for {}", signed.method))?;
        }
    }
    expect_unchanged(store, &k, &before, "requests with the wrong method").await
}

/// URLs signed for the shortest expiry (1 s) are refused once it has
/// passed, for every method the store signs; one shared wait covers them
/// all, and the blob stays as it was.
pub async fn signing_expired_url_is_refused(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/expiring.txt")?;
    let before = put_original(store, &k).await?;
    let methods = signable(store, &k).await?;
    let mut signed = Vec::new();
    for &method in &methods {
        signed.push(sign(store, &k, options(method, Duration::from_secs(1))).await?);
    }
    if let Some(latest) = signed.iter().map(|s| s.expires_at).max() {
        // A second past the latest expiry, for servers that compare in whole
        // seconds against a clock read a little earlier than ours.
        let wait =
            latest.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_secs(1);
        tokio::time::sleep(wait).await;
    }
    for request in &signed {
        http(&target, request.method)?
            .send_signed(request, body_for(request.method))
            .await?
            .expect_refused("sent after the URL expired")?;
    }
    expect_unchanged(store, &k, &before, "requests with expired URLs").await
}

/// A URL signed for key A, edited to name key B instead, is refused for
/// every method the store signs: B keeps its bytes and A stays absent. The
/// keys differ in one segment (`target-a` / `target-b`) that the URL must
/// name exactly once, in its path or its query; a URL that does not name
/// its key readably fails the behaviour, since the suite cannot then show
/// the signature binds it.
pub async fn signing_url_cannot_reach_another_key(target: Target) -> Outcome {
    let store = target.store();
    let a = key("signed/target-a.txt")?;
    let b = key("signed/target-b.txt")?;
    let before = put_original(store, &b).await?;
    let methods = signable(store, &a).await?;
    for method in methods {
        let signed = sign(store, &a, options(method, Duration::from_secs(600))).await?;
        let named = signed.url.matches("target-a").count();
        expect_eq(
            format!("times the {method} URL for {a:?} names `target-a`"),
            1,
            named,
        )?;
        let aimed = signed.url.replacen("target-a", "target-b", 1);
        http(&target, method)?
            .send(method.as_str(), &aimed, &signed.headers, body_for(method))
            .await?
            .expect_refused(&format!("a {method} URL for {a:?} edited to name {b:?}"))?;
    }
    expect_unchanged(
        store,
        &b,
        &before,
        "requests aimed at it with another key's URL",
    )
    .await?;
    expect_absent(store, &a, "requests that named another key").await
}
