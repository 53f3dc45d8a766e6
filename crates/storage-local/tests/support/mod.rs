//! Blobs in the on-disk format of stores written before properties moved
//! onto the data file: the bytes under `objects/`, and a JSON sidecar under
//! `meta/` whose entries name the data file they describe.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{json, Value};

/// Writes `key` as such a store did, with one sidecar entry holding `props`
/// (`etag`, `content_type` and optionally `cache_control`,
/// `content_disposition`, `metadata`); returns the entry's identity.
pub fn write_old_format(root: &Path, key: &str, bytes: &[u8], props: Value) -> Value {
    let data = root.join("objects").join(key);
    std::fs::create_dir_all(data.parent().expect("a parent")).expect("mkdir objects/");
    std::fs::write(&data, bytes).expect("write the data file");
    let identity = identity_of(&data);
    let mut entry = props;
    entry["identity"] = identity.clone();
    write_sidecar(root, key, &json!({ "versions": [entry] }));
    identity
}

/// The identity a sidecar entry gives the file at `path`.
pub fn identity_of(path: &Path) -> Value {
    let meta = std::fs::metadata(path).expect("stat the data file");
    let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    json!({ "ino": meta.ino(), "size": meta.size(), "mtime_ns": mtime_ns as u128 })
}

/// Writes `sidecar` as `key`'s sidecar.
pub fn write_sidecar(root: &Path, key: &str, sidecar: &Value) {
    let path = root.join("meta").join(key);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir meta/");
    std::fs::write(path, serde_json::to_vec(sidecar).expect("json")).expect("write the sidecar");
}
