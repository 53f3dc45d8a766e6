//! The SigV4 presigned URLs, checked against signatures computed
//! independently: a small Python program (the standard library's `hmac`
//! and `hashlib`, written from AWS's description of SigV4) recomputes the
//! signature of each URL from its method, path, query and signed headers,
//! with AWS's documented example key pair. No network is involved.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use storage_core::{BlobStore, BlobStoreExt, ErrorKind, SignMethod, SignOptions, SignedRequest};
use storage_s3::{S3Config, S3Store};

/// AWS's documented example key pair (it opens nothing).
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Recomputes the signature of a presigned URL: argv = method, URL,
/// secret, then `name:value` of each signed header but `host`.
const PYTHON_SIGV4: &str = r#"
import hashlib, hmac, sys
from urllib.parse import urlsplit, parse_qsl, quote

method, url, secret = sys.argv[1], sys.argv[2], sys.argv[3]
extra = dict(h.split(":", 1) for h in sys.argv[4:])
parts = urlsplit(url)
query = parse_qsl(parts.query, keep_blank_values=True)
params = dict(query)
enc = lambda s: quote(s, safe="-_.~")
canonical_query = "&".join(
    f"{enc(k)}={enc(v)}" for k, v in sorted(query) if k != "X-Amz-Signature"
)
headers = dict(extra, host=parts.netloc)
signed = params["X-Amz-SignedHeaders"].split(";")
canonical_headers = "".join(f"{h}:{headers[h].strip()}\n" for h in signed)
path = "/".join(enc(s) for s in __import__("urllib.parse").parse.unquote(parts.path).split("/"))
canonical_request = "\n".join([
    method, path, canonical_query, canonical_headers, ";".join(signed), "UNSIGNED-PAYLOAD",
])
key_id, day, region, service, terminal = params["X-Amz-Credential"].split("/")
scope = "/".join([day, region, service, terminal])
string_to_sign = "\n".join([
    "AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
    hashlib.sha256(canonical_request.encode()).hexdigest(),
])
k = ("AWS4" + secret).encode()
for part in (day, region, service, terminal):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
print(hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest())
"#;

