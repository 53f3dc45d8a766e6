//! Signed URLs: refused as `Unsupported` without the capability; with it,
//! the request names the right method and an expiry within what was asked.

use std::time::{Duration, SystemTime};

use storage_core::{ErrorKind, SignMethod, SignOptions};

use crate::failure::{ensure, expect_eq, unsupported, Check, Outcome};
use crate::support::{key, put_plain, Store};

async fn check_method(store: Store, method: SignMethod) -> Outcome {
    let k = key("signed/file.txt")?;
    put_plain(&store, &k, "signed").await?;
    let expiry = Duration::from_secs(600);
    let opts = SignOptions::new(method).expires_in(expiry);
    if !store.capabilities().can_sign(method) {
        store.signed_url(&k, opts).await.expect_kind(
            format!("signed_url {method} without the capability"),
            unsupported(),
        )?;
        return Ok(());
    }
    let before = SystemTime::now();
    let signed = store
        .signed_url(&k, opts)
        .await
        .check(format!("signed_url {method}"))?;
    let after = SystemTime::now();
    expect_eq("method of the signed request", method, signed.method)?;
    ensure(!signed.url.is_empty(), || {
        "url of the signed request: expected a URL, saw \"\"".into()
    })?;
    ensure(signed.expires_at > after, || {
        format!(
            "expires_at: expected after now ({after:?}), saw {:?}",
            signed.expires_at
        )
    })?;
    // A second of slack for providers that round the expiry up to a second.
    let latest = before + expiry + Duration::from_secs(1);
    ensure(signed.expires_at <= latest, || {
        format!(
            "expires_at: expected at most {expiry:?} from now ({latest:?}), saw {:?}",
            signed.expires_at
        )
    })
}

/// A signed download URL, or `Unsupported` without `sign_get`.
pub async fn signing_get(store: Store) -> Outcome {
    check_method(store, SignMethod::Get).await
}

/// A signed upload URL, or `Unsupported` without `sign_put`.
pub async fn signing_put(store: Store) -> Outcome {
    check_method(store, SignMethod::Put).await
}

/// An upload URL bounded in size where `sign_max_size` says the provider
/// can enforce it; otherwise the bound is refused as `Unsupported`, never
/// dropped.
pub async fn signing_put_max_size(store: Store) -> Outcome {
    let caps = store.capabilities();
    if !caps.sign_put {
        return Ok(());
    }
    let k = key("signed/bounded.bin")?;
    let opts = SignOptions::new(SignMethod::Put).max_size(1024);
    let result = store.signed_url(&k, opts).await;
    if caps.sign_max_size {
        let signed = result.check("signed_url PUT with max_size")?;
        expect_eq(
            "method of the signed request",
            SignMethod::Put,
            signed.method,
        )
    } else {
        result
            .expect_kind(
                "signed_url PUT with max_size without the capability",
                unsupported(),
            )
            .map(|_| ())
    }
}

/// A signed delete URL, or `Unsupported` without `sign_delete`.
pub async fn signing_delete(store: Store) -> Outcome {
    check_method(store, SignMethod::Delete).await
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
