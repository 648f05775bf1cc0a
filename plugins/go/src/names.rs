//! Go naming rules of protobuf-go (`internal/strs`) and `protogen`.

const GO_KEYWORDS: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Predeclared identifiers of Go 1.19 (`types.Universe.Names()`): a
/// generated file never uses them as import names.
pub(crate) const GO_UNIVERSE: &[&str] = &[
    "any",
    "append",
    "bool",
    "byte",
    "cap",
    "close",
    "comparable",
    "complex",
    "complex128",
    "complex64",
    "copy",
    "delete",
    "error",
    "false",
    "float32",
    "float64",
    "imag",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "iota",
    "len",
    "make",
    "new",
    "nil",
    "panic",
    "print",
    "println",
    "real",
    "recover",
    "rune",
    "string",
    "true",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "uintptr",
];

/// `strs.GoCamelCase`: the Go name of a proto identifier.
pub(crate) fn go_camel_case(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next_is_lower = i + 1 < bytes.len() && bytes[i + 1].is_ascii_lowercase();
        if c == b'.' && next_is_lower {
            // Skip over '.' in ".{{lowercase}}".
        } else if c == b'.' {
            out.push(b'_');
        } else if c == b'_' && (i == 0 || bytes[i - 1] == b'.') {
            out.push(b'X');
        } else if c == b'_' && next_is_lower {
            // Skip over '_' in "_{{lowercase}}".
        } else if c.is_ascii_digit() {
            out.push(c);
        } else {
            out.push(c.to_ascii_uppercase());
            while i + 1 < bytes.len() && bytes[i + 1].is_ascii_lowercase() {
                out.push(bytes[i + 1]);
                i += 1;
            }
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `strs.GoSanitized`: a valid Go identifier for `s`.
pub(crate) fn go_sanitized(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c.is_numeric() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let starts_with_letter = mapped.chars().next().is_some_and(char::is_alphabetic);
    if GO_KEYWORDS.contains(&mapped.as_str()) || !starts_with_letter {
        format!("_{mapped}")
    } else {
        mapped
    }
}

/// `path.Base` of a slash-separated path.
pub(crate) fn path_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `protogen.cleanPackageName` applied to the last element of an import path.
pub(crate) fn package_name_for_import_path(import_path: &str) -> String {
    go_sanitized(path_base(import_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_matches_protobuf_go() {
        assert_eq!(go_camel_case("display_name"), "DisplayName");
        assert_eq!(go_camel_case("_foo"), "XFoo");
        assert_eq!(go_camel_case("foo_bar2baz"), "FooBar2Baz");
        assert_eq!(go_camel_case("Product.Image"), "Product_Image");
        assert_eq!(go_camel_case("not_a_number"), "NotANumber");
        assert_eq!(go_camel_case("f_int32"), "FInt32");
    }

    #[test]
    fn sanitized_prefixes_keywords_and_digits() {
        assert_eq!(go_sanitized("type"), "_type");
        assert_eq!(go_sanitized("1abc"), "_1abc");
        assert_eq!(go_sanitized("acme/shop.proto"), "acme_shop_proto");
    }
}
