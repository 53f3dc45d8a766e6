//! A blob's properties kept on its data file, in an extended attribute.
//!
//! The attribute ([`NAME`], JSON) is set on the temporary file before it is
//! flushed, so the one rename that publishes the bytes publishes their
//! properties with them: no second file to write, flush and rename, and no
//! window in which the two disagree. Readers take it from the very file
//! descriptor they read the bytes from, so they always get the properties of
//! the version they hold, whatever writers do meanwhile. An attribute lives
//! and dies with its inode: a recycled inode number starts without one, so
//! an old etag can never come back on other bytes.
//!
//! The attribute records the size and modification time of the file it was
//! set on. A file changed in place since (edited by hand) no longer matches
//! it and is treated like a file without one (derived properties, a new
//! etag), never passed off under the old etag.
//!
//! Filesystems that refuse user attributes, or one this large (ext4 holds
//! about 4 KiB per file), get a sidecar instead (see the `sidecar` module),
//! and stores written before attributes keep their sidecars: a data file
//! without an attribute is looked up there, as it always was.

use std::fs::File;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::fsops::{io_error, place};
use crate::props::{Identity, Props};

/// The attribute's name; `user.` is the namespace any file owner may write.
pub(crate) const NAME: &str = "user.blobstore.props";

/// The attribute's content.
#[derive(Debug, Serialize, Deserialize)]
struct Attached {
    /// The file's size and modification time when the attribute was set.
    size: u64,
    mtime_ns: u128,
    props: Props,
}

/// Sets `props` on `file`, whose current state is `identity`. `Ok(false)`
/// when the filesystem refuses (no user attributes, or not this large), and
/// the caller keeps the properties in a sidecar instead.
pub(crate) fn attach(file: &File, identity: Identity, props: &Props) -> io::Result<bool> {
    let value = serde_json::to_vec(&Attached {
        size: identity.size(),
        mtime_ns: identity.mtime_ns(),
        props: props.clone(),
    })
    .map_err(io::Error::other)?;
    imp::set(file, &value)
}

/// The properties attached to `file` (at `rel`, now in state `identity`);
/// `None` when it has none, or they were set on a different state of the
/// file. An attribute that does not parse is an error that says how to
/// repair it, as a damaged sidecar is.
pub(crate) fn props_of(
    file: &File,
    identity: Identity,
    rel: &Path,
    key: &str,
) -> Result<Option<Props>> {
    match read(file).map_err(|e| io_error(e, rel, key, "reading the blob's properties"))? {
        Some(raw) => parse(&raw, identity, rel, key),
        None => Ok(None),
    }
}

fn read(file: &File) -> io::Result<Option<Vec<u8>>> {
    imp::get(file)
}

fn parse(raw: &[u8], identity: Identity, rel: &Path, key: &str) -> Result<Option<Props>> {
    match serde_json::from_slice::<Attached>(raw) {
        Ok(a) => {
            Ok((a.size == identity.size() && a.mtime_ns == identity.mtime_ns()).then_some(a.props))
        }
        Err(e) => Err(Error::new(ErrorKind::Backend, Provider::Local)
            .with_key(key)
            .with_message(format!(
                "the properties stored with {} (extended attribute {NAME}) are damaged ({e}); \
                 write the blob again to replace them, or remove the attribute \
                 (`setfattr -x {NAME} <file>`) to fall back to default properties (content type \
                 from the key, no metadata, a new etag)",
                place(rel)
            ))
            .with_source(e)),
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
mod imp {
    use std::fs::File;
    use std::io;

    use rustix::buffer::spare_capacity;
    use rustix::fs::{fgetxattr, fgetxattr_query, fsetxattr, XattrFlags};
    use rustix::io::Errno;

    use super::NAME;

    /// Room for the attribute of a blob with a little metadata, read in one call.
    const TYPICAL: usize = 512;

    pub(super) fn set(file: &File, value: &[u8]) -> io::Result<bool> {
        match fsetxattr(file, NAME, value, XattrFlags::empty()) {
            Ok(()) => Ok(true),
            // No user attributes here (tmpfs of old kernels, some network
            // and FUSE filesystems), or none this large.
            Err(Errno::NOTSUP | Errno::TOOBIG | Errno::NOSPC | Errno::RANGE) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn get(file: &File) -> io::Result<Option<Vec<u8>>> {
        let mut value = Vec::with_capacity(TYPICAL);
        loop {
            match fgetxattr(file, NAME, spare_capacity(&mut value)) {
                Ok(_) => return Ok(Some(value)),
                Err(Errno::NODATA | Errno::NOTSUP) => return Ok(None),
                // Larger than the buffer: ask for its size, then read again
                // (it may grow in between, hence the loop).
                Err(Errno::RANGE) => {
                    let len = fgetxattr_query(file, NAME)?;
                    value = Vec::with_capacity(len.max(value.capacity() * 2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod imp {
    //! Systems without `fsetxattr`: every blob keeps a sidecar.
    use std::fs::File;
    use std::io;

    pub(super) fn set(_file: &File, _value: &[u8]) -> io::Result<bool> {
        Ok(false)
    }

    pub(super) fn get(_file: &File) -> io::Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props() -> Props {
        Props {
            etag: "\"e\"".into(),
            content_type: "text/plain".into(),
            cache_control: None,
            content_disposition: None,
            metadata: [("who".to_string(), "ada".to_string())].into(),
        }
    }

    fn identity_of(file: &File) -> Identity {
        Identity::of(&rustix::fs::fstat(file).expect("fstat"))
    }

    #[test]
    fn properties_round_trip_and_go_stale_when_the_file_changes() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut file = File::create(&path).expect("create");
        file.write_all(b"bytes").expect("write");
        let identity = identity_of(&file);
        if !attach(&file, identity, &props()).expect("attach") {
            // The filesystem under the test's tempdir refuses attributes;
            // the sidecar path covers it.
            assert_eq!(read(&file).expect("read"), None);
            return;
        }
        let raw = read(&file).expect("read").expect("an attribute");
        let rel = Path::new("objects/f");
        assert_eq!(
            parse(&raw, identity, rel, "f").expect("parse"),
            Some(props())
        );
        file.write_all(b" and more").expect("append in place");
        assert_eq!(
            parse(&raw, identity_of(&file), rel, "f").expect("parse"),
            None
        );
    }

    #[test]
    fn a_large_attribute_is_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("f")).expect("create");
        let mut big = props();
        // Larger than the first read's buffer, smaller than ext4's limit.
        big.metadata.insert("long".into(), "x".repeat(2048));
        if attach(&file, identity_of(&file), &big).expect("attach") {
            let raw = read(&file).expect("read").expect("an attribute");
            assert!(raw.len() > 2048);
            let parsed = parse(&raw, identity_of(&file), Path::new("f"), "f").expect("parse");
            assert_eq!(parsed, Some(big));
        }
    }

    #[test]
    fn garbage_is_damage_that_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("f")).expect("create");
        let err = parse(
            b"{not json",
            identity_of(&file),
            Path::new("objects/k"),
            "k",
        )
        .expect_err("damaged");
        let text = err.to_string();
        assert!(text.contains("`objects/k`"), "{text}");
        assert!(text.contains("damaged"), "{text}");
        assert!(text.contains("write the blob again"), "{text}");
        assert!(text.contains(NAME), "{text}");
    }
}
