//! How the suite sends a store's signed requests: a plain HTTP client that
//! knows nothing of the provider, as a browser would be.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use storage_core::{redact::redact_url, SignedRequest};

use crate::failure::Failure;

/// How long one signed request may take; the emulators answer in
/// milliseconds, so this only turns a hung server into a clear failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP side of a [`Fixture`](crate::Fixture): where the store's signed
/// URLs are served.
///
/// The testkit sends with its own `reqwest` client over plain HTTP (the
/// emulators and routers the suite runs against listen on loopback). An
/// adapter whose tests reach an `https` endpoint enables a TLS feature of
/// `reqwest` in its own dev-dependencies; Cargo unifies it into this client.
///
/// ```
/// use storage_testkit::SignedHttp;
///
/// // Signed URLs are absolute (`http://127.0.0.1:10000/devstoreaccount1/…`).
/// let azure_like = SignedHttp::absolute();
/// // Signed URLs are paths (`/blobs/…`) under the app serving the router.
/// let local_like = SignedHttp::relative_to("http://127.0.0.1:8080");
/// # let _ = (azure_like, local_like);
/// ```
#[derive(Clone)]
pub struct SignedHttp {
    client: reqwest::Client,
    base: Option<String>,
}

impl SignedHttp {
    /// The store's signed URLs are absolute and reachable from the test.
    pub fn absolute() -> Self {
        SignedHttp {
            // Building a client without TLS roots or proxies cannot fail in
            // practice; if it ever does, fall back to the default one.
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap_or_default(),
            base: None,
        }
    }

    /// The store's signed URLs are relative (a path such as `/blobs/…`) and
    /// resolved against `base`, the origin serving them.
    pub fn relative_to(base: impl Into<String>) -> Self {
        SignedHttp {
            base: Some(base.into()),
            ..SignedHttp::absolute()
        }
    }

    /// The absolute URL of `url`.
    fn resolve(&self, url: &str) -> Result<reqwest::Url, Failure> {
        let parsed = match &self.base {
            None => reqwest::Url::parse(url),
            Some(base) => reqwest::Url::parse(base).and_then(|b| b.join(url)),
        };
        parsed.map_err(|e| {
            Failure::new(format!(
                "signed URL {} (base {:?}): not a URL the suite can send: {e}",
                redact_url(url),
                self.base
            ))
        })
    }

    /// Sends `method` to `url` with `headers` and `body`, reading the whole
    /// answer (signing behaviours move a few bytes only).
    pub(crate) async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<Answer, Failure> {
        let what = format!("{method} {}", redact_url(url));
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| Failure::new(format!("{what}: not an HTTP method: {e}")))?;
        let mut request = self.client.request(method, self.resolve(url)?);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::new(format!("{what}: the request failed: {e}")))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::new(format!("{what}: reading the answer failed: {e}")))?;
        Ok(Answer {
            what,
            status,
            content_type,
            body,
        })
    }

    /// Sends `signed` exactly as listed: its method, URL and headers.
    pub(crate) async fn send_signed(
        &self,
        signed: &SignedRequest,
        body: Option<Bytes>,
    ) -> Result<Answer, Failure> {
        self.send(signed.method.as_str(), &signed.url, &signed.headers, body)
            .await
    }
}

impl fmt::Debug for SignedHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHttp")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What the server answered a signed request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The request, its URL redacted, for messages.
    pub what: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Answer {
    /// A short text of the body, for failure messages.
    fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }

    /// Fails unless the server accepted the request (2xx).
    #[track_caller]
    pub fn expect_success(&self) -> Result<&Self, Failure> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(Failure::new(format!(
                "{}: expected a 2xx answer, saw {} ({})",
                self.what,
                self.status,
                self.body_text()
            )))
        }
    }

    /// Fails unless the server refused the request as the client's fault
    /// (4xx): a 2xx means the URL allowed what it should not, a 5xx that
    /// the server broke instead of checking.
    #[track_caller]
    pub fn expect_refused(&self, why: &str) -> Result<&Self, Failure> {
        if (400..500).contains(&self.status) {
            Ok(self)
        } else {
            Err(Failure::new(format!(
                "{} ({why}): expected a 4xx refusal, saw {} ({})",
                self.what,
                self.status,
                self.body_text()
            )))
        }
    }
}
