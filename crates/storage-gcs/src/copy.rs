//! Server-side copy (`objects.rewrite`): the bytes and every property of
//! the source (content type, cache control, disposition, user metadata)
//! are copied by the service. A large copy across locations or storage
//! classes may take several calls; each continues with the rewrite token
//! of the one before.
//!
//! `Create` and `IfMatch` travel as `ifGenerationMatch` on the
//! destination, which the service checks when the copy completes; they are
//! also checked first (see [`condition`](crate::condition)).

use reqwest::Method;
use serde::Deserialize;
use storage_core::retry::Idempotency;
use storage_core::{BlobKey, BlobMeta, PutMode, Result};

use crate::condition::{check_first, generation_condition};
use crate::error::{malformed, Op};
use crate::object::{Object, Urls};
use crate::rest::{Request, Rest};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rewrite {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    rewrite_token: Option<String>,
    #[serde(default)]
    resource: Option<Object>,
}

/// Copies `from` to `to` within the bucket.
pub(crate) async fn copy(
    rest: &Rest,
    urls: &Urls,
    from: &BlobKey,
    to: &BlobKey,
    mode: &PutMode,
) -> Result<BlobMeta> {
    let (op, idempotency) = match mode {
        PutMode::Overwrite => (Op::Copy, Idempotency::Idempotent),
        PutMode::Create => (Op::CopyCreate, Idempotency::NotIdempotent),
        PutMode::IfMatch(_) => (Op::CopyIfMatch, Idempotency::NotIdempotent),
    };
    let condition = generation_condition(mode, to)?;
    check_first(rest, urls, to, mode).await?;
    let mut token: Option<String> = None;
    loop {
        let mut url = urls.rewrite(from, to)?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(generation) = &condition {
                query.append_pair("ifGenerationMatch", generation);
            }
            if let Some(token) = &token {
                query.append_pair("rewriteToken", token);
            }
        }
        let mut request = Request::new(Method::POST, &url, op, from.as_str());
        request.idempotency = idempotency;
        let answer = rest.fetch(request).await?;
        let rewrite: Rewrite = serde_json::from_slice(&answer.body).map_err(|e| {
            malformed(
                op,
                to.as_str(),
                format!("the rewrite answer does not parse: {e}"),
            )
        })?;
        if rewrite.done {
            let resource = rewrite.resource.ok_or_else(|| {
                malformed(op, to.as_str(), "the finished rewrite names no object")
            })?;
            return resource.meta(op);
        }
        token = Some(rewrite.rewrite_token.ok_or_else(|| {
            malformed(
                op,
                to.as_str(),
                "an unfinished rewrite gave no token to go on with",
            )
        })?);
    }
}
