//! Signed URLs, sent: each behaviour signs a request through the store, then
//! sends it with the fixture's plain HTTP client (see
//! [`SignedHttp`](crate::SignedHttp)) exactly as listed (method, URL,
//! headers) and checks what the server did through the store.
//!
//! Without a `sign_*` capability the store must answer `Unsupported` and
//! store nothing. With it, the fixture must provide the HTTP side; a store
//! that signs URLs nobody can send fails here instead of passing on the
//! shape of a URL alone.
//!
//! What is asserted:
//! - a signed `GET` answers 200 with exactly the blob's bytes and the
//!   content type it was put with;
//! - a signed `PUT` with a content type writes the bytes: `head` shows their
//!   size and that content type;
//! - the same `PUT` sent with another content type is refused (4xx) and
//!   writes nothing, where `sign_content_type` says the provider binds the
//!   type (where it does not, the other type is stored as sent, so the
//!   capability stays true);
//! - with `sign_max_size`, a body one byte over the bound is refused and
//!   writes nothing, a body of exactly the bound is stored;
//! - a signed `DELETE` deletes;
//! - expiries are within what was asked, and over seven days are refused.
//!
//! Refusals (another method, an expired URL, another key) are in
//! [`signing_refusals`](super::signing_refusals).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use storage_core::{BlobKey, ErrorKind, PutOptions, SignMethod, SignOptions, SignedRequest};

use crate::failure::{ensure, expect_eq, unsupported, Check, Failure, Outcome};
use crate::signed_http::SignedHttp;
use crate::support::{expect_absent, expect_bytes, expect_empty, head, key, put, Store};
use crate::Target;

/// The content type blobs are put and uploads signed with.
pub(crate) const TEXT: &str = "text/plain";
/// A content type no signed upload here allows.
const OTHER_TYPE: &str = "image/png";
/// Bytes that survive only an exact transfer: a NUL, high bytes, no newline.
const PAYLOAD: &[u8] = b"signed \x00\x01\xfe\xff bytes";

/// The fixture's HTTP side, or a failure explaining how to provide it.
pub(crate) fn http(target: &Target, method: SignMethod) -> Result<&SignedHttp, Failure> {
    target.signed_http().ok_or_else(|| {
        Failure::new(format!(
            "the store signs {method} URLs but the fixture gives the suite no way to send \
             them: return `Fixture::from(store).with_signed_http(SignedHttp::absolute())` \
             (or `SignedHttp::relative_to(origin)`) from the factory"
        ))
    })
}

/// Signs `opts` for `key`, checking the method and the expiry bounds.
pub(crate) async fn sign(
    store: &Store,
    key: &BlobKey,
    opts: SignOptions,
) -> Result<SignedRequest, Failure> {
    let method = opts.method;
    let expiry = opts.expires_in;
    let before = SystemTime::now();
    let signed = store
        .signed_url(key, opts)
        .await
        .check(format!("signed_url {method} {key:?}"))?;
    let after = SystemTime::now();
    expect_eq("method of the signed request", method, signed.method)?;
    ensure(!signed.url.is_empty(), || {
        "url of the signed request: expected a URL, saw \"\"".into()
    })?;
    // A second of slack on each side for providers that work in whole
    // seconds (Azure truncates the expiry, the local store too).
    ensure(signed.expires_at + Duration::from_secs(1) > after, || {
        format!(
            "expires_at: expected about now + {expiry:?}, saw {:?} (now {after:?})",
            signed.expires_at
        )
    })?;
    let latest = before + expiry + Duration::from_secs(1);
    ensure(signed.expires_at <= latest, || {
        format!(
            "expires_at: expected at most {expiry:?} from now ({latest:?}), saw {:?}",
            signed.expires_at
        )
    })?;
    Ok(signed)
}

/// Without the capability: `signed_url` answers `Unsupported`.
pub(crate) async fn expect_unsupported(store: &Store, key: &BlobKey, opts: SignOptions) -> Outcome {
    let method = opts.method;
    store.signed_url(key, opts).await.expect_kind(
        format!("signed_url {method} without the capability"),
        unsupported(),
    )?;
    Ok(())
}

/// The headers of `signed` with every value naming `from` as content type
/// replaced by `to`, or a `content-type: to` added where none named it.
fn with_content_type(signed: &SignedRequest, from: &str, to: &str) -> Vec<(String, String)> {
    let mut headers = signed.headers.clone();
    let mut replaced = false;
    for (_, value) in headers.iter_mut().filter(|(_, v)| v == from) {
        *value = to.to_string();
        replaced = true;
    }
    if !replaced {
        headers.push(("content-type".into(), to.into()));
    }
    headers
}

/// A signed download reads exactly the blob's bytes, served with the
/// content type it was put with; `Unsupported` without `sign_get`.
pub async fn signing_get(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/file.txt")?;
    put(store, &k, PAYLOAD, PutOptions::new().content_type(TEXT)).await?;
    let opts = SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(600));
    if !store.capabilities().sign_get {
        expect_unsupported(store, &k, opts).await?;
        return expect_bytes(store, &k, PAYLOAD).await;
    }
    let signed = sign(store, &k, opts).await?;
    let answer = http(&target, SignMethod::Get)?
        .send_signed(&signed, None)
        .await?;
    expect_eq(format!("{}: status", answer.what), 200, answer.status)?;
    expect_eq(
        format!("{}: body", answer.what),
        PAYLOAD,
        answer.body.as_ref(),
    )?;
    expect_eq(
        format!("{}: content type", answer.what),
        Some(TEXT),
        answer.content_type.as_deref(),
    )
}

