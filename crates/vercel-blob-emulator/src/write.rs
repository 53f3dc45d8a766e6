//! Options shared by every write (put, copy, rename, multipart) and the
//! overwrite rules they obey.
//!
//! Whatever a request (or the token it carries) leaves unsaid about the
//! random suffix and overwriting falls back to the defaults of the request's
//! API version ([`ApiVersion`]).

use std::sync::Arc;

use http::HeaderMap;

use crate::api_version::ApiVersion;
use crate::auth::Credential;
use crate::client_token::OnUploadCompleted;
use crate::error::{ApiError, ApiResult};
use crate::pathname::{self, Access};
use crate::state::AppState;
use crate::storage::{BlobMeta, Existing};

/// Cache lifetime when none is given: 30 days.
pub const DEFAULT_CACHE_CONTROL_MAX_AGE: u64 = 30 * 24 * 60 * 60;
/// The service never caches for less than a minute.
pub const MINIMUM_CACHE_CONTROL_MAX_AGE: u64 = 60;

/// The settled options of one write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Public or private.
    pub access: Access,
    /// Explicit content type, if any.
    pub content_type: Option<String>,
    /// Append a random suffix to the pathname.
    pub add_random_suffix: bool,
    /// Permit replacing an existing blob.
    pub allow_overwrite: bool,
    /// `max-age` in seconds.
    pub cache_control_max_age: u64,
    /// Required etag of the blob being replaced.
    pub if_match: Option<String>,
    /// Largest accepted body.
    pub size_limit: u64,
    /// Where to report completion (client tokens only).
    pub callback: Option<OnUploadCompleted>,
    /// Content types the credential permits, checked once the type is known.
    allowed_content_types: Vec<Vec<String>>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(format!("header {name} is not valid text")))
        })
        .transpose()
}

fn flag(headers: &HeaderMap, name: &str) -> ApiResult<Option<bool>> {
    match header(headers, name)? {
        None => Ok(None),
        Some("1") | Some("true") => Ok(Some(true)),
        Some("0") | Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!("invalid {name}: {other}"))),
    }
}

/// The type used when none is given: from the extension, else octet-stream.
pub fn infer_content_type(pathname: &str) -> String {
    mime_guess::from_path(pathname)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// Reads the put headers and applies what the credential imposes.
pub fn options(
    state: &AppState,
    headers: &HeaderMap,
    credential: &Credential,
    pathname: &str,
) -> ApiResult<WriteOptions> {
    let access = match header(headers, "x-vercel-blob-access")? {
        Some(v) => Access::parse(v)?,
        None => Access::Public,
    };
    let cache = match header(headers, "x-cache-control-max-age")? {
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request("x-cache-control-max-age must be a number of seconds")
        })?),
        None => None,
    };
    let version = ApiVersion::of(headers)?;
    let default_suffix = version.adds_random_suffix_by_default();
    let default_overwrite = version.allows_overwrite_by_default();
    let mut opts = WriteOptions {
        access,
        content_type: header(headers, "x-content-type")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        add_random_suffix: flag(headers, "x-add-random-suffix")?.unwrap_or(default_suffix),
        allow_overwrite: flag(headers, "x-allow-overwrite")?.unwrap_or(default_overwrite),
        cache_control_max_age: cache.unwrap_or(DEFAULT_CACHE_CONTROL_MAX_AGE),
        if_match: header(headers, "x-if-match")?.map(str::to_owned),
        size_limit: state.max_body_size,
        callback: None,
        allowed_content_types: Vec::new(),
    };
    match credential {
        Credential::ReadWrite => {}
        Credential::Client(token) => {
            // The token, signed by the server, wins over anything the browser sends.
            token.check_pathname(pathname)?;
            opts.add_random_suffix = token.add_random_suffix.unwrap_or(default_suffix);
            opts.allow_overwrite = token.allow_overwrite.unwrap_or(default_overwrite);
            opts.if_match = token.if_match.clone();
            if opts.if_match.is_some() {
                opts.allow_overwrite = true;
            }
            if let Some(age) = token.cache_control_max_age {
                opts.cache_control_max_age = age;
            }
            if let Some(max) = token.maximum_size_in_bytes {
                opts.size_limit = opts.size_limit.min(max);
            }
            if let Some(list) = &token.allowed_content_types {
                opts.allowed_content_types.push(list.clone());
            }
            opts.callback = token.on_upload_completed.clone();
        }
        Credential::Presigned(grant) => {
            opts.add_random_suffix = grant.add_random_suffix.unwrap_or(default_suffix);
            opts.allow_overwrite = grant.allow_overwrite.unwrap_or(default_overwrite);
            if grant.if_match.is_some() {
                opts.if_match = grant.if_match.clone();
                opts.allow_overwrite = true;
            }
            if let Some(age) = grant.cache_control_max_age {
                opts.cache_control_max_age = age;
            }
            if let Some(max) = grant.maximum_size_in_bytes {
                opts.size_limit = opts.size_limit.min(max);
            }
            opts.allowed_content_types = grant.allowed_content_types.clone();
        }
    }
    opts.cache_control_max_age = opts
        .cache_control_max_age
        .max(MINIMUM_CACHE_CONTROL_MAX_AGE);
    let content_type = opts.resolved_content_type(pathname);
    for list in &opts.allowed_content_types {
        if !list.is_empty() && !crate::client_token::content_type_allowed(&content_type, list) {
            return Err(ApiError::content_type_not_allowed(&content_type));
        }
    }
    Ok(opts)
}

