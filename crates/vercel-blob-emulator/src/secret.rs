//! A token holder that never prints its contents.

/// A credential string whose `Debug` output is redacted, so tokens cannot
/// leak through logs or panic messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw credential, for the few places that must sign or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares without leaking, through timing, how long a common prefix is.
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Byte comparison whose running time depends only on the lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("vercel_blob_rw_store_topsecret");
        assert!(!format!("{s:?}").contains("topsecret"));
        assert!(s.matches("vercel_blob_rw_store_topsecret"));
        assert!(!s.matches("vercel_blob_rw_store_topsecreT"));
        assert!(!s.matches(""));
    }
}
