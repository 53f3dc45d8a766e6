//! Translating between the contract's [`BlobMeta`] and what Vercel Blob
//! stores: a content type, a cache `max-age`, a size, an upload time and an
//! etag. There is no content disposition (the host derives one from the
//! pathname) and no user metadata.
//!
//! Cache-control: Vercel keeps only a `max-age` (at least 60 s, 30 days when
//! not given) and serves `<access>, max-age=N`. So the one form that
//! round-trips is exactly that, e.g. `private, max-age=3600` on a private
//! store; any other value is refused as `Unsupported` rather than silently
//! altered. A blob carrying the default 30 days reports no cache-control,
//! since it is indistinguishable from one written without any.

use std::time::SystemTime;

use reqwest::header::HeaderMap;
use storage_core::{BlobKey, BlobMeta, Error, Provider, Result};

use crate::client::{header, HeadResult};
use crate::config::Access;
use crate::error;

/// What the service applies when a write names no `max-age`.
pub(crate) const DEFAULT_MAX_AGE: u64 = 30 * 24 * 60 * 60;
/// The smallest `max-age` the service keeps as given.
pub(crate) const MIN_MAX_AGE: u64 = 60;

/// The `x-cache-control-max-age` for a `Cache-Control` value, or
/// `Unsupported` when the value would not come back unchanged.
pub(crate) fn max_age_for(value: &str, access: Access) -> Result<u64> {
    let refuse = |why: String| {
        Err(
            Error::unsupported(Provider::Vercel, "cache_control").with_message(format!(
                "Vercel Blob stores only a max-age and serves `{}, max-age=N`; \
             `{}` would not round-trip: {why}",
                access.as_str(),
                value
            )),
        )
    };
    let Some(age) = parse(value)
        .filter(|(scope, _)| *scope == access.as_str())
        .map(|(_, age)| age)
    else {
        return refuse(format!(
            "use exactly `{}, max-age=<seconds>`",
            access.as_str()
        ));
    };
    if age < MIN_MAX_AGE {
        return refuse(format!("the service raises max-age below {MIN_MAX_AGE} s"));
    }
    if age == DEFAULT_MAX_AGE {
        return refuse(format!(
            "{DEFAULT_MAX_AGE} s is the default; omit cache_control to get it"
        ));
    }
    Ok(age)
}

/// `(scope, seconds)` of a canonical `scope, max-age=N` value.
fn parse(value: &str) -> Option<(&str, u64)> {
    let (scope, rest) = value.split_once(", max-age=")?;
    let digits_ok = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
        && (rest == "0" || !rest.starts_with('0'));
    if !digits_ok {
        return None;
    }
    Some((scope, rest.parse().ok()?))
}

/// The contract's cache-control for the value the service reports.
pub(crate) fn cache_control_from_wire(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    match parse(value) {
        Some((_, DEFAULT_MAX_AGE)) => None,
        _ if value.is_empty() => None,
        _ => Some(value.to_string()),
    }
}

/// An ISO-8601 `uploadedAt`.
pub(crate) fn parse_uploaded_at(operation: &str, value: &str) -> Result<SystemTime> {
    humantime::parse_rfc3339_weak(value.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(value))
        .map_err(|e| error::malformed(operation, format!("uploadedAt `{value}`: {e}")))
}

/// The meta of a `head` answer.
pub(crate) fn from_head(key: &BlobKey, head: HeadResult) -> Result<BlobMeta> {
    let mut meta = BlobMeta::new(
        key.clone(),
        head.size,
        head.etag,
        parse_uploaded_at("head", &head.uploaded_at)?,
        head.content_type,
    );
    meta.cache_control = cache_control_from_wire(head.cache_control.as_deref());
    Ok(meta)
}

/// The meta and served byte range of a blob host answer.
pub(crate) fn from_read(
    key: &BlobKey,
    headers: &HeaderMap,
    size_of_whole: Option<u64>,
) -> Result<(BlobMeta, std::ops::Range<u64>)> {
    let missing = |what: &str| error::malformed("get", format!("no usable {what} header"));
    let length: Option<u64> = header(headers, "content-length").and_then(|v| v.parse().ok());
    let (range, size) = match (header(headers, "content-range"), length, size_of_whole) {
        (Some(value), _, _) => {
            parse_content_range(value).ok_or_else(|| missing("content-range"))?
        }
        (None, Some(length), _) => (0..length, length),
        (None, None, Some(size)) => (0..size, size),
        (None, None, None) => return Err(missing("content-length")),
    };
    if length.is_some_and(|length| range.end - range.start != length) {
        return Err(error::malformed(
            "get",
            "content-range and content-length disagree",
        ));
    }
    let last_modified = header(headers, "last-modified")
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .unwrap_or_else(SystemTime::now);
    let mut meta = BlobMeta::new(
        key.clone(),
        size,
        header(headers, "etag").ok_or_else(|| missing("etag"))?,
        last_modified,
        header(headers, "content-type").unwrap_or("application/octet-stream"),
    );
    meta.cache_control = cache_control_from_wire(header(headers, "cache-control"));
    Ok((meta, range))
}

/// Whether a read answer says how many bytes it carries (a chunked answer
/// of a whole blob does not).
pub(crate) fn length_known(headers: &HeaderMap) -> bool {
    header(headers, "content-length").is_some() || header(headers, "content-range").is_some()
}

/// `bytes a-b/size` → (`a..b+1`, size).
fn parse_content_range(value: &str) -> Option<(std::ops::Range<u64>, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, size) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let (a, b, size): (u64, u64, u64) = (a.parse().ok()?, b.parse().ok()?, size.parse().ok()?);
    (a <= b && b < size).then_some((a..b + 1, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_served_cache_control_form_is_accepted() {
        assert_eq!(
            max_age_for("private, max-age=3600", Access::Private).ok(),
            Some(3600)
        );
        for bad in [
            "max-age=3600",
            "public, max-age=3600",
            "private, max-age=30",
            "private, max-age=2592000",
            "private, max-age=0600",
            "private, max-age=3600, immutable",
            "no-store",
        ] {
            assert!(max_age_for(bad, Access::Private).is_err(), "{bad}");
        }
        assert_eq!(
            cache_control_from_wire(Some("private, max-age=2592000")),
            None
        );
        assert_eq!(
            cache_control_from_wire(Some("public, max-age=60")).as_deref(),
            Some("public, max-age=60")
        );
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 2-4/10"), Some((2..5, 10)));
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn uploaded_at_parses_with_millis() {
        let t = parse_uploaded_at("t", "2026-11-22T23:30:25.755Z").expect("time");
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after epoch")
            .as_millis();
        assert_eq!(ms % 1000, 755);
    }
}
