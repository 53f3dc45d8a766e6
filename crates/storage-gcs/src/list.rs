//! Listing (`objects.list`): names ascending in byte order, with `/`
//! folders when a delimiter is asked for.
//!
//! The cursor is the last name (blob or folder) of the page before, and
//! a page starts there with `startOffset`, skipping what is not past it.
//! A page token would do on Cloud Storage, but a name is a cursor any
//! server answers the same way, and it lets the page be cut exactly at
//! the limit counting blobs and folders together (an emulator that does
//! not count folders toward `maxResults` returns more).

use std::cmp::Ordering;

use reqwest::Method;
use serde::Deserialize;
use storage_core::{ListEntry, ListOptions, ListPage, Result};

use crate::error::{malformed, Op};
use crate::object::{Object, Urls};
use crate::rest::{Request, Rest};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Objects {
    #[serde(default)]
    items: Vec<Object>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// One name of a page.
enum Name {
    Blob(ListEntry),
    Folder(String),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Blob(entry) => entry.key.as_str(),
            Name::Folder(folder) => folder,
        }
    }
}

/// Whether `name` comes after `cursor`: past it in byte order, and not
/// inside it when the cursor was a folder.
fn after(name: &str, cursor: &str) -> bool {
    name.as_bytes().cmp(cursor.as_bytes()) == Ordering::Greater
        && !(cursor.ends_with('/') && name.starts_with(cursor))
}

/// One page of the bucket's listing.
pub(crate) async fn page(rest: &Rest, urls: &Urls, opts: &ListOptions) -> Result<ListPage> {
    let limit = opts.page_size();
    let mut url = urls.objects()?;
    {
        let mut query = url.query_pairs_mut();
        // One more than the page, for the cursor's own name, which comes
        // back again with `startOffset`.
        query.append_pair("maxResults", &(limit + 1).to_string());
        if !opts.prefix_str().is_empty() {
            query.append_pair("prefix", opts.prefix_str());
        }
        if opts.delimiter {
            query.append_pair("delimiter", "/");
        }
        if let Some(cursor) = &opts.cursor {
            query.append_pair("startOffset", cursor);
        }
        // Only the fields read: smaller answers.
        query.append_pair(
            "fields",
            "items(name,size,generation,updated),prefixes,nextPageToken",
        );
    }
    let answer = rest
        .fetch(Request::new(Method::GET, &url, Op::List, opts.prefix_str()))
        .await?;
    let listed: Objects = serde_json::from_slice(&answer.body).map_err(|e| {
        malformed(
            Op::List,
            opts.prefix_str(),
            format!("the listing does not parse: {e}"),
        )
    })?;
    let mut names = listed
        .items
        .iter()
        .map(|o| o.entry().map(Name::Blob))
        .collect::<Result<Vec<_>>>()?;
    names.extend(listed.prefixes.into_iter().map(Name::Folder));
    if let Some(cursor) = &opts.cursor {
        names.retain(|n| after(n.as_str(), cursor));
    }
    names.sort_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
    let more = names.len() > limit || listed.next_page_token.is_some_and(|t| !t.is_empty());
    names.truncate(limit);
    let cursor = if more {
        names.last().map(|n| n.as_str().to_string())
    } else {
        None
    };
    let mut entries = Vec::new();
    let mut folders = Vec::new();
    for name in names {
        match name {
            Name::Blob(entry) => entries.push(entry),
            Name::Folder(folder) => folders.push(folder),
        }
    }
    Ok(ListPage::new(entries, folders, cursor))
}

#[cfg(test)]
mod tests {
    use super::after;

    #[test]
    fn a_folder_cursor_skips_its_contents() {
        assert!(after("b", "a/"));
        assert!(!after("a/x", "a/"));
        assert!(!after("a/", "a/"));
        assert!(after("a/x", "a"));
        assert!(!after("a", "ab"));
    }
}
