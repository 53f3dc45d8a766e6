//! Who is calling: the read-write token, a client token, or a presigned URL.

use http::HeaderMap;

use crate::client_token::{self, ClientTokenPayload};
use crate::error::{ApiError, ApiResult};
use crate::presign::{self, Grant};
use crate::query::Query;
use crate::state::AppState;

/// A verified caller.
#[derive(Debug)]
pub enum Credential {
    /// Holder of the store's read-write token: may do anything.
    ReadWrite,
    /// A browser holding a client token: may only upload as the token says.
    Client(Box<ClientTokenPayload>),
    /// A presigned URL, already checked against its operation and pathname.
    Presigned(Grant),
}

/// The value of a `Bearer` authorization header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates a request; `presigned` names the operation and pathname a
/// presigned URL would have to cover, when such URLs are allowed here.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: &Query,
    presigned: Option<(&str, &str)>,
) -> ApiResult<Credential> {
    if let Some(token) = bearer(headers) {
        if state.token.matches(token) {
            return Ok(Credential::ReadWrite);
        }
        if client_token::is_client_token(token) {
            let payload = client_token::verify(token, &state.token, &state.store_id)?;
            return Ok(Credential::Client(Box::new(payload)));
        }
        return Err(ApiError::forbidden());
    }
    match presigned {
        Some((operation, pathname)) if presign::is_presigned(query) => Ok(Credential::Presigned(
            presign::verify(&state.token, &state.store_id, operation, pathname, query)?,
        )),
        _ => Err(ApiError::forbidden()),
    }
}

/// Refuses anything but the read-write token.
pub fn require_read_write(credential: &Credential) -> ApiResult<()> {
    match credential {
        Credential::ReadWrite => Ok(()),
        Credential::Client(_) => Err(ApiError::client_token_not_allowed()),
        Credential::Presigned(_) => Err(ApiError::forbidden()),
    }
}
