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
//! The attribute records the inode number, size and modification time of
//! the file it was set on, as a sidecar entry does. A file changed in place
//! since (edited by hand), or a copy that kept the attribute (`cp -a`), no
//! longer matches it and is treated like a file without one (derived
//! properties, a new etag), never passed off under the old etag.
//!
//! Filesystems that refuse user attributes, or one this large (ext4 holds
//! about 4 KiB per file), get a sidecar instead (see the `sidecar` module),
//! and stores written before attributes keep their sidecars: a data file
//! without an attribute is looked up there, as it always was.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use storage_core::{infer_content_type, BlobKey, Error, ErrorKind, Provider, Result};

use crate::fsops::{io_error, place};
use crate::props::{Identity, Props};

/// The attribute's name; `user.` is the namespace any file owner may write.
pub(crate) const NAME: &str = "user.blobstore";

/// The first byte of the attribute: the layout of the rest.
///
/// ```text
/// 0       format (1)
/// 1       flags: CONTENT_TYPE_FROM_KEY | RANDOM_ETAG
/// 2..10   the file's inode number when the attribute was set (u64, little-endian)
/// 10..18  its size then (u64, LE)
/// 18..26  its modification time then, in ns since the epoch (u64, LE)
/// 26..42  the etag's 128 bits (big-endian), with RANDOM_ETAG
/// ..      JSON of whatever else there is (Rest); absent when nothing is
/// ```
///
/// Binary and short because ext4 keeps up to 60 bytes of attributes in the
/// inode itself; more takes a 4 KiB block per file, which doubles the space
/// of small blobs and adds a block to every flush. A blob written without
/// options (the common case) takes 42 bytes.
const FORMAT: u8 = 1;
/// The content type is the one inferred from the key.
const CONTENT_TYPE_FROM_KEY: u8 = 1;
/// The etag is one of ours (`"` + 32 hex digits + `"`), stored as its bits.
const RANDOM_ETAG: u8 = 2;
const FIXED: usize = 26;
const ETAG_BYTES: usize = 16;

/// The properties that have no place in the fixed part.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Rest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

impl Rest {
    fn is_empty(&self) -> bool {
        self.etag.is_none()
            && self.content_type.is_none()
            && self.cache_control.is_none()
            && self.content_disposition.is_none()
            && self.metadata.is_empty()
    }
}

/// Sets `props` (of `key`) on `file`, whose current state is `identity`.
/// `Ok(false)` when the filesystem refuses (no user attributes, or not this
/// large), and the caller keeps the properties in a sidecar instead.
pub(crate) fn attach(
    file: &File,
    identity: Identity,
    props: &Props,
    key: &BlobKey,
) -> io::Result<bool> {
    match encode(identity, props, key) {
        Some(value) => imp::set(file, &value),
        // A modification time past the year 2554.
        None => Ok(false),
    }
}

/// The properties attached to `file` (at `rel`, now in state `identity`);
/// `None` when it has none, or they were set on a different state of the
/// file. An attribute that does not parse is an error that says how to
/// repair it, as a damaged sidecar is.
pub(crate) fn props_of(
    file: &File,
    identity: Identity,
    rel: &Path,
    key: &BlobKey,
) -> Result<Option<Props>> {
    let k = key.as_str();
    let Some(raw) =
        imp::get(file).map_err(|e| io_error(e, rel, k, "reading the blob's properties"))?
    else {
        return Ok(None);
    };
    let (stamp, props) = decode(&raw, key).map_err(|reason| {
        Error::new(ErrorKind::Backend, Provider::Local)
            .with_key(k)
            .with_message(format!(
                "the properties stored with {} (extended attribute {NAME}) are damaged \
                 ({reason}); write the blob again to replace them, or remove the attribute \
                 (`setfattr -x {NAME} <file>`) to fall back to default properties (content type \
                 from the key, no metadata, a new etag)",
                place(rel)
            ))
    })?;
    Ok((stamp == identity).then_some(props))
}

