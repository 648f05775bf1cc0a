//! Python module names and aliases, as protoc's python helpers and grpc's
//! python plugin spell them.

/// Reserved words of Python; protoc quotes them in generated code.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

pub fn contains_keyword(module_name: &str) -> bool {
    module_name.split('.').any(is_keyword)
}

/// `ResolveKeyword`: a keyword-named top-level symbol is reached through
/// `globals()`.
pub fn resolve_keyword(name: &str) -> String {
    if is_keyword(name) {
        format!("globals()['{name}']")
    } else {
        name.to_owned()
    }
}

fn strip_proto(file_name: &str) -> &str {
    file_name
        .strip_suffix(".protodevel")
        .or_else(|| file_name.strip_suffix(".proto"))
        .unwrap_or(file_name)
}

/// `foo/bar-baz.proto` → `foo.bar_baz_pb2`.
pub fn module_name(file_name: &str) -> String {
    let base = strip_proto(file_name).replace('-', "_").replace('/', ".");
    format!("{base}_pb2")
}

/// `foo/bar_baz.proto` → `foo_dot_bar__baz__pb2`.
pub fn module_alias(file_name: &str) -> String {
    module_name(file_name)
        .replace('_', "__")
        .replace('.', "_dot_")
}

/// Output path of the module with `suffix` (`.py`, `.pyi`).
pub fn output_file_name(file_name: &str, suffix: &str) -> String {
    format!("{}{suffix}", module_name(file_name).replace('.', "/"))
}

/// `import a.b_pb2 as x` written the way both generators do.
pub fn import_statement(module_name: &str) -> String {
    match module_name.rfind('.') {
        Some(dot) => format!(
            "from {} import {}",
            &module_name[..dot],
            &module_name[dot + 1..]
        ),
        None => format!("import {module_name}"),
    }
}

/// Whether every dotted component of the module is a Python identifier.
pub fn is_safe_module_name(module_name: &str) -> bool {
    module_name.split('.').all(|component| {
        let mut chars = component.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_a_dotted_dashed_file() {
        assert_eq!(module_name("a/b-c.d.proto"), "a.b_c.d_pb2");
        assert_eq!(module_alias("a/b_c.proto"), "a_dot_b__c__pb2");
        assert_eq!(output_file_name("a/b.c.proto", ".py"), "a/b/c_pb2.py");
        assert_eq!(import_statement("x_pb2"), "import x_pb2");
        assert!(contains_keyword("a.from.b_pb2"));
        assert!(!is_safe_module_name("a.1b_pb2"));
    }
}
