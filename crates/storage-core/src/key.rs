//! Blob keys and the one rule set every provider enforces before any I/O.
//!
//! The rules are the intersection of what Azure, Vercel and a filesystem can
//! store and give back byte for byte: at most [`MAX_KEY_BYTES`] bytes (Vercel's
//! limit is the tightest), `/` as the only separator, no leading `/`, no empty,
//! `.` or `..` segment, no NUL or other control character, no Unicode
//! noncharacter (U+FDD0–U+FDEF and the last two code points of every plane,
//! U+FFFE/U+FFFF …, which Azure stores but then cannot list: one such blob
//! makes the whole container's listing fail), and no `\` (Azure Blob
//! Storage turns it into `/`, so it could not round-trip there).
//! Anything else, Unicode, spaces, `%`, `+`, `#`, is kept exactly as given.

use std::borrow::Borrow;
use std::fmt;

use crate::{Error, ErrorKind, Result};

/// The longest key, in UTF-8 bytes, that every provider accepts.
pub const MAX_KEY_BYTES: usize = 950;

/// A validated blob key such as `recordings/2024/call.webm`.
///
/// A `BlobKey` can only be built through [`BlobKey::new`], so holding one
/// proves it passed the rules; stores never see an invalid key.
///
/// ```
/// use storage_core::BlobKey;
/// let key = BlobKey::new("recordings/música 🎵/take 1.webm").unwrap();
/// assert_eq!(key.file_name(), "take 1.webm");
/// assert!(BlobKey::new("a//b").is_err());
/// assert!(BlobKey::new("../escape").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Validates `key` and wraps it. The error is [`ErrorKind::InvalidKey`]
    /// with a message naming the rule that was broken.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        match check(&key) {
            Ok(()) => Ok(BlobKey(key)),
            Err(reason) => Err(Error::without_provider(ErrorKind::InvalidKey)
                .with_key(key)
                .with_message(reason)),
        }
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments, split on `/`.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn check(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("keys must not be empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "keys are at most {MAX_KEY_BYTES} bytes of UTF-8; this one has {}",
            key.len()
        ));
    }
    if key.starts_with('/') {
        return Err("keys must not start with `/`; drop the leading slash".into());
    }
    if key.contains('\\') {
        return Err(
            "keys must not contain `\\` (Azure Blob Storage stores it as `/`); use `/` to \
             separate segments"
                .into(),
        );
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Err(format!(
            "keys must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    if let Some(c) = key.chars().find(|c| is_noncharacter(*c)) {
        return Err(format!(
            "keys must not contain Unicode noncharacters (found U+{:04X}); Azure stores such \
             a name but then cannot list its container",
            c as u32
        ));
    }
    for segment in key.split('/') {
        match segment {
            "" => {
                return Err("keys must not contain empty segments (`//` or a trailing `/`)".into())
            }
            "." | ".." => {
                return Err(format!("keys must not contain a `{segment}` segment"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// U+FDD0..=U+FDEF and U+xFFFE/U+xFFFF of every plane: code points Unicode
/// reserves for internal use, never to be exchanged.
fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE
}

/// Checks a listing prefix: any start of a valid key, so it may end in `/` or
/// in the middle of a segment, but it must not hold control characters or
/// `\`, start with `/` or be longer than a key.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let reason = if prefix.len() > MAX_KEY_BYTES {
        Some(format!("prefixes are at most {MAX_KEY_BYTES} bytes"))
    } else if prefix.starts_with('/') {
        Some("prefixes must not start with `/`".to_string())
    } else if prefix
        .chars()
        .any(|c| c.is_control() || c == '\\' || is_noncharacter(c))
    {
        Some("prefixes must not contain control characters, noncharacters or `\\`".to_string())
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::without_provider(ErrorKind::InvalidKey)
            .with_key(prefix)
            .with_message(reason)),
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for BlobKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for BlobKey {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self> {
        BlobKey::new(value)
    }
}

impl TryFrom<String> for BlobKey {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        BlobKey::new(value)
    }
}

impl std::str::FromStr for BlobKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        BlobKey::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_every_provider_round_trips() {
        for key in [
            "a",
            "recordings/2024/call.webm",
            "música/日本語/🎵.mp3",
            "100%/a%2Fb%20c",
            "spaces are fine/and+plus&amp=eq?#.txt",
            ".hidden/..dots../...",
            &"k".repeat(MAX_KEY_BYTES),
        ] {
            assert!(BlobKey::new(key).is_ok(), "{key:?} should be valid");
        }
    }

    #[test]
    fn refuses_each_broken_rule_with_a_reason() {
        for (key, needle) in [
            ("", "empty"),
            ("/abs", "start with `/`"),
            ("a//b", "empty segments"),
            ("a/", "trailing"),
            (".", "`.` segment"),
            ("a/../b", "`..` segment"),
            ("nul\0byte", "control"),
            ("new\nline", "control"),
            ("del\u{7f}", "control"),
            ("back\\slash", "`\\`"),
            ("not\u{FFFF}char", "noncharacter"),
            ("not\u{FFFE}", "noncharacter"),
            ("a/\u{FDD0}", "noncharacter"),
            ("a/\u{FDEF}b", "noncharacter"),
            ("plane\u{1FFFF}", "noncharacter"),
            ("plane\u{10FFFE}", "noncharacter"),
        ] {
            let err = BlobKey::new(key).expect_err(key);
            assert_eq!(err.kind(), &ErrorKind::InvalidKey);
            assert!(
                err.to_string().contains(needle),
                "{key:?}: `{err}` should mention {needle}"
            );
        }
        let long = "é".repeat(MAX_KEY_BYTES / 2 + 1);
        assert!(BlobKey::new(long).is_err());
    }

    #[test]
    fn prefixes_may_end_anywhere() {
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("recordings/").is_ok());
        assert!(validate_prefix("rec").is_ok());
        assert!(validate_prefix("/x").is_err());
        assert!(validate_prefix("x\0").is_err());
        assert!(validate_prefix("x\u{FFFF}").is_err());
    }

    #[test]
    fn characters_beside_the_noncharacters_are_kept() {
        for key in ["\u{FDCF}", "\u{FDF0}", "\u{FFFD}", "\u{1FFFD}", "\u{EFFFD}"] {
            assert!(BlobKey::new(key).is_ok(), "{key:?}");
        }
    }
}
