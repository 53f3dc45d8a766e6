//! Keeping secrets out of `Debug`, `Display`, errors and logs.
//!
//! Adapters hold account keys, tokens and connection strings in [`Secret`],
//! and pass any URL or connection string through [`redact_url`] or
//! [`redact_connection_string`] before it goes into a message.

use std::fmt;

const REDACTED: &str = "[redacted]";

/// A value that prints as `[redacted]`.
///
/// ```
/// use storage_core::redact::Secret;
/// let key = Secret::new("c2VjcmV0".to_string());
/// assert_eq!(format!("{key:?} {key}"), "[redacted] [redacted]");
/// assert_eq!(key.expose(), "c2VjcmV0");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that signs or authenticates.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Query parameters whose names contain one of these are hidden.
const SENSITIVE_PARAMS: &[&str] = &[
    "sig",
    "token",
    "key",
    "secret",
    "password",
    "credential",
    "delegation",
    "skoid",
    "sktid",
];

/// A URL with its password and any signature-like query values hidden.
///
/// ```
/// use storage_core::redact::redact_url;
/// assert_eq!(
///     redact_url("https://a.blob.core.windows.net/c/k?sv=2022&sig=abc%2B&se=x"),
///     "https://a.blob.core.windows.net/c/k?sv=2022&sig=[redacted]&se=x"
/// );
/// assert_eq!(redact_url("http://user:pw@host/x"), "http://user:[redacted]@host/x");
/// ```
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_sensitive(name) => format!("{name}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_PARAMS.iter().any(|s| name.contains(s))
}

fn redact_userinfo(base: &str) -> String {
    let Some(scheme_end) = base.find("://") else {
        return base.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let authority = &base[authority_start..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') {
                format!("{user}:{REDACTED}")
            } else {
                REDACTED.to_string()
            };
            format!(
                "{}{hidden}@{host}{}",
                &base[..authority_start],
                &base[authority_end..]
            )
        }
        None => base.to_string(),
    }
}

/// An Azure-style `Name=value;…` connection string with every key, SAS and
/// password value hidden.
///
/// ```
/// use storage_core::redact::redact_connection_string;
/// let cs = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=AAAA==;EndpointSuffix=core.windows.net";
/// assert_eq!(
///     redact_connection_string(cs),
///     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[redacted];EndpointSuffix=core.windows.net"
/// );
/// ```
pub fn redact_connection_string(cs: &str) -> String {
    cs.split(';')
        .map(|part| match part.split_once('=') {
            Some((name, _))
                if is_sensitive(name) || name.eq_ignore_ascii_case("SharedAccessSignature") =>
            {
                format!("{name}={REDACTED}")
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_and_vercel_signatures_are_hidden() {
        let url = "https://x/?vercel-blob-signature=s1&vercel-blob-delegation=d1&pathname=a";
        let out = redact_url(url);
        assert!(!out.contains("s1") && !out.contains("d1"), "{out}");
        assert!(out.contains("pathname=a"));
        let cs = "BlobEndpoint=http://127.0.0.1:1/dev;SharedAccessSignature=sv=1&sig=zzz";
        assert!(!redact_connection_string(cs).contains("zzz"));
    }
}
