//! The `x-api-version` header every SDK call carries, and the write defaults
//! it selects.
//!
//! The service changed two defaults without changing its routes: before API
//! version 10 (`@vercel/blob` 0.x, whose 0.27 line sends `9`) a write without
//! `x-add-random-suffix` gets a random suffix and a write without
//! `x-allow-overwrite` may replace an existing blob; from version 10
//! (`@vercel/blob` 1.0) both default to off. Apps pinned to 0.x still rely on
//! the old defaults, so the emulator keys them on the version each request
//! states rather than on its own release.

use http::HeaderMap;

use crate::error::{ApiError, ApiResult};

/// The request header naming the API version the client speaks.
pub const HEADER: &str = "x-api-version";

/// The newest version the emulator speaks: what `@vercel/blob` 2.8 sends.
pub const NEWEST: ApiVersion = ApiVersion(12);

/// The first version in which `addRandomSuffix` and `allowOverwrite`
/// default to false (`@vercel/blob` 1.0).
const EXPLICIT_WRITE_DEFAULTS: u32 = 10;

/// The API version of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(u32);

impl ApiVersion {
    /// The version a request states, or [`NEWEST`] when it states none.
    ///
    /// The SDK never omits the header, and a caller that does (curl, a
    /// presigned URL) was written against today's documentation, which
    /// describes the newest defaults.
    pub fn of(headers: &HeaderMap) -> ApiResult<Self> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(NEWEST);
        };
        let text = value.to_str().map_err(|_| malformed("is not valid text"))?;
        text.trim()
            .parse::<u32>()
            .map(Self)
            .map_err(|_| malformed(&format!("is {text:?}")))
    }

    /// Whether a write that does not say gets a random suffix.
    pub fn adds_random_suffix_by_default(self) -> bool {
        self.0 < EXPLICIT_WRITE_DEFAULTS
    }

    /// Whether a write that does not say may replace an existing blob.
    pub fn allows_overwrite_by_default(self) -> bool {
        self.0 < EXPLICIT_WRITE_DEFAULTS
    }
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "header {HEADER} {what}; it must be a non-negative integer such as {} \
         (the version the @vercel/blob SDK sends), or be left out to use that version",
        NEWEST.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_version(value: &'static [u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HEADER,
            HeaderValue::from_bytes(value).expect("test header value"),
        );
        headers
    }

    #[test]
    fn missing_header_is_the_newest_version() {
        assert_eq!(ApiVersion::of(&HeaderMap::new()), Ok(NEWEST));
        assert!(!NEWEST.adds_random_suffix_by_default());
        assert!(!NEWEST.allows_overwrite_by_default());
    }

    #[test]
    fn versions_before_ten_keep_the_old_defaults() {
        for (value, old) in [
            (&b"0"[..], true),
            (b"9", true),
            (b" 9 ", true),
            (b"10", false),
            (b"12", false),
            (b"13", false),
        ] {
            let version = ApiVersion::of(&with_version(value)).expect("valid version");
            assert_eq!(
                version.adds_random_suffix_by_default(),
                old,
                "suffix default for {value:?}"
            );
            assert_eq!(
                version.allows_overwrite_by_default(),
                old,
                "overwrite default for {value:?}"
            );
        }
    }

    #[test]
    fn malformed_versions_are_bad_requests_naming_the_header() {
        for value in [&b""[..], b"abc", b"9.5", b"-1", b"12abc", b"\xff"] {
            let err = ApiVersion::of(&with_version(value)).expect_err("malformed version");
            assert_eq!(err.status, http::StatusCode::BAD_REQUEST, "{value:?}");
            assert_eq!(err.code, "bad_request");
            assert!(
                err.message.contains("x-api-version") && err.message.contains("integer"),
                "message for {value:?}: {}",
                err.message
            );
        }
    }
}
