//! Semantic checks of a parsed manifest, run before anything is sent:
//! Azure's container naming rules, duplicate containers, metadata names,
//! CORS origins and limits, account and lifecycle settings.
//!
//! Each check reports the first problem only, with the span of the entry at
//! fault, so the user fixes one clear thing at a time.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::manifest::{AccountSettings, CorsRuleSpec, Manifest};

/// Azure accepts at most five CORS rules per service.
pub const MAX_CORS_RULES: usize = 5;
/// Azure accepts at most 64 origins (and 64 headers) per rule.
pub const MAX_CORS_ITEMS: usize = 64;
/// Azure limits an origin to 256 characters.
pub const MAX_ORIGIN_LEN: usize = 256;

/// One validation failure: what is wrong, and where in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Byte range of the offending value in the manifest text.
    pub span: Option<Range<usize>>,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn fail<T>(span: Range<usize>, message: impl Into<String>) -> Result<T, ValidationError> {
    Err(ValidationError {
        span: Some(span),
        message: message.into(),
    })
}

/// Checks everything [`Manifest::parse`] cannot express in types.
pub fn validate(manifest: &Manifest) -> Result<(), ValidationError> {
    let mut seen = BTreeSet::new();
    for container in &manifest.containers {
        let span = container.name.span();
        // The same rules storage-azure applies to AZURE_STORAGE_CONTAINER_NAME,
        // so the app and its infrastructure cannot disagree on what is valid.
        if let Err(why) = storage_azure::validate_container(container.name()) {
            return fail(span, why);
        }
        if !seen.insert(container.name()) {
            return fail(
                span,
                format!(
                    "container `{}` is listed twice; merge the two entries",
                    container.name()
                ),
            );
        }
        if let Some(metadata) = &container.metadata {
            for (key, value) in metadata.get_ref() {
                if let Err(why) = check_metadata(key, value) {
                    return fail(metadata.span(), why);
                }
            }
        }
    }
    if let Some(rules) = &manifest.cors {
        if rules.len() > MAX_CORS_RULES {
            let span = rules[MAX_CORS_RULES].span.clone();
            return fail(
                span,
                format!(
                    "{} CORS rules given; Azure accepts at most {MAX_CORS_RULES}",
                    rules.len()
                ),
            );
        }
        for rule in rules {
            check_cors(rule)?;
        }
    }
    if let Some(account) = &manifest.account {
        check_account(account)?;
    }
    Ok(())
}

/// Metadata names must be C# identifiers on Azure. We also require lower
/// case: HTTP header names come back lower-cased, so a mixed-case name
/// would show a difference on every `plan`, and Terraform's azurerm
/// provider refuses upper case too.
fn check_metadata(key: &str, value: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok {
        return Err(format!(
            "metadata name `{}` is invalid: use lowercase letters, digits and `_`, not starting \
             with a digit",
            key.escape_debug()
        ));
    }
    // Metadata travels as HTTP header values: visible ASCII and inner spaces
    // only, and Azure trims surrounding whitespace (a perpetual diff).
    if !value.chars().all(|c| c == ' ' || c.is_ascii_graphic()) || value.trim() != value {
        return Err(format!(
            "metadata `{key}` has a value Azure cannot store as given: use printable ASCII \
             without leading or trailing spaces"
        ));
    }
    Ok(())
}

fn check_cors(rule: &CorsRuleSpec) -> Result<(), ValidationError> {
    if rule.origins.is_empty() {
        // An empty list has no span of its own; the rule's span is empty too.
        return Err(ValidationError {
            span: None,
            message: "a CORS rule has no origins; list at least one (or \"*\")".into(),
        });
    }
    if rule.methods.is_empty() {
        return fail(
            rule.span.clone(),
            "a CORS rule has no methods; list at least one (e.g. \"GET\", \"PUT\")",
        );
    }
    if rule.origins.len() > MAX_CORS_ITEMS
        || rule.allowed_headers.len() > MAX_CORS_ITEMS
        || rule.exposed_headers.len() > MAX_CORS_ITEMS
    {
        return fail(
            rule.span.clone(),
            format!("a CORS rule lists more than {MAX_CORS_ITEMS} origins or headers"),
        );
    }
    for origin in &rule.origins {
        check_origin(origin.get_ref()).or_else(|why| fail(origin.span(), why))?;
    }
    for header in rule.allowed_headers.iter().chain(&rule.exposed_headers) {
        let name = header.strip_suffix('*').unwrap_or(header);
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if header != "*" && !token {
            return fail(
                rule.span.clone(),
                format!(
                    "CORS header `{}` is not a header name (or a `prefix*`, or `*`)",
                    header.escape_debug()
                ),
            );
        }
    }
    Ok(())
}

/// `*`, or `http(s)://host[:port]` exactly: browsers send the origin without
/// a path or trailing slash, so anything else would never match.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let bad = |why: &str| {
        Err(format!(
            "CORS origin `{}` is invalid: {why} (write `https://host[:port]` or `*`)",
            origin.escape_debug()
        ))
    };
    if origin.len() > MAX_ORIGIN_LEN {
        return bad("longer than 256 characters");
    }
    let Ok(url) = url::Url::parse(origin) else {
        return bad("not a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("the scheme must be http or https");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("it has no host");
    }
    if url.path() != "/" || origin.ends_with('/') || url.query().is_some() {
        return bad("an origin has no path, query or trailing slash");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("an origin has no user info");
    }
    Ok(())
}

fn check_account(account: &AccountSettings) -> Result<(), ValidationError> {
    if let Some(name) = &account.name {
        let n = name.get_ref();
        let ok = (3..=24).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return fail(
                name.span(),
                format!("account name `{n}` is invalid: 3 to 24 lowercase letters and digits"),
            );
        }
    }
    if let Some(days) = &account.soft_delete_days {
        if !(1..=365).contains(days.get_ref()) {
            return fail(days.span(), "soft_delete_days must be between 1 and 365");
        }
    }
    let mut names = BTreeSet::new();
    for rule in &account.lifecycle {
        let span = rule.name.span();
        let name = rule.name.get_ref();
        if name.is_empty() || name.len() > 256 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return fail(
                span,
                format!("lifecycle rule name `{name}` must be 1-256 letters and digits"),
            );
        }
        if !names.insert(name) {
            return fail(span, format!("lifecycle rule `{name}` is listed twice"));
        }
        let steps = [
            rule.cool_after_days,
            rule.archive_after_days,
            rule.delete_after_days,
        ];
        if steps.iter().all(Option::is_none) {
            return fail(
                span,
                format!(
                    "lifecycle rule `{name}` does nothing: set cool_after_days, \
                     archive_after_days or delete_after_days"
                ),
            );
        }
        // Tiering after deletion (or archiving before cooling) is a
        // contradiction Azure would accept and then silently never apply.
        let given: Vec<u32> = steps.iter().flatten().copied().collect();
        if given.windows(2).any(|w| w[0] >= w[1]) {
            return fail(
                span,
                format!(
                    "lifecycle rule `{name}`: the days must increase from cool to archive to \
                     delete"
                ),
            );
        }
        for prefix in &rule.prefixes {
            let container = prefix.split('/').next().unwrap_or_default();
            if let Err(why) = storage_azure::validate_container(container) {
                return fail(
                    span,
                    format!(
                        "lifecycle rule `{name}`: prefix `{prefix}` must start with a container \
                         name: {why}"
                    ),
                );
            }
        }
    }
    Ok(())
}
