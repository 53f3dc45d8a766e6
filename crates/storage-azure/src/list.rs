//! Listing one page at a time with Azure's own continuation markers: one
//! List Blobs request per page, `maxresults` = the page size, a raw string
//! prefix (so `rec` matches `record.txt` too) and, for delimiter listings,
//! `/` as the delimiter. The cursor handed to callers is Azure's
//! `NextMarker` behind a one-letter tag, so paging never re-reads earlier
//! pages.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Deserialize;
use storage_core::retry::Idempotency;
use storage_core::{BlobKey, Error, ErrorKind, ListEntry, ListOptions, ListPage, Provider, Result};

use crate::error::Op;
use crate::meta::normalize_etag;
use crate::rest::{Request, Rest};

/// Cursor tag: continue with this Azure marker.
const MARKER: char = 'm';

fn parse_cursor(cursor: Option<&str>) -> Result<Option<String>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    match cursor.strip_prefix(MARKER) {
        Some(marker) if !marker.is_empty() => Ok(Some(marker.to_string())),
        _ => Err(Error::new(ErrorKind::InvalidInput, Provider::Azure)
            .with_message("the list cursor was not returned by this store")),
    }
}

/// One page of `opts` from the container at `container_url`.
pub(crate) async fn page(
    rest: &Rest,
    container_url: &url::Url,
    opts: &ListOptions,
) -> Result<ListPage> {
    let marker = parse_cursor(opts.cursor.as_deref())?;
    let mut url = container_url.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("restype", "container")
            .append_pair("comp", "list");
        let prefix = opts.prefix_str();
        if !prefix.is_empty() {
            query.append_pair("prefix", prefix);
        }
        if opts.delimiter {
            query.append_pair("delimiter", "/");
        }
        query.append_pair("maxresults", &opts.page_size().to_string());
        if let Some(marker) = &marker {
            query.append_pair("marker", marker);
        }
    }
    let (_, body) = rest
        .fetch(Request {
            method: Method::GET,
            url: &url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            op: Op::List,
            key: "",
            idempotency: Idempotency::Idempotent,
        })
        .await?;
    let answer = parse(&body)?;
    let mut result = ListPage::default();
    for item in answer.blobs.items {
        match item {
            Item::Blob(blob) => match entry(blob) {
                Ok(entry) => result.entries.push(entry),
                // A name the key rules refuse (written by another tool) cannot
                // be handed out as a BlobKey; skipping it keeps the rest of
                // the container listable, as on every other provider.
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a blob whose name breaks the key rules")
                }
            },
            Item::BlobPrefix(prefix) => result.folders.push(prefix.name.decoded()?),
        }
    }
    result.cursor = answer
        .next_marker
        .filter(|m| !m.is_empty())
        .map(|m| format!("{MARKER}{m}"));
    Ok(result)
}

/// The List Blobs answer, only what a page needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    blobs: Blobs,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Blobs {
    #[serde(rename = "$value", default)]
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
enum Item {
    Blob(BlobItem),
    BlobPrefix(PrefixItem),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlobItem {
    name: Name,
    properties: Properties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixItem {
    name: Name,
}

/// A blob name; Azure percent-encodes names that XML cannot carry and says
/// so in an attribute.
#[derive(Debug, Deserialize)]
struct Name {
    #[serde(rename = "@Encoded", default)]
    encoded: Option<String>,
    #[serde(rename = "$text", default)]
    text: String,
}

impl Name {
    fn decoded(self) -> Result<String> {
        if self.encoded.as_deref() != Some("true") {
            return Ok(self.text);
        }
        percent_encoding::percent_decode_str(&self.text)
            .decode_utf8()
            .map(|name| name.into_owned())
            .map_err(|_| malformed("an encoded blob name is not UTF-8"))
    }
}

#[derive(Debug, Deserialize)]
struct Properties {
    #[serde(rename = "Last-Modified")]
    last_modified: String,
    #[serde(rename = "Etag")]
    etag: String,
    #[serde(rename = "Content-Length")]
    content_length: u64,
}

fn parse(body: &[u8]) -> Result<Answer> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the listing is not UTF-8"))?;
    quick_xml::de::from_str(text)
        .map_err(|e| malformed(&format!("the listing is not as documented: {e}")))
}

fn malformed(why: &str) -> Error {
    Error::new(ErrorKind::Backend, Provider::Azure).with_message(format!("list failed: {why}"))
}

fn entry(blob: BlobItem) -> Result<ListEntry> {
    let name = blob.name.decoded()?;
    let key = BlobKey::new(&name).map_err(|e| {
        e.with_provider(Provider::Azure)
            .with_message("the container holds a blob whose name breaks the key rules")
    })?;
    let modified = httpdate::parse_http_date(&blob.properties.last_modified)
        .map_err(|_| malformed("a blob's Last-Modified is not an HTTP date"))?;
    Ok(ListEntry::new(
        key,
        blob.properties.content_length,
        normalize_etag(&blob.properties.etag),
        modified,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_with_blobs_prefixes_and_encoded_names() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://x/" ContainerName="c">
  <Prefix>a</Prefix><MaxResults>3</MaxResults>
  <Blobs>
    <Blob><Name>a.txt</Name><Properties><Creation-Time>Mon, 01 Jan 2024 00:00:00 GMT</Creation-Time>
      <Last-Modified>Mon, 01 Jan 2024 00:00:00 GMT</Last-Modified><Etag>0x8D</Etag>
      <Content-Length>12</Content-Length><Content-Type>text/plain</Content-Type></Properties></Blob>
    <BlobPrefix><Name>a/</Name></BlobPrefix>
    <Blob><Name Encoded="true">a%EF%BF%BEz</Name><Properties>
      <Last-Modified>Mon, 01 Jan 2024 00:00:00 GMT</Last-Modified><Etag>"0x9"</Etag>
      <Content-Length>0</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker>2!token</NextMarker>
</EnumerationResults>"#;
        let answer = parse(xml.as_bytes()).expect("parses");
        assert_eq!(answer.next_marker.as_deref(), Some("2!token"));
        let mut items = answer.blobs.items.into_iter();
        let Some(Item::Blob(first)) = items.next() else {
            panic!("a blob first")
        };
        let first = entry(first).expect("valid key");
        assert_eq!(
            (first.key.as_str(), first.size, first.etag.as_str()),
            ("a.txt", 12, "\"0x8D\"")
        );
        let Some(Item::BlobPrefix(prefix)) = items.next() else {
            panic!("then a prefix")
        };
        assert_eq!(prefix.name.decoded().expect("plain"), "a/");
        let Some(Item::Blob(encoded)) = items.next() else {
            panic!("then the encoded name")
        };
        assert_eq!(encoded.name.decoded().expect("decodes"), "a\u{FFFE}z");
    }

    #[test]
    fn an_empty_listing_has_no_cursor() {
        let xml = r#"<?xml version="1.0"?><EnumerationResults><Blobs /><NextMarker /></EnumerationResults>"#;
        let answer = parse(xml.as_bytes()).expect("parses");
        assert!(answer.blobs.items.is_empty());
        assert!(answer.next_marker.filter(|m| !m.is_empty()).is_none());
    }

    #[test]
    fn foreign_cursors_are_refused() {
        assert!(parse_cursor(Some("x1")).is_err());
        assert!(parse_cursor(Some("m")).is_err());
        assert_eq!(
            parse_cursor(Some("m2!a")).expect("ours").as_deref(),
            Some("2!a")
        );
    }
}
