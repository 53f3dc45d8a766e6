//! What a backend can honour, so callers and the conformance suite can ask
//! instead of guessing.
//!
//! A store that lacks a capability must answer the matching operation or
//! option with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported),
//! never drop it silently; the conformance suite checks both sides.

/// The features a store supports.
///
/// ```
/// use storage_core::Capabilities;
/// let mut caps = Capabilities::all();
/// caps.user_metadata = false;
/// assert!(caps.ranges && !caps.user_metadata);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `PutMode::Create`.
    pub put_create: bool,
    /// `PutMode::IfMatch`.
    pub put_if_match: bool,
    /// Arbitrary `Cache-Control` values.
    pub cache_control: bool,
    /// Arbitrary `Content-Disposition` values.
    pub content_disposition: bool,
    /// User metadata.
    pub user_metadata: bool,
    /// Ranged reads.
    pub ranges: bool,
    /// Server-side copy.
    pub copy: bool,
    /// `/`-delimited listing with folders.
    pub list_delimiter: bool,
    /// Signed download URLs.
    pub sign_get: bool,
    /// Signed upload URLs.
    pub sign_put: bool,
    /// Signed delete URLs.
    pub sign_delete: bool,
    /// Signed upload URLs can bound the upload's size
    /// ([`SignOptions::max_size`](crate::SignOptions::max_size)). An Azure SAS
    /// cannot; there, check the size the client declares before signing.
    pub sign_max_size: bool,
    /// Signed upload URLs bind the content type they were signed with: an
    /// upload sent with another type is refused. An Azure SAS cannot; there
    /// the type is a header the client is asked to send.
    pub sign_content_type: bool,
    /// Every write gives a new etag, even of identical bytes. False where
    /// etags are content hashes (Vercel Blob, like S3): there a rewrite of
    /// the same bytes keeps its etag, and `IfMatch` compares content.
    pub etag_per_write: bool,
    /// A blob `a` and a blob `a/b` can exist together (a filesystem cannot
    /// have a file and a directory of the same name).
    pub file_and_folder_same_name: bool,
}

impl Capabilities {
    /// Every capability.
    pub const fn all() -> Self {
        Capabilities {
            put_create: true,
            put_if_match: true,
            cache_control: true,
            content_disposition: true,
            user_metadata: true,
            ranges: true,
            copy: true,
            list_delimiter: true,
            sign_get: true,
            sign_put: true,
            sign_delete: true,
            sign_max_size: true,
            sign_content_type: true,
            etag_per_write: true,
            file_and_folder_same_name: true,
        }
    }

    /// Every capability but signed URLs: what a store with no HTTP endpoint has.
    pub const fn unsigned() -> Self {
        let mut caps = Self::all();
        caps.sign_get = false;
        caps.sign_put = false;
        caps.sign_delete = false;
        caps.sign_max_size = false;
        caps.sign_content_type = false;
        caps
    }

    /// Whether signed URLs for `method` are supported.
    pub fn can_sign(&self, method: crate::SignMethod) -> bool {
        match method {
            crate::SignMethod::Get => self.sign_get,
            crate::SignMethod::Put => self.sign_put,
            crate::SignMethod::Delete => self.sign_delete,
        }
    }
}