impl WriteOptions {
    /// The content type to store.
    pub fn resolved_content_type(&self, pathname: &str) -> String {
        self.content_type
            .clone()
            .unwrap_or_else(|| infer_content_type(pathname))
    }

    /// The pathname the blob will get.
    pub fn final_pathname(&self, requested: &str) -> String {
        if self.add_random_suffix {
            pathname::with_random_suffix(requested)
        } else {
            requested.to_owned()
        }
    }

    /// Refuses early when the declared length is already too large.
    pub fn check_declared_length(&self, headers: &HeaderMap) -> ApiResult<()> {
        for name in [http::header::CONTENT_LENGTH.as_str(), "x-content-length"] {
            if let Some(len) = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
            {
                if len > self.size_limit {
                    return Err(ApiError::too_large(self.size_limit));
                }
            }
        }
        Ok(())
    }

    /// The overwrite and `ifMatch` rules, applied to the current blob.
    pub fn check_existing(&self, existing: Existing<'_>) -> ApiResult<()> {
        if let Some(wanted) = &self.if_match {
            match existing {
                Some(meta) if etags_match(&meta.etag, wanted) => {}
                _ => return Err(ApiError::precondition_failed()),
            }
        }
        if existing.is_some() && !self.allow_overwrite {
            return Err(ApiError::bad_request(
                "This blob already exists, use `allowOverwrite: true` if you want to overwrite it. Or `addRandomSuffix: true` to generate a unique filename.",
            ));
        }
        Ok(())
    }

    /// Metadata of the blob to write (size and etag are filled at commit).
    pub fn meta(&self, pathname: &str) -> BlobMeta {
        BlobMeta {
            pathname: pathname.to_owned(),
            access: self.access,
            content_type: self.resolved_content_type(pathname),
            cache_control_max_age: self.cache_control_max_age,
            size: 0,
            etag: String::new(),
            uploaded_at_ms: crate::storage::now_ms(),
        }
    }
}

/// Compares entity tags, tolerating missing quotes and weak markers.
pub fn etags_match(a: &str, b: &str) -> bool {
    fn bare(s: &str) -> &str {
        let s = s.trim();
        let s = s.strip_prefix("W/").unwrap_or(s);
        s.trim_matches('"')
    }
    bare(a) == bare(b)
}

