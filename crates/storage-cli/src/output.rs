//! What a verb prints on stdout: a human line, or one JSON document with
//! `--json` so scripts never parse prose.

use std::io::Write;
use std::time::SystemTime;

use serde_json::{json, Value};
use storage::BlobMeta;

/// Where results go, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Human output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Prints `value` with `--json`, else the text `human` builds.
    pub fn emit(&self, value: Value, human: impl FnOnce() -> String) {
        if self.json {
            print_line(&value.to_string());
        } else {
            let text = human();
            if !text.is_empty() {
                print_line(&text);
            }
        }
    }

    /// Prints a human progress line (nothing with `--json`).
    pub fn note(&self, text: &str) {
        if !self.json {
            print_line(text);
        }
    }
}

/// Writes one line to stdout; a closed pipe (`blobctl ls | head`) is not an
/// error worth a panic, so write failures are dropped.
fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// A blob's properties as JSON.
pub fn meta_json(meta: &BlobMeta) -> Value {
    json!({
        "key": meta.key.as_str(),
        "size": meta.size,
        "etag": meta.etag,
        "last_modified": time(meta.last_modified),
        "content_type": meta.content_type,
        "cache_control": meta.cache_control,
        "content_disposition": meta.content_disposition,
        "metadata": meta.metadata,
    })
}

/// A timestamp as RFC 3339 (UTC, seconds).
pub fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A size for people: `1.50 MiB`.
pub fn size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
