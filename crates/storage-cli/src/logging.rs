//! Diagnostics on stderr through `tracing`, never on stdout (which carries
//! the results, and `--json` documents).
//!
//! What is shown: errors by default (a verb's own failure is its one-line
//! message, not a log); `-v` adds warnings and info, `-vv` debug (the
//! storage layer's `blob.put`, `blob.get` … spans, each closed with its
//! duration, and every failed call), `-vvv` trace. The flags raise the
//! level of this project's crates only, so a dependency's chatter (HTTP
//! connection pools, TLS) stays out; `RUST_LOG` takes `tracing`'s
//! `EnvFilter` directives (`RUST_LOG=debug`, `RUST_LOG=storage_azure=trace`)
//! for anything else, and a flag given on top of it still raises this
//! project's crates.
//!
//! Secrets: the storage layer logs keys, providers and secret-free errors
//! only. As a second line of defence every log line is scrubbed before it
//! is written: the values of the credential variables in the environment
//! (account keys, tokens, signing keys) are replaced, and URLs lose their
//! signature-like query values, so even a dependency logging a request URL
//! at `RUST_LOG=trace` cannot print one.

use std::io::{self, IsTerminal, Write};

use storage::redact::{redact_connection_string, redact_url};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{Directive, EnvFilter};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;

/// The crates whose level `-v` raises.
const OWN_CRATES: &[&str] = &[
    "blobctl",
    "storage",
    "storage_core",
    "storage_local",
    "storage_azure",
    "storage_vercel",
    "storage_infra",
    "vercel_blob_emulator",
];

/// Variables whose values are credentials, scrubbed from every log line.
const SECRET_VARS: &[&str] = &[
    "BLOB_READ_WRITE_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "LOCAL_STORAGE_SIGNING_KEY",
];

/// Secrets shorter than this are not scrubbed by value: replacing every
/// `1` in the log because a test set a one-character key would say nothing.
const MIN_SECRET_LEN: usize = 8;

/// Installs the stderr subscriber; `verbose` is the number of `-v` flags.
pub fn init(verbose: u8) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), verbose);
    let writer = Scrubbing::new(secrets_from_env());
    // A second subscriber cannot be installed; main calls this once.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(io::stderr().is_terminal())
        .with_writer(writer)
        .try_init();
}

/// The filter for `RUST_LOG` (if set) and `verbose` `-v` flags.
fn filter(rust_log: Option<&str>, verbose: u8) -> EnvFilter {
    let own = match verbose {
        0 => None,
        1 => Some(LevelFilter::INFO),
        2 => Some(LevelFilter::DEBUG),
        _ => Some(LevelFilter::TRACE),
    };
    let mut filter = match rust_log.filter(|v| !v.trim().is_empty()) {
        Some(directives) => EnvFilter::builder()
            .with_default_directive(LevelFilter::ERROR.into())
            .parse_lossy(directives),
        // Not warn: the local store warns about a per-process signing key
        // each time it opens, noise for every verb but `sign` and `serve`.
        None => EnvFilter::new("error"),
    };
    if let Some(level) = own {
        for krate in OWN_CRATES {
            if let Ok(directive) = format!("{krate}={level}").parse::<Directive>() {
                filter = filter.add_directive(directive);
            }
        }
    }
    filter
}

/// The credential values set in this process's environment, and for a
/// connection string its `AccountKey`/`SharedAccessSignature` parts too.
fn secrets_from_env() -> Vec<String> {
    let mut secrets = Vec::new();
    for var in SECRET_VARS {
        let Ok(value) = std::env::var(var) else {
            continue;
        };
        for part in value.split(';') {
            if let Some((_, v)) = part.split_once('=') {
                secrets.push(v.to_string());
            }
        }
        secrets.push(value);
    }
    secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
    // Longest first, so a whole connection string goes before its parts.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Removes secrets from one line of log text.
fn scrub(line: &str, secrets: &[String]) -> String {
    let mut text = line.to_string();
    for secret in secrets {
        text = text.replace(secret.as_str(), "[redacted]");
    }
    text.split(' ')
        .map(|word| {
            if word.contains("AccountKey=") || word.contains("SharedAccessSignature=") {
                redact_connection_string(word)
            } else if word.contains("://") || word.contains('?') {
                redact_url(word)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stderr, with every write scrubbed; the fmt layer writes each event as
/// one buffer, so a secret is never split across two writes.
#[derive(Clone)]
struct Scrubbing {
    secrets: std::sync::Arc<Vec<String>>,
}

impl Scrubbing {
    fn new(secrets: Vec<String>) -> Self {
        Scrubbing {
            secrets: std::sync::Arc::new(secrets),
        }
    }
}

impl<'a> MakeWriter<'a> for Scrubbing {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Write for Scrubbing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let clean = scrub(&String::from_utf8_lossy(buf), &self.secrets);
        io::stderr().lock().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_known_secrets_and_url_signatures() {
        let secrets = vec!["vercel_blob_rw_store_s3cr3tvalue".to_string()];
        let line = "token vercel_blob_rw_store_s3cr3tvalue sent to \
                    https://a.blob.core.windows.net/c/k?sv=1&sig=abcdef AccountKey=Zm9vYmFy;x=y";
        let clean = scrub(line, &secrets);
        assert!(!clean.contains("s3cr3t"), "{clean}");
        assert!(!clean.contains("abcdef"), "{clean}");
        assert!(!clean.contains("Zm9vYmFy"), "{clean}");
        assert!(
            clean.contains("https://a.blob.core.windows.net/c/k"),
            "{clean}"
        );
    }

    #[test]
    fn flags_raise_own_crates_and_keep_rust_log_directives() {
        let text = filter(Some("hyper=trace"), 2).to_string();
        assert!(text.contains("hyper=trace"), "{text}");
        assert!(text.contains("storage_core=debug"), "{text}");
        assert!(!filter(None, 0).to_string().contains("storage_core"));
    }
}
