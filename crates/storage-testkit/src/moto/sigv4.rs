//! A verifier of SigV4 signatures, presigned URLs (query authentication)
//! and `Authorization` headers alike, written from AWS's description of the
//! algorithm, for the checks moto does not make: the access key, the
//! signature over method, path, query and signed headers, the credential
//! scope, and the expiry (or the clock skew).
//!
//! It is the test side's own implementation, independent of the signer
//! under test, and is itself checked against AWS's published example.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What a presigned request carries, as it arrived.
pub(crate) struct Presigned<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The raw query string.
    pub query: &'a str,
    /// Looks a request header up by lowercase name.
    pub header: &'a dyn Fn(&str) -> Option<String>,
}

/// Why a presigned request is refused, as S3 says it: the error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Whether the request's query carries a SigV4 signature.
pub(crate) fn is_presigned(query: &str) -> bool {
    pairs(query).iter().any(|(k, _)| k == "X-Amz-Signature")
}

/// Checks a presigned `request` against `secret` (of access key `key_id`)
/// at `now`.
pub(crate) fn verify(
    request: &Presigned<'_>,
    key_id: &str,
    secret: &str,
    now: SystemTime,
) -> Result<(), Refusal> {
    let query = pairs(request.query);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                refuse(
                    "AuthorizationQueryParametersError",
                    format!("{name} is missing"),
                )
            })
    };
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(refuse(
            "AuthorizationQueryParametersError",
            "unknown X-Amz-Algorithm",
        ));
    }
    let amz_date = get("X-Amz-Date")?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| refuse("AuthorizationQueryParametersError", "malformed X-Amz-Date"))?;
    let expires: u64 = get("X-Amz-Expires")?.parse().map_err(|_| {
        refuse(
            "AuthorizationQueryParametersError",
            "malformed X-Amz-Expires",
        )
    })?;
    if expires > 604_800 {
        return Err(refuse(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds)",
        ));
    }
    if now > signed_at + Duration::from_secs(expires) {
        return Err(refuse("AccessDenied", "Request has expired"));
    }
    let signed = Signed {
        credential: get("X-Amz-Credential")?,
        signed_headers: get("X-Amz-SignedHeaders")?,
        signature: get("X-Amz-Signature")?,
        amz_date,
        signed_at,
        payload_hash: "UNSIGNED-PAYLOAD",
    };
    let canonical: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .collect();
    check(request, &canonical, &signed, key_id, secret, now)
}

/// Checks a `request` signed in its `Authorization` header against
/// `secret` (of access key `key_id`) at `now`. The payload hash is taken
/// from `x-amz-content-sha256` as sent (S3 checks the body against it
/// separately).
pub(crate) fn verify_header(
    request: &Presigned<'_>,
    key_id: &str,
    secret: &str,
    now: SystemTime,
) -> Result<(), Refusal> {
    let malformed = |what: &str| refuse("AuthorizationHeaderMalformed", what.to_string());
    let authorization =
        (request.header)("authorization").ok_or_else(|| malformed("no Authorization"))?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| malformed("not AWS4-HMAC-SHA256"))?;
    let field = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .ok_or_else(|| malformed(&format!("{name} is missing")))
    };
    let amz_date = (request.header)("x-amz-date").ok_or_else(|| malformed("no x-amz-date"))?;
    let signed_at = parse_amz_date(&amz_date).ok_or_else(|| malformed("malformed x-amz-date"))?;
    let skew = Duration::from_secs(900);
    if now > signed_at + skew || signed_at > now + skew {
        return Err(refuse(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large",
        ));
    }
    let payload_hash = (request.header)("x-amz-content-sha256").ok_or_else(|| {
        refuse(
            "InvalidRequest",
            "Missing required header x-amz-content-sha256",
        )
    })?;
    let signed = Signed {
        credential: field("Credential")?,
        signed_headers: field("SignedHeaders")?,
        signature: field("Signature")?,
        amz_date: &amz_date,
        signed_at,
        payload_hash: &payload_hash,
    };
    let query = pairs(request.query);
    let canonical: Vec<&(String, String)> = query.iter().collect();
    check(request, &canonical, &signed, key_id, secret, now)
}