fn encode(identity: Identity, props: &Props, key: &BlobKey) -> Option<Vec<u8>> {
    let mtime_ns = u64::try_from(identity.mtime_ns()).ok()?;
    let etag_bits = random_etag_bits(&props.etag);
    let from_key = props.content_type == infer_content_type(key);
    let rest = Rest {
        etag: etag_bits.is_none().then(|| props.etag.clone()),
        content_type: (!from_key).then(|| props.content_type.clone()),
        cache_control: props.cache_control.clone(),
        content_disposition: props.content_disposition.clone(),
        metadata: props.metadata.clone(),
    };
    let mut flags = 0;
    if from_key {
        flags |= CONTENT_TYPE_FROM_KEY;
    }
    if etag_bits.is_some() {
        flags |= RANDOM_ETAG;
    }
    let mut value = Vec::with_capacity(FIXED + ETAG_BYTES);
    value.extend_from_slice(&[FORMAT, flags]);
    value.extend_from_slice(&identity.ino().to_le_bytes());
    value.extend_from_slice(&identity.size().to_le_bytes());
    value.extend_from_slice(&mtime_ns.to_le_bytes());
    if let Some(bits) = etag_bits {
        value.extend_from_slice(&bits.to_be_bytes());
    }
    if !rest.is_empty() {
        // Strings and a string map always serialize.
        value.extend(serde_json::to_vec(&rest).ok()?);
    }
    Some(value)
}

