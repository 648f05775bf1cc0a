//! The resolver's `cache_dir`: the last good snapshot, written atomically
//! (a temporary file renamed over the old one), so a process can start
//! while the registry is down.
//!
//! A file is `MAGIC`, a JSON header line, then the encoded
//! `FileDescriptorSet`; the header names the namespace and the schema
//! subset, and carries the body's length and SHA-256. A file of another
//! namespace or subset, or one that fails any check, is ignored with a
//! warning.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"protoreg-resolver-cache 1\n";

/// The header line of a cache file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub namespace: String,
    pub schemas: Option<Vec<String>>,
    pub etag: Option<String>,
    pub last_event_id: Option<i64>,
    pub len: usize,
    pub sha256: String,
}

/// The cache file of a namespace (and subset) in `dir`.
pub(crate) fn file(dir: &Path, namespace: &str, schemas: Option<&[String]>) -> PathBuf {
    let name = match schemas {
        None => format!("{namespace}.resolver-cache"),
        Some(schemas) => {
            let digest = Sha256::digest(schemas.join("\n").as_bytes());
            format!("{namespace}.{}.resolver-cache", &hex::encode(digest)[..16])
        }
    };
    dir.join(name)
}

/// Writes `set` with its header to `path`: a temporary file in the same
/// folder, synced, then renamed over `path`.
pub(crate) fn write(path: &Path, mut header: Header, set: &[u8]) -> std::io::Result<()> {
    header.len = set.len();
    header.sha256 = hex::encode(Sha256::digest(set));
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{:016x}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(MAGIC)?;
        serde_json::to_writer(&mut file, &header)?;
        file.write_all(b"\n")?;
        file.write_all(set)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The cached set of `namespace` (and subset) at `path`, or `None` (with a
/// warning when a file is there but unusable).
pub(crate) fn read(
    path: &Path,
    namespace: &str,
    schemas: Option<&[String]>,
) -> Option<(Header, Bytes)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "resolver cache unreadable; ignored");
            return None;
        }
    };
    match parse(&bytes, namespace, schemas) {
        Ok(found) => Some(found),
        Err(why) => {
            tracing::warn!(path = %path.display(), why, "resolver cache ignored");
            None
        }
    }
}

fn parse(
    bytes: &[u8],
    namespace: &str,
    schemas: Option<&[String]>,
) -> Result<(Header, Bytes), String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a resolver cache file")?;
    let newline = rest
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("no header line")?;
    let header: Header =
        serde_json::from_slice(&rest[..newline]).map_err(|e| format!("bad header: {e}"))?;
    let body = &rest[newline + 1..];
    if header.namespace != namespace || header.schemas.as_deref() != schemas {
        return Err(format!(
            "cache of namespace {} (schemas {:?}), not of {namespace} (schemas {schemas:?})",
            header.namespace, header.schemas
        ));
    }
    if body.len() != header.len || hex::encode(Sha256::digest(body)) != header.sha256 {
        return Err("the descriptor set is corrupt (length or SHA-256 mismatch)".into());
    }
    Ok((header, Bytes::copy_from_slice(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(namespace: &str) -> Header {
        Header {
            namespace: namespace.into(),
            schemas: None,
            etag: Some("\"e\"".into()),
            last_event_id: Some(4),
            len: 0,
            sha256: String::new(),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "shop", None);
        write(&path, header("shop"), b"set bytes").unwrap();
        let (read_header, set) = read(&path, "shop", None).expect("read back");
        assert_eq!(&set[..], b"set bytes");
        assert_eq!(read_header.last_event_id, Some(4));
        // Only the file itself is left (the temporary one was renamed).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        assert!(read(&path, "other", None).is_none(), "another namespace");
        let subset = ["billing".to_owned()];
        assert!(
            read(&path, "shop", Some(&subset)).is_none(),
            "another subset"
        );
        assert_ne!(file(dir.path(), "shop", Some(&subset)), path);

        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, "shop", None).is_none(), "a flipped byte");
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, "shop", None).is_none(), "a truncated file");
        assert!(read(&dir.path().join("missing"), "shop", None).is_none());
    }
}