/// The signature's parts, wherever they were carried.
struct Signed<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
    amz_date: &'a str,
    signed_at: SystemTime,
    payload_hash: &'a str,
}

fn check(
    request: &Presigned<'_>,
    query: &[&(String, String)],
    signed: &Signed<'_>,
    key_id: &str,
    secret: &str,
    now: SystemTime,
) -> Result<(), Refusal> {
    let scope_parts: Vec<&str> = signed.credential.split('/').collect();
    let [id, day, region, service, "aws4_request"] = scope_parts[..] else {
        return Err(refuse(
            "AuthorizationQueryParametersError",
            "malformed credential scope",
        ));
    };
    if id != key_id {
        return Err(refuse(
            "InvalidAccessKeyId",
            format!("unknown access key `{id}`"),
        ));
    }
    if !signed.amz_date.starts_with(day) {
        return Err(refuse(
            "AuthorizationQueryParametersError",
            "scope date differs from the request date",
        ));
    }
    if signed.signed_at > now + Duration::from_secs(900) {
        return Err(refuse("AccessDenied", "Request is not valid yet"));
    }
    let mut canonical_headers = String::new();
    for name in signed.signed_headers.split(';') {
        let value = (request.header)(name).unwrap_or_default();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let mut canonical_query: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    canonical_query.sort();
    let canonical_query: Vec<String> = canonical_query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let canonical_path: Vec<String> = request
        .path
        .split('/')
        .map(|segment| encode(&decode(segment)))
        .collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{}",
        request.method,
        canonical_path.join("/"),
        canonical_query.join("&"),
        signed.signed_headers,
        signed.payload_hash,
    );
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        signed.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected != signed.signature {
        return Err(refuse(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        ));
    }
    Ok(())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The query's pairs, percent-decoded.
fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// SigV4's URI encoding: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `20130524T000000Z` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let digits = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    if text.len() != 16 || text.as_bytes()[8] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hh, mm, ss) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    // Days since 1970-01-01 of a proleptic Gregorian date.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example of a presigned GET ("Authenticating
    /// Requests: Using Query Parameters", Signature Version 4).
    const EXAMPLE_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn example(query: &str, method: &str, path: &str, now: SystemTime) -> Result<(), Refusal> {
        let header =
            |name: &str| (name == "host").then(|| "examplebucket.s3.amazonaws.com".to_string());
        verify(
            &Presigned {
                method,
                path,
                query,
                header: &header,
            },
            "AKIAIOSFODNN7EXAMPLE",
            EXAMPLE_SECRET,
            now,
        )
    }

    #[test]
    fn the_published_example_verifies_and_its_edits_do_not() {
        let signed_at = parse_amz_date("20130524T000000Z").expect("date");
        assert_eq!(
            signed_at
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_secs(),
            1_369_353_600
        );
        let hour_later = signed_at + Duration::from_secs(3600);
        assert_eq!(
            example(EXAMPLE_QUERY, "GET", "/test.txt", hour_later),
            Ok(())
        );
        let code = |r: Result<(), Refusal>| r.expect_err("refused").code;
        assert_eq!(
            code(example(EXAMPLE_QUERY, "PUT", "/test.txt", hour_later)),
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            code(example(EXAMPLE_QUERY, "GET", "/other.txt", hour_later)),
            "SignatureDoesNotMatch"
        );
        let two_days = signed_at + Duration::from_secs(2 * 86_400);
        assert_eq!(
            code(example(EXAMPLE_QUERY, "GET", "/test.txt", two_days)),
            "AccessDenied"
        );
    }
}