/// The identity of the file the attribute was set on, and its properties.
fn decode(raw: &[u8], key: &BlobKey) -> std::result::Result<(Identity, Props), String> {
    let fixed: [u8; FIXED] = raw
        .get(..FIXED)
        .and_then(|f| f.try_into().ok())
        .ok_or_else(|| format!("{} bytes, too short", raw.len()))?;
    if fixed[0] != FORMAT {
        return Err(format!("unknown format {}", fixed[0]));
    }
    let flags = fixed[1];
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&fixed[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let stamp = Identity::new(word(2), word(10), u128::from(word(18)));
    let mut tail = &raw[FIXED..];
    let etag_bits = if flags & RANDOM_ETAG != 0 {
        let bits: [u8; ETAG_BYTES] = tail
            .get(..ETAG_BYTES)
            .and_then(|b| b.try_into().ok())
            .ok_or("the etag is cut short")?;
        tail = &tail[ETAG_BYTES..];
        Some(u128::from_be_bytes(bits))
    } else {
        None
    };
    let rest: Rest = if tail.is_empty() {
        Rest::default()
    } else {
        serde_json::from_slice(tail).map_err(|e| e.to_string())?
    };
    let etag = match (etag_bits, rest.etag) {
        (Some(bits), None) => random_etag(bits),
        (None, Some(etag)) => etag,
        _ => return Err("no etag, or two".into()),
    };
    let content_type = match (flags & CONTENT_TYPE_FROM_KEY != 0, rest.content_type) {
        (true, None) => infer_content_type(key),
        (false, Some(content_type)) => content_type,
        _ => return Err("no content type, or two".into()),
    };
    let props = Props {
        etag,
        content_type,
        cache_control: rest.cache_control,
        content_disposition: rest.content_disposition,
        metadata: rest.metadata,
    };
    Ok((stamp, props))
}

fn random_etag(bits: u128) -> String {
    format!("\"{bits:032x}\"")
}

/// The bits of an etag made by [`Props::new_etag`], if `etag` is one.
fn random_etag_bits(etag: &str) -> Option<u128> {
    let hex = etag.strip_prefix('"')?.strip_suffix('"')?;
    let bits = u128::from_str_radix(hex, 16).ok()?;
    // Only the one spelling round-trips (no `+`, no capitals, 32 digits).
    (random_etag(bits) == etag).then_some(bits)
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

    /// What reading an attribute a file does not have fails with.
    #[cfg(target_vendor = "apple")]
    const ABSENT: Errno = Errno::NOATTR;
    #[cfg(not(target_vendor = "apple"))]
    const ABSENT: Errno = Errno::NODATA;

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
                Err(e) if e == ABSENT || e == Errno::NOTSUP => return Ok(None),
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

    fn key(k: &str) -> BlobKey {
        BlobKey::new(k).expect("key")
    }

    fn plain(key: &BlobKey) -> Props {
        Props {
            etag: Props::new_etag(),
            content_type: infer_content_type(key),
            cache_control: None,
            content_disposition: None,
            metadata: BTreeMap::new(),
        }
    }

    fn identity_of(file: &File) -> Identity {
        Identity::of(&rustix::fs::fstat(file).expect("fstat"))
    }

    #[test]
    fn a_blob_written_without_options_fits_in_an_ext4_inode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("f")).expect("create");
        let k = key("recordings/2024/take-1.webm");
        let value = encode(identity_of(&file), &plain(&k), &k).expect("encodes");
        assert_eq!(value.len(), FIXED + ETAG_BYTES);
        assert!(value.len() <= 60, "{} bytes", value.len());
    }

    #[test]
    fn every_shape_of_properties_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("f")).expect("create");
        let identity = identity_of(&file);
        let k = key("docs/a.txt");
        let mut shapes = vec![plain(&k)];
        shapes.push(Props {
            etag: "\"not-one-of-ours\"".into(),
            content_type: "application/x-special".into(),
            cache_control: Some("max-age=60".into()),
            content_disposition: Some("attachment".into()),
            metadata: [("who".to_string(), "ada".to_string())].into(),
        });
        // Looks like ours but is not spelled as we spell it.
        shapes.push(Props {
            etag: "\"0123456789ABCDEF0123456789ABCDEF\"".into(),
            ..plain(&k)
        });
        for props in shapes {
            let value = encode(identity, &props, &k).expect("encodes");
            let (stamp, back) = decode(&value, &k).expect("decodes");
            assert_eq!(back, props);
            assert_eq!(stamp, identity);
        }
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let k = key("k");
        let fixed = |flags: u8| {
            let mut raw = vec![FORMAT, flags];
            raw.resize(FIXED, 0);
            raw
        };
        let mut etag_cut_short = fixed(RANDOM_ETAG);
        etag_cut_short.push(1);
        let mut broken_json = fixed(0);
        broken_json.push(b'{');
        for (raw, reason) in [
            (b"short".to_vec(), "too short"),
            (vec![9u8; 40], "unknown format 9"),
            (etag_cut_short, "etag"),
            (broken_json, "EOF"),
            (fixed(RANDOM_ETAG | CONTENT_TYPE_FROM_KEY), "etag"),
        ] {
            let err = decode(&raw, &k).expect_err("garbage");
            assert!(err.contains(reason), "{err}");
        }
    }

    #[test]
    fn properties_go_stale_when_the_file_changes_in_place_or_is_copied() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = File::create(dir.path().join("f")).expect("create");
        file.write_all(b"bytes").expect("write");
        let (k, rel) = (key("f"), Path::new("objects/f"));
        let mut props = plain(&k);
        // Larger than the first read's buffer, smaller than ext4's limit.
        props.metadata.insert("long".into(), "x".repeat(2048));
        if !attach(&file, identity_of(&file), &props, &k).expect("attach") {
            // The filesystem under the test's tempdir refuses attributes;
            // the sidecar path covers it.
            assert_eq!(
                props_of(&file, identity_of(&file), rel, &k).expect("read"),
                None
            );
            return;
        }
        let read = props_of(&file, identity_of(&file), rel, &k).expect("read");
        assert_eq!(read, Some(props));
        // A copy that kept the attribute, the size and the time: another file.
        let copy = File::create(dir.path().join("copy")).expect("create");
        (&copy).write_all(b"bytes").expect("write");
        copy.set_modified(file.metadata().and_then(|m| m.modified()).expect("mtime"))
            .expect("same time");
        let raw = imp::get(&file).expect("get").expect("an attribute");
        assert!(imp::set(&copy, &raw).expect("set"));
        assert_eq!(
            props_of(&copy, identity_of(&copy), rel, &k).expect("read"),
            None
        );
        file.write_all(b" and more").expect("append in place");
        assert_eq!(
            props_of(&file, identity_of(&file), rel, &k).expect("read"),
            None
        );
    }

    #[test]
    fn a_damaged_attribute_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("f")).expect("create");
        if !imp::set(&file, b"\x01garbage").expect("set") {
            return;
        }
        let err = props_of(&file, identity_of(&file), Path::new("objects/k"), &key("k"))
            .expect_err("damaged");
        let text = err.to_string();
        assert!(text.contains("`objects/k`"), "{text}");
        assert!(text.contains("damaged"), "{text}");
        assert!(text.contains("write the blob again"), "{text}");
        assert!(text.contains(NAME), "{text}");
    }
}