/// `contentDisposition` of API results.
pub fn content_disposition(pathname: &str, attachment: bool) -> String {
    let name = pathname::file_name(pathname);
    let kind = if attachment { "attachment" } else { "inline" };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        format!("{kind}; filename=\"{name}\"")
    } else {
        let encoded =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// The JSON every write answers with.
pub fn put_result(state: &AppState, meta: &BlobMeta) -> serde_json::Value {
    let url = pathname::blob_url(&state.base_url, meta.access, &meta.pathname);
    serde_json::json!({
        "url": url,
        "downloadUrl": format!("{url}?download=1"),
        "pathname": meta.pathname,
        "contentType": meta.content_type,
        "contentDisposition": content_disposition(&meta.pathname, true),
        "etag": meta.etag,
    })
}

/// The `cache-control` value of a blob.
pub fn cache_control(meta: &BlobMeta) -> String {
    let scope = match meta.access {
        Access::Public => "public",
        Access::Private => "private",
    };
    format!("{scope}, max-age={}", meta.cache_control_max_age)
}

/// Reports a finished client upload, when the token asked for it.
pub fn after_write(state: &Arc<AppState>, opts: &WriteOptions, result: &serde_json::Value) {
    if let Some(target) = &opts.callback {
        crate::callback::spawn(Arc::clone(state), target.clone(), result.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_token::ClientTokenPayload;
    use crate::presign::Grant;
    use crate::secret::Secret;
    use crate::storage::{Storage, StorageConfig};
    use http::HeaderValue;

    fn state() -> AppState {
        AppState {
            store_id: "store".to_owned(),
            token: Secret::new("vercel_blob_rw_store_secret"),
            storage: Storage::open(&StorageConfig::InMemory).expect("in-memory storage"),
            base_url: "http://127.0.0.1:1".to_owned(),
            max_body_size: 1024,
            uploads: Default::default(),
            http: reqwest::Client::new(),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    /// `(add_random_suffix, allow_overwrite)` the request ends up with.
    fn settled(pairs: &[(&'static str, &'static str)], credential: &Credential) -> (bool, bool) {
        let opts = options(&state(), &headers(pairs), credential, "a.txt").expect("valid options");
        (opts.add_random_suffix, opts.allow_overwrite)
    }

    fn every_credential() -> [Credential; 3] {
        [
            Credential::ReadWrite,
            Credential::Client(Box::new(ClientTokenPayload {
                pathname: "a.txt".to_owned(),
                ..Default::default()
            })),
            Credential::Presigned(Grant::default()),
        ]
    }

    #[test]
    fn unstated_defaults_follow_the_api_version() {
        for credential in every_credential() {
            assert_eq!(
                settled(&[("x-api-version", "9")], &credential),
                (true, true),
                "{credential:?}"
            );
            assert_eq!(
                settled(&[("x-api-version", "10")], &credential),
                (false, false),
                "{credential:?}"
            );
            assert_eq!(settled(&[], &credential), (false, false), "{credential:?}");
        }
    }

    #[test]
    fn stated_headers_win_over_the_old_defaults() {
        let old_but_explicit = [
            ("x-api-version", "9"),
            ("x-add-random-suffix", "0"),
            ("x-allow-overwrite", "0"),
        ];
        assert_eq!(
            settled(&old_but_explicit, &Credential::ReadWrite),
            (false, false)
        );
        let new_but_explicit = [
            ("x-api-version", "12"),
            ("x-add-random-suffix", "1"),
            ("x-allow-overwrite", "1"),
        ];
        assert_eq!(
            settled(&new_but_explicit, &Credential::ReadWrite),
            (true, true)
        );
    }

    #[test]
    fn token_settings_win_over_the_old_defaults() {
        let token = Credential::Client(Box::new(ClientTokenPayload {
            pathname: "a.txt".to_owned(),
            add_random_suffix: Some(false),
            allow_overwrite: Some(false),
            ..Default::default()
        }));
        assert_eq!(settled(&[("x-api-version", "9")], &token), (false, false));
        let grant = Credential::Presigned(Grant {
            add_random_suffix: Some(false),
            allow_overwrite: Some(false),
            ..Default::default()
        });
        assert_eq!(settled(&[("x-api-version", "9")], &grant), (false, false));
    }

    #[test]
    fn malformed_version_refuses_the_write() {
        let err = options(
            &state(),
            &headers(&[("x-api-version", "twelve")]),
            &Credential::ReadWrite,
            "a.txt",
        )
        .expect_err("malformed version");
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
        assert!(err.message.contains("x-api-version"), "{}", err.message);
    }
}
