//! Content hashes: blob keys and version fingerprints.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `bytes`: the key of a content-addressed blob.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The fingerprint of a set of sources: SHA-256 over the sorted
/// `(path, sha256(content))` pairs. Every byte counts, comments included.
pub fn fingerprint<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, String> = files
        .into_iter()
        .map(|(path, text)| (path, sha256_hex(text.as_bytes())))
        .collect();
    fingerprint_of_hashes(sorted.iter().map(|(p, h)| (*p, h.as_str())))
}

/// Fingerprint from already computed per-file hashes, in path order.
pub fn fingerprint_of_hashes<'a>(sorted: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (path, hash) in sorted {
        // Length-prefix each part so no two different sets hash the same.
        hasher.update((path.len() as u64).to_be_bytes());
        hasher.update(path.as_bytes());
        hasher.update(hash.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_order_but_not_content() {
        let a = fingerprint([("a.proto", "syntax = \"proto3\";"), ("b.proto", "x")]);
        let b = fingerprint([("b.proto", "x"), ("a.proto", "syntax = \"proto3\";")]);
        assert_eq!(a, b);
        let comment = fingerprint([("a.proto", "syntax = \"proto3\"; // c"), ("b.proto", "x")]);
        assert_ne!(a, comment, "a comment-only edit is a change");
        let renamed = fingerprint([("c.proto", "syntax = \"proto3\";"), ("b.proto", "x")]);
        assert_ne!(a, renamed);
    }

    #[test]
    fn path_and_content_boundaries_are_unambiguous() {
        assert_ne!(
            fingerprint([("ab.proto", "")]),
            fingerprint([("a.proto", "b")])
        );
    }
}