/// A signed upload, sent with exactly the headers it lists, writes the
/// bytes with the content type it was signed for; `Unsupported` without
/// `sign_put`, and nothing stored.
pub async fn signing_put(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/upload.txt")?;
    let opts = SignOptions::new(SignMethod::Put)
        .expires_in(Duration::from_secs(600))
        .content_type(TEXT);
    if !store.capabilities().sign_put {
        expect_unsupported(store, &k, opts).await?;
        return expect_empty(store, "an unsupported signed_url PUT").await;
    }
    let signed = sign(store, &k, opts).await?;
    http(&target, SignMethod::Put)?
        .send_signed(&signed, Some(Bytes::from_static(PAYLOAD)))
        .await?
        .expect_success()?;
    let meta = head(store, &k).await?;
    expect_eq(
        "size after the signed upload",
        PAYLOAD.len() as u64,
        meta.size,
    )?;
    expect_eq(
        "content type after the signed upload",
        TEXT,
        meta.content_type.as_str(),
    )?;
    expect_bytes(store, &k, PAYLOAD).await
}

/// An upload signed for one content type and sent with another is refused
/// and writes nothing, where `sign_content_type` says the provider binds
/// the type; where it does not, the sent type is what is stored.
pub async fn signing_put_other_content_type(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/typed.txt")?;
    let opts = SignOptions::new(SignMethod::Put).content_type(TEXT);
    if !store.capabilities().sign_put {
        expect_unsupported(store, &k, opts).await?;
        return expect_empty(store, "an unsupported signed_url PUT").await;
    }
    let signed = sign(store, &k, opts).await?;
    let http = http(&target, SignMethod::Put)?;
    let headers = with_content_type(&signed, TEXT, OTHER_TYPE);
    let answer = http
        .send(
            "PUT",
            &signed.url,
            &headers,
            Some(Bytes::from_static(PAYLOAD)),
        )
        .await?;
    if store.capabilities().sign_content_type {
        answer.expect_refused(&format!("signed for {TEXT}, sent as {OTHER_TYPE}"))?;
        expect_absent(store, &k, "an upload with a content type the URL forbids").await
    } else {
        answer.expect_success()?;
        let meta = head(store, &k).await?;
        expect_eq(
            "content type of an upload whose URL does not bind it",
            OTHER_TYPE,
            meta.content_type.as_str(),
        )
    }
}

/// An upload URL bounded in size where `sign_max_size` says the provider
/// enforces it: one byte over is refused and writes nothing, exactly the
/// bound is stored. Otherwise the bound is refused as `Unsupported`, never
/// dropped; without `sign_put` at all, `Unsupported` too.
pub async fn signing_put_max_size(target: Target) -> Outcome {
    const BOUND: u64 = 1024;
    let store = target.store();
    let caps = store.capabilities();
    let k = key("signed/bounded.bin")?;
    let opts = SignOptions::new(SignMethod::Put).max_size(BOUND);
    if !caps.sign_put || !caps.sign_max_size {
        expect_unsupported(store, &k, opts).await?;
        return expect_empty(store, "an unsupported signed_url PUT with max_size").await;
    }
    let signed = sign(store, &k, opts).await?;
    let http = http(&target, SignMethod::Put)?;
    let over = Bytes::from(vec![7u8; BOUND as usize + 1]);
    http.send_signed(&signed, Some(over))
        .await?
        .expect_refused(&format!("a body of {} bytes, bound {BOUND}", BOUND + 1))?;
    expect_absent(store, &k, "an upload over the signed size bound").await?;
    let exact = Bytes::from(vec![7u8; BOUND as usize]);
    http.send_signed(&signed, Some(exact))
        .await?
        .expect_success()?;
    let meta = head(store, &k).await?;
    expect_eq("size of an upload at the bound", BOUND, meta.size)
}

/// A signed delete URL deletes the blob; `Unsupported` without
/// `sign_delete`, and the blob stays.
pub async fn signing_delete(target: Target) -> Outcome {
    let store = target.store();
    let k = key("signed/doomed.txt")?;
    put(store, &k, PAYLOAD, PutOptions::new().content_type(TEXT)).await?;
    let opts = SignOptions::new(SignMethod::Delete).expires_in(Duration::from_secs(600));
    if !store.capabilities().sign_delete {
        expect_unsupported(store, &k, opts).await?;
        return expect_bytes(store, &k, PAYLOAD).await;
    }
    let signed = sign(store, &k, opts).await?;
    http(&target, SignMethod::Delete)?
        .send_signed(&signed, None)
        .await?
        .expect_success()?;
    expect_absent(store, &k, "a signed DELETE").await
}

/// An expiry over seven days is `InvalidInput` where signing is supported
/// (a store that cannot sign may answer `Unsupported` first).
pub async fn signing_expiry_over_seven_days_is_invalid_input(store: Store) -> Outcome {
    let k = key("signed/long.txt")?;
    let too_long = Duration::from_secs(7 * 24 * 3600 + 1);
    for method in [SignMethod::Get, SignMethod::Put, SignMethod::Delete] {
        let kinds = if store.capabilities().can_sign(method) {
            vec![ErrorKind::InvalidInput]
        } else {
            vec![ErrorKind::InvalidInput, unsupported()]
        };
        store
            .signed_url(&k, SignOptions::new(method).expires_in(too_long))
            .await
            .expect_one_of(format!("signed_url {method} for 7 days and 1 s"), &kinds)?;
    }
    Ok(())
}
