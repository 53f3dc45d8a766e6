//! One page of a listing: S3's `ListObjectsV2`, through object_store's
//! paginated listing. The prefix is sent as is (not path-aware), the
//! delimiter is `/`, the cursor is S3's continuation token, and S3 lists in
//! ascending order of the keys' UTF-8 bytes, which is the contract's order.

use std::time::SystemTime;

use object_store::aws::AmazonS3;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use storage_core::{BlobKey, Error, ErrorKind, ListEntry, ListOptions, ListPage, Result};
use storage_object_store::map_error;

/// One page of `opts`.
pub(crate) async fn page(s3: &AmazonS3, opts: &ListOptions) -> Result<ListPage> {
    let options = PaginatedListOptions {
        delimiter: opts.delimiter.then_some("/".into()),
        max_keys: Some(opts.page_size()),
        page_token: opts.cursor.clone(),
        ..Default::default()
    };
    let prefix = opts.prefix.as_deref().filter(|p| !p.is_empty());
    let answer = s3
        .list_paginated(prefix, options)
        .await
        .map_err(map_error)?;
    let mut entries = Vec::with_capacity(answer.result.objects.len());
    for object in &answer.result.objects {
        let key = BlobKey::new(object.location.as_ref()).map_err(|e| {
            Error::without_provider(ErrorKind::Backend).with_message(format!(
                "the bucket holds a key this library cannot name: {e}"
            ))
        })?;
        entries.push(ListEntry::new(
            key,
            object.size,
            object.e_tag.clone().unwrap_or_default(),
            SystemTime::from(object.last_modified),
        ));
    }
    // object_store drops the delimiter from S3's common prefixes.
    let folders = answer
        .result
        .common_prefixes
        .iter()
        .map(|p| format!("{}/", p.as_ref()))
        .collect();
    Ok(ListPage::new(entries, folders, answer.page_token))
}
