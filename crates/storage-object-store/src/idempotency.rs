//! Whether a request object_store sends may be sent again after a
//! transient failure, decided from the request alone (method, query,
//! headers), since object_store hands the connector nothing else.
//!
//! - Reads (`GET`, `HEAD`, `OPTIONS`) always may, conditional or not: a
//!   conditional read asks the same question twice.
//! - A write with a condition (`If-Match`, `If-None-Match`, GCS's
//!   `x-goog-if-generation-match`) never is: if the first attempt went
//!   through and only its answer was lost, the replay would fail on the
//!   first attempt's own effect (`Create` would report the blob it just
//!   made as already there).
//! - Unconditional `PUT` and `DELETE` are idempotent by definition.
//! - `POST` is not, except the few that are safe to repeat, listed below.
//!
//! The `POST`s that are safe to repeat, and why:
//!
//! - `?uploads` (S3 and GCS XML: start a multipart upload): a replay only
//!   makes a second upload id nothing refers to; no object becomes visible
//!   and the driver completes or aborts the one it got.
//! - `?uploadId=…` without a condition (complete a multipart upload): the
//!   parts are fixed, so completing again gives the same object (or the
//!   service says the upload is gone, which the caller sees as an error,
//!   never as a different object). With `If-None-Match` it is a create-only
//!   write and is caught by the condition rule first.
//! - `?delete` (S3 DeleteObjects): deleting what is already deleted is a
//!   no-op.
//! - Credential requests: OAuth 2 token endpoints (a path ending in
//!   `/token`: Entra ID, Google), STS `AssumeRoleWithWebIdentity`, Azure's
//!   user-delegation key (`comp=userdelegationkey`) and Google IAM's
//!   `:signBlob`. They mint a token, a key or a signature and change no
//!   stored data.

use http::{Method, Request};
use storage_core::retry::Idempotency;

/// The conditional headers that make a write unsafe to replay.
const CONDITIONS: &[&str] = &[
    "if-match",
    "if-none-match",
    "x-goog-if-generation-match",
    "x-goog-if-metageneration-match",
];

/// Whether a `POST` is one of the few safe to repeat (see the module docs).
fn safe_post(path: &str, query: &str) -> bool {
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let has = |name: &str| params.iter().any(|(k, _)| *k == name);
    let is = |name: &str, value: &str| params.iter().any(|(k, v)| *k == name && *v == value);
    has("uploads")
        || has("uploadId")
        || has("delete")
        || is("Action", "AssumeRoleWithWebIdentity")
        || is("comp", "userdelegationkey")
        || path.ends_with("/token")
        || path.ends_with(":signBlob")
}

/// Whether `request` may be replayed; see the [module docs](self).
///
/// ```
/// use storage_core::retry::Idempotency;
/// use storage_object_store::idempotency;
/// let put = http::Request::put("http://h/b/k").body(()).unwrap();
/// assert_eq!(idempotency(&put), Idempotency::Idempotent);
/// let create = http::Request::put("http://h/b/k").header("If-None-Match", "*").body(()).unwrap();
/// assert_eq!(idempotency(&create), Idempotency::NotIdempotent);
/// ```
pub fn idempotency<B>(request: &Request<B>) -> Idempotency {
    let method = request.method();
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Idempotency::Idempotent;
    }
    let headers = request.headers();
    if CONDITIONS.iter().any(|name| headers.contains_key(*name)) {
        return Idempotency::NotIdempotent;
    }
    let uri = request.uri();
    let replayable = match *method {
        Method::PUT | Method::DELETE => true,
        Method::POST => safe_post(uri.path(), uri.query().unwrap_or("")),
        _ => false,
    };
    if replayable {
        Idempotency::Idempotent
    } else {
        Idempotency::NotIdempotent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("valid request")
    }

    #[test]
    fn reads_and_unconditional_writes_are_replayed() {
        use Idempotency::*;
        let cases = [
            (
                Method::GET,
                "http://h/b/k",
                &[("if-match", "\"e\"")][..],
                Idempotent,
            ),
            (Method::HEAD, "http://h/b/k", &[][..], Idempotent),
            (Method::PUT, "http://h/b/k", &[][..], Idempotent),
            (
                Method::PUT,
                "http://h/b/k?partNumber=1&uploadId=u",
                &[][..],
                Idempotent,
            ),
            (Method::DELETE, "http://h/b/k", &[][..], Idempotent),
            (Method::POST, "http://h/b/k?uploads", &[][..], Idempotent),
            (Method::POST, "http://h/b/k?uploadId=u", &[][..], Idempotent),
            (Method::POST, "http://h/b?delete", &[][..], Idempotent),
            (
                Method::POST,
                "https://login.example/t/oauth2/v2.0/token",
                &[][..],
                Idempotent,
            ),
            (
                Method::PUT,
                "http://h/b/k",
                &[("If-None-Match", "*")][..],
                NotIdempotent,
            ),
            (
                Method::PUT,
                "http://h/b/k",
                &[("If-Match", "\"e\"")][..],
                NotIdempotent,
            ),
            (
                Method::POST,
                "http://h/b/k?uploadId=u",
                &[("If-None-Match", "*")][..],
                NotIdempotent,
            ),
            (
                Method::PUT,
                "http://h/b/k",
                &[("x-goog-if-generation-match", "0")][..],
                NotIdempotent,
            ),
            (
                Method::DELETE,
                "http://h/b/k",
                &[("If-Match", "\"e\"")][..],
                NotIdempotent,
            ),
            (Method::POST, "http://h/b/k", &[][..], NotIdempotent),
            (Method::PATCH, "http://h/b/k", &[][..], NotIdempotent),
        ];
        for (method, uri, headers, expected) in cases {
            let req = request(method.clone(), uri, headers);
            assert_eq!(idempotency(&req), expected, "{method} {uri} {headers:?}");
        }
    }
}
