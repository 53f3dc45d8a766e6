//! Pathname rules, blob URL construction and URL-to-pathname resolution.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::{ApiError, ApiResult};

/// Longest pathname the service accepts, counted like JavaScript's `length`.
pub const MAXIMUM_PATHNAME_LENGTH: usize = 950;

/// Prefix of the path under which the emulator serves blob contents.
pub const BLOB_HOST_PREFIX: &str = "/_blob";

const REAL_BLOB_HOST_SUFFIX: &str = ".blob.vercel-storage.com";

/// Characters that must be escaped for a pathname to survive as a URL path.
const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Who may read a blob without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone holding the URL.
    Public,
    /// Only callers with the read-write token or a presigned URL.
    Private,
}

impl Access {
    /// Parses the `x-vercel-blob-access` header value.
    pub fn parse(value: &str) -> ApiResult<Self> {
        match value {
            "public" => Ok(Access::Public),
            "private" => Ok(Access::Private),
            other => Err(ApiError::bad_request(format!(
                "access must be \"private\" or \"public\", got \"{other}\""
            ))),
        }
    }

    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Private => "private",
        }
    }
}

/// Rejects pathnames the service would refuse, plus ones that could only be
/// hostile (control characters).
pub fn validate(pathname: &str) -> ApiResult<()> {
    if pathname.is_empty() {
        return Err(ApiError::bad_request("pathname is required"));
    }
    if pathname.encode_utf16().count() > MAXIMUM_PATHNAME_LENGTH {
        return Err(ApiError::bad_request(format!(
            "pathname is too long, maximum length is {MAXIMUM_PATHNAME_LENGTH}"
        )));
    }
    if pathname.contains("//") {
        return Err(ApiError::bad_request(
            "pathname cannot contain \"//\", please encode it if needed",
        ));
    }
    if pathname.starts_with('/') {
        return Err(ApiError::bad_request("pathname cannot start with \"/\""));
    }
    // URL parsers collapse `.`/`..` segments (even percent-encoded), so such
    // a blob could never be fetched by its URL; refuse it up front.
    if pathname
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(ApiError::bad_request(
            "pathname cannot contain \".\" or \"..\" segments",
        ));
    }
    if pathname.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "pathname cannot contain control characters",
        ));
    }
    Ok(())
}

/// Inserts `-<random>` before the extension of the last segment, as the
/// service does for `addRandomSuffix`.
pub fn with_random_suffix(pathname: &str) -> String {
    let suffix: String = (0..21).map(|_| fastrand::alphanumeric()).collect();
    let segment_start = pathname.rfind('/').map_or(0, |i| i + 1);
    match pathname[segment_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = segment_start + dot;
            format!("{}-{suffix}{}", &pathname[..dot], &pathname[dot..])
        }
        _ => format!("{pathname}-{suffix}"),
    }
}

/// The blob URL the emulator hands out: served by itself, under
/// `<base>/_blob/<access>/<pathname>`.
pub fn blob_url(base_url: &str, access: Access, pathname: &str) -> String {
    format!(
        "{base_url}{BLOB_HOST_PREFIX}/{}/{}",
        access.as_str(),
        utf8_percent_encode(pathname, PATH_ESCAPES)
    )
}

/// The last path segment, used as the download file name.
pub fn file_name(pathname: &str) -> &str {
    pathname.rsplit('/').next().unwrap_or(pathname)
}

/// Accepts what the SDK sends as `url`/`fromUrl`/`urls[]`: a pathname, an
/// emulator blob URL, or a production-style
/// `https://<store>.<access>.blob.vercel-storage.com/<pathname>` URL.
pub fn resolve(url_or_pathname: &str) -> ApiResult<String> {
    if !(url_or_pathname.starts_with("http://") || url_or_pathname.starts_with("https://")) {
        return Ok(url_or_pathname.to_owned());
    }
    let parsed = url::Url::parse(url_or_pathname)
        .map_err(|_| ApiError::bad_request("Invalid URL: unable to parse the provided URL"))?;
    let path = parsed.path();
    let host = parsed.host_str().unwrap_or_default();
    let raw = if host.ends_with(REAL_BLOB_HOST_SUFFIX) {
        path.strip_prefix('/').unwrap_or(path)
    } else if let Some(rest) = strip_blob_host_prefix(path) {
        rest.1
    } else {
        path.strip_prefix('/').unwrap_or(path)
    };
    decode(raw)
}

/// Splits `/_blob/<access>/<rest>` into the access and the still-encoded rest.
pub fn strip_blob_host_prefix(path: &str) -> Option<(Access, &str)> {
    let rest = path.strip_prefix(BLOB_HOST_PREFIX)?.strip_prefix('/')?;
    let (access, rest) = rest.split_once('/')?;
    Some((Access::parse(access).ok()?, rest))
}

/// Percent-decodes a URL path into a pathname.
pub fn decode(raw: &str) -> ApiResult<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request("pathname is not valid UTF-8"))
}

/// Reads `<store>.<access>.blob.vercel-storage.com` from a Host header, for
/// clients that redirect the production blob host to the emulator.
pub fn parse_real_blob_host(host: &str) -> Option<(&str, Access)> {
    let host = host.split(':').next().unwrap_or(host);
    let rest = host.strip_suffix(REAL_BLOB_HOST_SUFFIX)?;
    let (store, access) = rest.split_once('.')?;
    Some((store, Access::parse(access).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_suffix_goes_before_extension() {
        let p = with_random_suffix("dir/b.json");
        assert!(p.starts_with("dir/b-") && p.ends_with(".json"), "{p}");
        let p = with_random_suffix("dir.x/noext");
        assert!(p.starts_with("dir.x/noext-"), "{p}");
        let p = with_random_suffix(".hidden");
        assert!(p.starts_with(".hidden-"), "{p}");
    }

    #[test]
    fn validation() {
        assert!(validate("a/b.txt").is_ok());
        assert!(validate("").is_err());
        assert!(validate("a//b").is_err());
        assert!(validate(&"x".repeat(951)).is_err());
        assert!(validate(&"x".repeat(950)).is_ok());
        assert!(validate("a\u{0}b").is_err());
        assert!(validate("../x").is_err());
        assert!(validate("a/./x").is_err());
        assert!(validate("a/..b/c..").is_ok());
    }

    #[test]
    fn resolves_urls() {
        assert_eq!(resolve("a b.txt").ok(), Some("a b.txt".into()));
        assert_eq!(
            resolve("https://s.public.blob.vercel-storage.com/dir/a%20b.txt").ok(),
            Some("dir/a b.txt".into())
        );
        let url = blob_url("http://127.0.0.1:1", Access::Private, "d/a b?.txt");
        assert_eq!(url, "http://127.0.0.1:1/_blob/private/d/a%20b%3F.txt");
        assert_eq!(resolve(&url).ok(), Some("d/a b?.txt".into()));
        assert_eq!(
            parse_real_blob_host("st.private.blob.vercel-storage.com:443"),
            Some(("st", Access::Private))
        );
    }
}
