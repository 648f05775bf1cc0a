//! Validated identifiers and file paths. Everything that names a namespace,
//! a schema or a file is checked here before it reaches the compiler, the
//! store or a plugin (invariant 6 of docs/ARCHITECTURE.md).

use std::{fmt, sync::LazyLock};

use regex::Regex;
use serde::Serialize;

use crate::error::RegistryError;

/// The reserved namespace whose current files every namespace may import.
pub const BUILTINS: &str = "__builtins__";

static ID_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$").expect("valid regex"));

/// Longest accepted file path, in bytes.
pub const MAX_PATH_BYTES: usize = 512;

fn check_id(kind: &str, value: &str) -> Result<(), RegistryError> {
    if ID_PATTERN.is_match(value) {
        Ok(())
    } else {
        Err(RegistryError::InvalidArgument(format!(
            "invalid {kind} id {value:?}: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}$"
        )))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A namespace name: the pattern of docs/API.md, or the reserved `__builtins__`.
    NamespaceId,
    "namespace"
);
id_type!(
    /// A schema name inside a namespace.
    SchemaId,
    "schema"
);

impl NamespaceId {
    pub fn parse(value: &str) -> Result<Self, RegistryError> {
        if value != BUILTINS {
            check_id("namespace", value)?;
        }
        Ok(Self(value.to_owned()))
    }

    pub fn builtins() -> Self {
        Self(BUILTINS.to_owned())
    }

    pub fn is_builtins(&self) -> bool {
        self.0 == BUILTINS
    }
}

impl SchemaId {
    pub fn parse(value: &str) -> Result<Self, RegistryError> {
        check_id("schema", value)?;
        Ok(Self(value.to_owned()))
    }
}

/// Checks a file path inside a schema: relative, `/`-separated, ends in
/// `.proto`, no `..` or `.` or empty segment, no backslash, at most 512 bytes.
pub fn validate_path(path: &str) -> Result<(), RegistryError> {
    let bad = |why: &str| {
        Err(RegistryError::InvalidArgument(format!(
            "invalid file path {path:?}: {why}"
        )))
    };
    if path.len() > MAX_PATH_BYTES {
        return bad("longer than 512 bytes");
    }
    if !path.ends_with(".proto") {
        return bad("must end in .proto");
    }
    if path.contains('\\') {
        return bad("must use '/' as separator, not '\\'");
    }
    if path.starts_with('/') {
        return bad("must be relative");
    }
    if path.chars().any(|c| c.is_control()) {
        return bad("must not contain control characters");
    }
    if path.chars().any(is_bidi_control) {
        return bad("must not contain bidirectional control characters");
    }
    for segment in path.split('/') {
        match segment {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("'.' and '..' segments are not allowed"),
            _ => {}
        }
    }
    Ok(())
}

/// Unicode's Bidi_Control characters: they make a path display differently
/// from what it is (`a\u{202E}otorp.txt` reads as `atxt.proto`).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// True for paths of the Google well-known types bundled with the compiler.
pub fn is_well_known_path(path: &str) -> bool {
    path.starts_with("google/protobuf/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_api_pattern() {
        assert!(NamespaceId::parse("billing").is_ok());
        assert!(NamespaceId::parse("a.b-c_d9").is_ok());
        assert!(NamespaceId::parse(BUILTINS).unwrap().is_builtins());
        assert!(SchemaId::parse(BUILTINS).is_err());
        assert!(NamespaceId::parse("").is_err());
        assert!(NamespaceId::parse("-x").is_err());
        assert!(NamespaceId::parse("a/b").is_err());
        assert!(NamespaceId::parse(&"a".repeat(128)).is_ok());
        assert!(NamespaceId::parse(&"a".repeat(129)).is_err());
        assert!(SchemaId::parse("über").is_err());
    }

    #[test]
    fn paths_are_relative_clean_and_proto() {
        for ok in ["a.proto", "acme/v1/a.proto", "a-b_c/d.e.proto"] {
            assert!(validate_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a.txt",
            "/a.proto",
            "../a.proto",
            "a/../b.proto",
            "a//b.proto",
            "./a.proto",
            "a\\b.proto",
            "a\n.proto",
            "a\u{202E}otorp.txt.proto",
            "a/\u{2066}b\u{2069}.proto",
            "\u{200F}a.proto",
            "a\u{061C}.proto",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.proto", "a".repeat(506));
        assert_eq!(long.len(), MAX_PATH_BYTES);
        assert!(validate_path(&long).is_ok());
        let too_long = format!("{}.proto", "a".repeat(507));
        assert!(validate_path(&too_long).is_err());
    }
}