fn python_signature(method: &str, url: &str, headers: &[(String, String)]) -> String {
    let mut child = Command::new("python3")
        .arg("-")
        .arg(method)
        .arg(url)
        .arg(SECRET)
        .args(headers.iter().map(|(k, v)| format!("{k}:{v}")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("this test needs python3 on the PATH to check signatures: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PYTHON_SIGV4.as_bytes())
        .expect("write the program");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn store(extra: &[(&str, &str)]) -> S3Store {
    let config = S3Config::from_lookup(|var| match var {
        "S3_BUCKET" => Some("examplebucket".into()),
        "AWS_REGION" => Some("us-east-1".into()),
        "AWS_ACCESS_KEY_ID" => Some(KEY_ID.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.into()),
        _ => extra
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| v.to_string()),
    })
    .expect("config");
    S3Store::new(config).expect("store")
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn sign(store: &S3Store, key: &str, opts: SignOptions) -> SignedRequest {
    store
        .signed_url(&store.key(key).expect("key"), opts)
        .await
        .unwrap_or_else(|e| panic!("sign {key}: {e}"))
}

#[tokio::test]
async fn a_presigned_get_matches_an_independent_sigv4() {
    let store = store(&[]);
    let before = SystemTime::now();
    let signed = sign(
        &store,
        "test.txt",
        SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(86_400)),
    )
    .await;
    assert!(
        signed
            .url
            .starts_with("https://examplebucket.s3.us-east-1.amazonaws.com/test.txt?"),
        "{}",
        signed.url
    );
    assert_eq!(
        query_value(&signed.url, "X-Amz-Algorithm").as_deref(),
        Some("AWS4-HMAC-SHA256")
    );
    assert_eq!(
        query_value(&signed.url, "X-Amz-Expires").as_deref(),
        Some("86400")
    );
    assert_eq!(
        query_value(&signed.url, "X-Amz-SignedHeaders").as_deref(),
        Some("host")
    );
    let credential = query_value(&signed.url, "X-Amz-Credential").expect("credential");
    assert!(credential.starts_with(KEY_ID) && credential.ends_with("/us-east-1/s3/aws4_request"));
    assert!(signed.headers.is_empty(), "{:?}", signed.headers);
    let lives = signed
        .expires_at
        .duration_since(before)
        .expect("in the future");
    assert!(lives >= Duration::from_secs(86_399) && lives <= Duration::from_secs(86_401));
    let signature = query_value(&signed.url, "X-Amz-Signature").expect("signature");
    assert_eq!(
        signature,
        python_signature("GET", &signed.url, &signed.headers)
    );
}

#[tokio::test]
async fn a_presigned_put_binds_its_content_type_and_disposition() {
    let store = store(&[]);
    let signed = sign(
        &store,
        "uploads/ünïcode and space.txt",
        SignOptions::new(SignMethod::Put)
            .content_type("text/plain")
            .content_disposition("attachment; filename=\"a.txt\""),
    )
    .await;
    assert_eq!(
        signed.headers,
        [
            ("content-type".to_string(), "text/plain".to_string()),
            (
                "content-disposition".to_string(),
                "attachment; filename=\"a.txt\"".to_string()
            ),
        ]
    );
    let signed_headers = query_value(&signed.url, "X-Amz-SignedHeaders").expect("signed headers");
    assert_eq!(signed_headers, "content-disposition;content-type;host");
    let signature = query_value(&signed.url, "X-Amz-Signature").expect("signature");
    assert_eq!(
        signature,
        python_signature("PUT", &signed.url, &signed.headers)
    );
    // The same URL with another content type is another signature, which
    // S3 refuses.
    let other = [
        ("content-type".to_string(), "image/png".to_string()),
        signed.headers[1].clone(),
    ];
    assert_ne!(signature, python_signature("PUT", &signed.url, &other));
}

#[tokio::test]
async fn a_presigned_delete_and_a_get_with_disposition_and_a_session_token() {
    let store = store(&[("AWS_SESSION_TOKEN", "FQoGZXIvYXdzEXAMPLE")]);
    let delete = sign(&store, "a/b.bin", SignOptions::new(SignMethod::Delete)).await;
    assert_eq!(
        query_value(&delete.url, "X-Amz-Security-Token").as_deref(),
        Some("FQoGZXIvYXdzEXAMPLE")
    );
    assert_eq!(
        query_value(&delete.url, "X-Amz-Signature").expect("signature"),
        python_signature("DELETE", &delete.url, &delete.headers)
    );
    assert!(
        !format!("{delete:?}").contains("FQoGZXIvYXdzEXAMPLE"),
        "{delete:?}"
    );
    let get = sign(
        &store,
        "a/b.bin",
        SignOptions::new(SignMethod::Get).content_disposition("attachment"),
    )
    .await;
    assert_eq!(
        query_value(&get.url, "response-content-disposition").as_deref(),
        Some("attachment")
    );
    assert_eq!(
        query_value(&get.url, "X-Amz-Signature").expect("signature"),
        python_signature("GET", &get.url, &get.headers)
    );
}

#[tokio::test]
async fn expiry_is_at_most_seven_days_and_size_bounds_are_unsupported() {
    let store = store(&[]);
    let key = store.key("k").expect("key");
    let week = Duration::from_secs(7 * 24 * 3600);
    let signed = sign(
        &store,
        "k",
        SignOptions::new(SignMethod::Get).expires_in(week),
    )
    .await;
    assert_eq!(
        query_value(&signed.url, "X-Amz-Expires").as_deref(),
        Some("604800")
    );
    let err = store
        .signed_url(
            &key,
            SignOptions::new(SignMethod::Get).expires_in(week + Duration::from_secs(1)),
        )
        .await
        .expect_err("over a week");
    assert_eq!(err.kind(), &ErrorKind::InvalidInput, "{err}");
    let err = store
        .signed_url(&key, SignOptions::new(SignMethod::Put).max_size(1024))
        .await
        .expect_err("no size bound");
    assert!(matches!(err.kind(), ErrorKind::Unsupported { .. }), "{err}");
}
