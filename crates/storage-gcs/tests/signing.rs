//! V4 signed URLs against a vector computed independently: a Python script
//! (standard library only) builds the canonical request and the string to
//! sign from Cloud Storage's description of the V4 process, and `openssl
//! dgst -sha256 -sign` signs it with the test key. RSA PKCS#1 v1.5 is
//! deterministic, so the adapter's URL must match byte for byte.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use storage_core::{BlobKey, SignMethod, SignOptions};
use storage_gcs::GcsStore;

const SCRIPT: &str = r#"
import hashlib, json, sys, urllib.parse
a = json.loads(sys.argv[1])
enc = lambda s: urllib.parse.quote(s, safe="-._~")
date = a["timestamp"][:8]
scope = date + "/auto/storage/goog4_request"
headers = {k.lower(): v.strip() for k, v in a["headers"].items()}
headers["host"] = a["host"]
signed = ";".join(sorted(headers))
query = {
    "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
    "X-Goog-Credential": a["email"] + "/" + scope,
    "X-Goog-Date": a["timestamp"],
    "X-Goog-Expires": str(a["expires"]),
    "X-Goog-SignedHeaders": signed,
}
query.update(a["query"])
canonical_query = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(query.items()))
path = "/" + enc(a["bucket"]) + "/" + urllib.parse.quote(a["object"], safe="/-._~")
canonical_headers = "".join(k + ":" + headers[k] + "\n" for k in sorted(headers))
request = "\n".join([a["method"], path, canonical_query, canonical_headers, signed, "UNSIGNED-PAYLOAD"])
to_sign = "\n".join(["GOOG4-RSA-SHA256", a["timestamp"], scope, hashlib.sha256(request.encode()).hexdigest()])
sys.stdout.write(json.dumps({"to_sign": to_sign, "url": "http://" + a["host"] + path + "?" + canonical_query}))
"#;

struct Vector {
    to_sign: String,
    url: String,
}

fn python_vector(args: serde_json::Value) -> Vector {
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(args.to_string())
        .output()
        .unwrap_or_else(|e| panic!("the signing test needs python3 on the PATH: {e}"));
    assert!(
        out.status.success(),
        "the vector script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("script output");
    Vector {
        to_sign: v["to_sign"].as_str().expect("to_sign").to_string(),
        url: v["url"].as_str().expect("url").to_string(),
    }
}

/// The hex RSA-SHA256 signature `openssl` makes of `text` with the test key.
fn openssl_signature(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("to-sign.txt");
    std::fs::write(&input, text).expect("write");
    let key = common::test_key()
        .pem_path
        .to_str()
        .expect("utf-8")
        .to_string();
    let signature = common::openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        &key,
        input.to_str().expect("utf-8"),
    ]);
    hex_of(&signature)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn store() -> GcsStore {
    GcsStore::new(common::config_for("http://127.0.0.1:4443", "sign-bucket")).expect("store")
}

/// 2026-01-02T03:04:05Z.
fn fixed_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045)
}

fn check(key: &str, opts: SignOptions, headers: serde_json::Value, query: serde_json::Value) {
    let store = store();
    let signed = store
        .signed_url_at(&BlobKey::new(key).expect("key"), &opts, fixed_time())
        .expect("sign");
    let vector = python_vector(serde_json::json!({
        "method": opts.method.as_str(),
        "host": "127.0.0.1:4443",
        "bucket": "sign-bucket",
        "object": key,
        "email": common::test_key().email,
        "timestamp": "20260102T030405Z",
        "expires": opts.expires_in.as_secs(),
        "headers": headers,
        "query": query,
    }));
    let expected = format!(
        "{}&X-Goog-Signature={}",
        vector.url,
        openssl_signature(&vector.to_sign)
    );
    assert_eq!(signed.url, expected, "{}", vector.to_sign);
    assert_eq!(signed.expires_at, fixed_time() + opts.expires_in);
    let sent: serde_json::Map<String, serde_json::Value> = signed
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::json!(v)))
        .collect();
    assert_eq!(serde_json::Value::Object(sent), headers, "listed headers");
}

#[test]
fn a_download_url_matches_the_independent_vector() {
    check(
        "recordings/call 1+ü.webm",
        SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(900)),
        serde_json::json!({}),
        serde_json::json!({}),
    );
}

#[test]
fn a_download_url_serving_a_type_and_disposition_matches() {
    check(
        "report.pdf",
        SignOptions::new(SignMethod::Get)
            .expires_in(Duration::from_secs(60))
            .content_disposition("attachment; filename=\"r.pdf\"")
            .content_type("application/pdf"),
        serde_json::json!({}),
        serde_json::json!({
            "response-content-disposition": "attachment; filename=\"r.pdf\"",
            "response-content-type": "application/pdf",
        }),
    );
}

#[test]
fn an_upload_url_binds_its_type_and_size() {
    check(
        "up/load.txt",
        SignOptions::new(SignMethod::Put)
            .expires_in(Duration::from_secs(7 * 24 * 3600))
            .content_type("text/plain")
            .max_size(1024),
        serde_json::json!({"content-type": "text/plain", "x-goog-content-length-range": "0,1024"}),
        serde_json::json!({}),
    );
}

#[test]
fn a_delete_url_matches() {
    check(
        "a/b/c",
        SignOptions::new(SignMethod::Delete).expires_in(Duration::from_secs(3600)),
        serde_json::json!({}),
        serde_json::json!({}),
    );
}
