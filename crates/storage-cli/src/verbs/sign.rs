//! `blobctl sign <key>`: a signed URL for one method on one blob.

use serde_json::json;
use storage::{BlobStoreExt, SignMethod, SignOptions};

use crate::cli::{Method, SignArgs};
use crate::exit::CliResult;
use crate::location::BlobLocation;
use crate::output::time;

use super::Ctx;

/// Runs `sign`.
pub async fn run(ctx: Ctx, args: SignArgs) -> CliResult {
    let loc = BlobLocation::parse(&args.key)?;
    let method = match args.method {
        Method::Get => SignMethod::Get,
        Method::Put => SignMethod::Put,
        Method::Delete => SignMethod::Delete,
    };
    let mut opts = SignOptions::new(method).expires_in(args.expires);
    opts.content_type = args.content_type;
    opts.max_size = args.max_size;
    let signed = loc
        .store
        .signed_url(&loc.store.key(&loc.key)?, opts)
        .await?;
    // Printing the URL is the point of this verb: it is the credential the
    // user asked for, scoped to one blob, one method and a short lifetime.
    let headers: serde_json::Map<String, serde_json::Value> = signed
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    ctx.out.emit(
        json!({
            "method": signed.method.as_str(),
            "url": signed.url,
            "headers": headers,
            "expires_at": time(signed.expires_at),
        }),
        || {
            let mut text = signed.url.clone();
            for (name, value) in &signed.headers {
                text.push_str(&format!("\n# send header {name}: {value}"));
            }
            text.push_str(&format!(
                "\n# {} until {}",
                signed.method,
                time(signed.expires_at)
            ));
            text
        },
    );
    Ok(())
}
