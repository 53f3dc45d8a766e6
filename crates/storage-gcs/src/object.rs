//! The JSON API's object resource and the URLs that name objects.
//!
//! A blob's etag is its **generation**, the number Cloud Storage gives each
//! version of an object. It changes with every write (also of identical
//! bytes, where the MD5-based `etag` field would not), a deleted and
//! recreated blob never gets an old one back, and it is what the service's
//! own preconditions (`ifGenerationMatch`) compare, so `IfMatch` is
//! enforced by the service rather than emulated.

use std::collections::BTreeMap;
use std::time::SystemTime;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use storage_core::{BlobKey, BlobMeta, Error, ErrorKind, ListEntry, Provider, Result};

use crate::error::{malformed, Op};

/// Everything but the unreserved characters is encoded, `/` included: an
/// object name is one path segment in the JSON API.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one URL path segment.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// The URLs of one bucket.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    endpoint: String,
    bucket: String,
}

impl Urls {
    pub(crate) fn new(endpoint: &str, bucket: &str) -> Urls {
        Urls {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            bucket: bucket.to_string(),
        }
    }

    fn parse(&self, text: String) -> Result<url::Url> {
        url::Url::parse(&text).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, Provider::Gcs)
                .with_message(format!("cannot form a request URL: {e}"))
        })
    }

    /// `…/storage/v1/b/<bucket>/o`: listing.
    pub(crate) fn objects(&self) -> Result<url::Url> {
        self.parse(format!(
            "{}/storage/v1/b/{}/o",
            self.endpoint,
            encode(&self.bucket)
        ))
    }

    /// `…/storage/v1/b/<bucket>/o/<name>`: metadata, media, delete.
    pub(crate) fn object(&self, key: &BlobKey) -> Result<url::Url> {
        self.parse(format!(
            "{}/storage/v1/b/{}/o/{}",
            self.endpoint,
            encode(&self.bucket),
            encode(key.as_str())
        ))
    }

    /// `…/<bucket>/<name>`: the XML API's object, for downloads (its answer
    /// carries every property as a header).
    pub(crate) fn xml_object(&self, key: &BlobKey) -> Result<url::Url> {
        self.parse(format!(
            "{}/{}/{}",
            self.endpoint,
            encode(&self.bucket),
            encode(key.as_str())
        ))
    }

    /// `…/upload/storage/v1/b/<bucket>/o`: uploads.
    pub(crate) fn upload(&self) -> Result<url::Url> {
        self.parse(format!(
            "{}/upload/storage/v1/b/{}/o",
            self.endpoint,
            encode(&self.bucket)
        ))
    }

    /// `…/o/<from>/rewriteTo/b/<bucket>/o/<to>`: server-side copy.
    pub(crate) fn rewrite(&self, from: &BlobKey, to: &BlobKey) -> Result<url::Url> {
        let bucket = encode(&self.bucket);
        self.parse(format!(
            "{}/storage/v1/b/{bucket}/o/{}/rewriteTo/b/{bucket}/o/{}",
            self.endpoint,
            encode(from.as_str()),
            encode(to.as_str())
        ))
    }
}

/// The fields of an object resource the adapter reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object {
    pub name: String,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub generation: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub cache_control: Option<String>,
    #[serde(default)]
    pub content_disposition: Option<String>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Object {
    /// Parses an object resource from an answer's body.
    pub(crate) fn from_json(body: &[u8], op: Op, key: &str) -> Result<Object> {
        serde_json::from_slice(body)
            .map_err(|e| malformed(op, key, format!("the object resource does not parse: {e}")))
    }

    fn size(&self, op: Op) -> Result<u64> {
        self.size
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| malformed(op, &self.name, "the object resource has no size"))
    }

    /// The generation, which is the blob's etag.
    pub(crate) fn generation(&self, op: Op) -> Result<String> {
        self.generation
            .clone()
            .filter(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| malformed(op, &self.name, "the object resource has no generation"))
    }

    /// When this version was written, in whole seconds: a download tells
    /// it only as an HTTP date, and `head`, `get` and `list` must agree.
    fn updated(&self) -> SystemTime {
        let at = self
            .updated
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(SystemTime::from)
            .unwrap_or_else(SystemTime::now);
        let secs = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    fn key(&self, op: Op) -> Result<BlobKey> {
        BlobKey::new(&self.name).map_err(|e| {
            malformed(
                op,
                &self.name,
                format!("the service returned a name that is not a valid key: {e}"),
            )
        })
    }

    /// The blob's properties.
    pub(crate) fn meta(self, op: Op) -> Result<BlobMeta> {
        let key = self.key(op)?;
        let content_type = self
            .content_type
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let mut meta = BlobMeta::new(
            key,
            self.size(op)?,
            self.generation(op)?,
            self.updated(),
            content_type,
        );
        meta.cache_control = self.cache_control.filter(|v| !v.is_empty());
        meta.content_disposition = self.content_disposition.filter(|v| !v.is_empty());
        meta.metadata = self.metadata.unwrap_or_default();
        Ok(meta)
    }

    /// The blob as a listing entry.
    pub(crate) fn entry(&self) -> Result<ListEntry> {
        Ok(ListEntry::new(
            self.key(Op::List)?,
            self.size(Op::List)?,
            self.generation(Op::List)?,
            self.updated(),
        ))
    }
}

/// The generation an etag names: a user's etag is one we handed out (the
/// generation's digits), perhaps quoted. Anything else names no version
/// that can exist.
pub(crate) fn generation_of(etag: &str) -> Option<&str> {
    let bare = etag.trim().trim_start_matches("W/").trim_matches('"');
    (!bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit())).then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_segment() {
        assert_eq!(encode("a/b c?%é"), "a%2Fb%20c%3F%25%C3%A9");
        let urls = Urls::new("http://127.0.0.1:1/", "bk");
        let key = BlobKey::new("dir/x y.txt").expect("key");
        assert_eq!(
            urls.object(&key).expect("url").as_str(),
            "http://127.0.0.1:1/storage/v1/b/bk/o/dir%2Fx%20y.txt"
        );
    }

    #[test]
    fn etags_are_generations() {
        assert_eq!(generation_of("\"1712\""), Some("1712"));
        assert_eq!(generation_of("1712"), Some("1712"));
        assert_eq!(generation_of("\"abc\""), None);
    }
}
