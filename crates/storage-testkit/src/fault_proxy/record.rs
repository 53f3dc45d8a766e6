//! What the proxy remembers of each request, for tests to assert on.

use std::fmt;

use storage_core::redact::redact_url;

use super::plan::Fault;

/// Header values kept out of records, so a failing assertion that prints
/// them shows no credential.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-ms-copy-source-authorization",
    "cookie",
];

/// A request as the proxy received it, before any fault.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, such as `PUT`.
    pub method: String,
    /// The path and query as sent, such as `/devstoreaccount1/c/k?comp=block`.
    pub target: String,
    /// Every header, names lower-cased, in the order sent; credential
    /// values (`authorization`, `cookie` …) read `[redacted]`.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    pub(crate) fn new(method: String, target: String, headers: &[(String, String)]) -> Self {
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let value = if SECRET_HEADERS.contains(&name.as_str()) {
                    "[redacted]".to_string()
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect();
        RequestHead {
            method,
            target,
            headers,
        }
    }

    /// The first value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A target can carry a SAS signature in its query.
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("target", &redact_url(&self.target))
            .field("headers", &self.headers)
            .finish()
    }
}

/// One request the proxy saw, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Order of arrival at the proxy, from 0 (kept across
    /// [`clear_records`](super::FaultProxy::clear_records)).
    pub seq: u64,
    /// Which client connection carried it, numbered from 0 in order of
    /// acceptance; requests on one keep-alive connection share it.
    pub connection: u64,
    /// The request.
    pub head: RequestHead,
    /// The fault applied, with a randomly chosen cut filled in once known;
    /// `None` when it was relayed untouched.
    pub fault: Option<Fault>,
    /// Whether its head (or, for a mid-request reset of a body-less
    /// request, part of it) was sent to the upstream.
    pub forwarded: bool,
    /// Body bytes written to the upstream, as they appear on the wire;
    /// counted as each write starts, so bytes the upstream has are counted.
    pub request_body_bytes: u64,
    /// The status the client was sent, injected or relayed; `None` when no
    /// final response head reached it.
    pub status: Option<u16>,
    /// Response body bytes relayed to the client, as they appear on the
    /// wire; counted as each write starts, so bytes the client has read are
    /// counted.
    pub response_body_bytes: u64,
    /// What went wrong relaying it, other than the fault itself (the
    /// upstream refused the connection, a peer closed early …).
    pub error: Option<String>,
}
