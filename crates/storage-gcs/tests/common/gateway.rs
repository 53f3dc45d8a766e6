//! A signature-checking gateway in front of the emulator.
//!
//! fake-gcs-server serves V4 signed URLs but checks neither their
//! signature nor their expiry nor the signed size bound; Cloud Storage
//! does. This gateway stands where Cloud Storage's front end would: every
//! request passes through to the emulator unchanged, except that one
//! carrying `X-Goog-Signature` is first verified as Cloud Storage verifies
//! it, from what arrived on the wire (method, path, query, the headers it
//! names), with the test key's public half, written here independently of
//! the adapter's signer. A bad signature is refused with 403
//! `SignatureDoesNotMatch`, an expired URL with 400 `ExpiredToken`, a body
//! outside `x-goog-content-length-range` with 400 `EntityTooLarge`, as
//! Cloud Storage answers them.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The gateway's URL (`http://127.0.0.1:<port>`), started on first use on
/// a thread of its own, so it outlives every test's runtime.
pub fn url(upstream: &str) -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| start(upstream.to_string())).clone()
}

fn start(upstream: String) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("gateway runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("gateway bind");
            let addr = listener.local_addr().expect("gateway addr");
            tx.send(format!("http://{addr}")).expect("gateway url");
            let client = reqwest::Client::new();
            let app = axum::Router::new().fallback(move |request: Request| {
                let client = client.clone();
                let upstream = upstream.clone();
                async move { handle(request, &client, &upstream).await }
            });
            axum::serve(listener, app).await.expect("gateway serve");
        });
    });
    rx.recv().expect("the gateway did not start")
}

async fn handle(request: Request, client: &reqwest::Client, upstream: &str) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "IncompleteBody", &e.to_string())
                .into_response()
        }
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if query.iter().any(|(k, _)| k == "X-Goog-Signature") {
        if let Err(refusal) = verify(
            parts.method.as_str(),
            parts.uri.path(),
            &query,
            &parts.headers,
            body.len(),
        ) {
            return refusal.into_response();
        }
    }
    let target = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = client.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection"
        ) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body).send().await {
        Ok(a) => a,
        Err(e) => {
            return refuse(StatusCode::BAD_GATEWAY, "Upstream", &e.to_string()).into_response()
        }
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    headers.remove("transfer-encoding");
    headers.remove("content-length");
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// An answer refusing a request, in Cloud Storage's XML error form.
struct Refusal {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let xml = format!(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code, self.message
        );
        (self.status, [("content-type", "application/xml")], xml).into_response()
    }
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_string(),
        message: message.to_string(),
    }
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Verifies a V4 signed request as Cloud Storage does.
fn verify(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body_len: usize,
) -> Result<(), Refusal> {
    let forbidden = |m: &str| refuse(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", m);
    let bad = |code: &str, m: &str| refuse(StatusCode::BAD_REQUEST, code, m);
    if param(query, "X-Goog-Algorithm") != Some("GOOG4-RSA-SHA256") {
        return Err(bad("InvalidArgument", "unknown X-Goog-Algorithm"));
    }
    let date = param(query, "X-Goog-Date").ok_or_else(|| bad("InvalidArgument", "no date"))?;
    let signed_at = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| bad("InvalidArgument", "bad X-Goog-Date"))?
        .and_utc();
    let expires: i64 = param(query, "X-Goog-Expires")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| bad("InvalidArgument", "bad X-Goog-Expires"))?;
    if !(1..=604_800).contains(&expires) {
        return Err(bad("InvalidArgument", "X-Goog-Expires out of range"));
    }
    if chrono::Utc::now() > signed_at + chrono::Duration::seconds(expires) {
        return Err(bad("ExpiredToken", "Invalid argument: the URL has expired"));
    }
    let credential = param(query, "X-Goog-Credential").unwrap_or_default();
    let scope = format!("{}/auto/storage/goog4_request", &date[..8]);
    if credential != format!("{}/{scope}", super::test_key().email) {
        return Err(forbidden("credential scope"));
    }
    let signed_headers = param(query, "X-Goog-SignedHeaders").unwrap_or_default();
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let value = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| forbidden(&format!("signed header {name} not sent")))?;
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim()));
    }
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "X-Goog-Signature")
        .map(|(k, v)| {
            (
                utf8_percent_encode(k, UNRESERVED).to_string(),
                utf8_percent_encode(v, UNRESERVED).to_string(),
            )
        })
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\nUNSIGNED-PAYLOAD"
    );
    let string_to_sign = format!(
        "GOOG4-RSA-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let signature = param(query, "X-Goog-Signature")
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| forbidden("signature is not hex"))?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &super::test_key().public_der,
    )
    .verify(string_to_sign.as_bytes(), &signature)
    .map_err(|_| {
        forbidden("The request signature we calculated does not match the signature you provided.")
    })?;
    if let Some(range) = headers
        .get("x-goog-content-length-range")
        .and_then(|v| v.to_str().ok())
    {
        let (min, max) = range
            .split_once(',')
            .and_then(|(a, b)| {
                Some((
                    a.trim().parse::<usize>().ok()?,
                    b.trim().parse::<usize>().ok()?,
                ))
            })
            .ok_or_else(|| bad("InvalidArgument", "bad x-goog-content-length-range"))?;
        if body_len < min || body_len > max {
            return Err(bad(
                "EntityTooLarge",
                "Your proposed upload is larger than the maximum object size specified in your Policy Document.",
            ));
        }
    }
    Ok(())
}
