//! The built-in rules of buf's v2 breaking rule set. One rule is one small
//! function; categories are attached here, at registration.

mod deletion;
mod field;
mod field_default;
mod file;
mod package;
mod types;

use crate::model::{FieldId, FileId, Schema};
use crate::registry::RuleRegistry;
use crate::rule::FnRule;
use crate::violation::Location;

const FILE: &str = "FILE";
const PACKAGE: &str = "PACKAGE";
const WIRE_JSON: &str = "WIRE_JSON";
const WIRE: &str = "WIRE";

type CheckFn = fn(
    &crate::rule::CheckContext<'_>,
    &mut Vec<crate::violation::Finding>,
) -> Result<(), crate::error::CompatError>;

/// (ID, categories, default, purpose, function), in buf's table order.
const BUILTIN: &[(&str, &[&str], bool, &str, CheckFn)] = &[
    (
        "ENUM_NO_DELETE",
        &[FILE],
        true,
        "Checks that enums are not deleted from a given file.",
        deletion::enum_no_delete,
    ),
    (
        "EXTENSION_NO_DELETE",
        &[FILE],
        true,
        "Checks that extensions are not deleted from a given file.",
        deletion::extension_no_delete,
    ),
    (
        "FILE_NO_DELETE",
        &[FILE],
        true,
        "Checks that files are not deleted.",
        deletion::file_no_delete,
    ),
    (
        "MESSAGE_NO_DELETE",
        &[FILE],
        true,
        "Checks that messages are not deleted from a given file.",
        deletion::message_no_delete,
    ),
    (
        "SERVICE_NO_DELETE",
        &[FILE],
        true,
        "Checks that services are not deleted from a given file.",
        deletion::service_no_delete,
    ),
    (
        "ENUM_SAME_TYPE",
        &[FILE, PACKAGE],
        true,
        "Checks that enums have the same type (open vs closed).",
        types::enum_same_type,
    ),
    (
        "ENUM_VALUE_NO_DELETE",
        &[FILE, PACKAGE],
        true,
        "Checks that enum values are not deleted from a given enum.",
        deletion::enum_value_no_delete,
    ),
    (
        "EXTENSION_MESSAGE_NO_DELETE",
        &[FILE, PACKAGE],
        true,
        "Checks that extension ranges are not deleted from a given message.",
        deletion::extension_message_no_delete,
    ),
    (
        "FIELD_NO_DELETE",
        &[FILE, PACKAGE],
        true,
        "Checks that fields are not deleted from a given message.",
        deletion::field_no_delete,
    ),
    (
        "FIELD_SAME_CARDINALITY",
        &[FILE, PACKAGE],
        true,
        "Checks that fields have the same cardinalities in a given message.",
        field::same_cardinality,
    ),
    (
        "FIELD_SAME_CPP_STRING_TYPE",
        &[FILE, PACKAGE],
        true,
        "Checks that fields have the same C++ string type, based on ctype field option or (pb.cpp).string_type feature.",
        field::same_cpp_string_type,
    ),
    (
        "FIELD_SAME_JAVA_UTF8_VALIDATION",
        &[FILE, PACKAGE],
        true,
        "Checks that fields have the same Java string UTF8 validation, based on java_string_check_utf8 file option or (pb.java).utf8_validation feature.",
        field::same_java_utf8_validation,
    ),
    (
        "FIELD_SAME_JSTYPE",
        &[FILE, PACKAGE],
        true,
        "Checks that fields have the same value for the jstype option.",
        field::same_jstype,
    ),
    (
        "FIELD_SAME_TYPE",
        &[FILE, PACKAGE],
        true,
        "Checks that fields have the same types in a given message.",
        field::same_type,
    ),
    (
        "FIELD_SAME_UTF8_VALIDATION",
        &[FILE, PACKAGE],
        true,
        "Checks that string fields have the same UTF8 validation mode.",
        field::same_utf8_validation,
    ),
    (
        "FILE_SAME_CC_ENABLE_ARENAS",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the cc_enable_arenas option.",
        file::same_cc_enable_arenas,
    ),
    (
        "FILE_SAME_CC_GENERIC_SERVICES",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the cc_generic_services option.",
        file::same_cc_generic_services,
    ),
    (
        "FILE_SAME_CSHARP_NAMESPACE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the csharp_namespace option.",
        file::same_csharp_namespace,
    ),
    (
        "FILE_SAME_GO_PACKAGE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the go_package option.",
        file::same_go_package,
    ),
    (
        "FILE_SAME_JAVA_GENERIC_SERVICES",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the java_generic_services option.",
        file::same_java_generic_services,
    ),
    (
        "FILE_SAME_JAVA_MULTIPLE_FILES",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the java_multiple_files option.",
        file::same_java_multiple_files,
    ),
    (
        "FILE_SAME_JAVA_OUTER_CLASSNAME",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the java_outer_classname option.",
        file::same_java_outer_classname,
    ),
    (
        "FILE_SAME_JAVA_PACKAGE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the java_package option.",
        file::same_java_package,
    ),
    (
        "FILE_SAME_OBJC_CLASS_PREFIX",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the objc_class_prefix option.",
        file::same_objc_class_prefix,
    ),
    (
        "FILE_SAME_OPTIMIZE_FOR",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the optimize_for option.",
        file::same_optimize_for,
    ),
    (
        "FILE_SAME_PHP_CLASS_PREFIX",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the php_class_prefix option.",
        file::same_php_class_prefix,
    ),
    (
        "FILE_SAME_PHP_METADATA_NAMESPACE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the php_metadata_namespace option.",
        file::same_php_metadata_namespace,
    ),
    (
        "FILE_SAME_PHP_NAMESPACE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the php_namespace option.",
        file::same_php_namespace,
    ),
    (
        "FILE_SAME_PY_GENERIC_SERVICES",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the py_generic_services option.",
        file::same_py_generic_services,
    ),
    (
        "FILE_SAME_RUBY_PACKAGE",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the ruby_package option.",
        file::same_ruby_package,
    ),
    (
        "FILE_SAME_SWIFT_PREFIX",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same value for the swift_prefix option.",
        file::same_swift_prefix,
    ),
    (
        "FILE_SAME_SYNTAX",
        &[FILE, PACKAGE],
        true,
        "Checks that files have the same syntax.",
        file::same_syntax,
    ),
    (
        "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
        &[FILE, PACKAGE],
        true,
        "Checks that messages do not change the no_standard_descriptor_accessor option from false or unset to true.",
        types::message_no_remove_standard_descriptor_accessor,
    ),
    (
        "ONEOF_NO_DELETE",
        &[FILE, PACKAGE],
        true,
        "Checks that oneofs are not deleted from a given message.",
        deletion::oneof_no_delete,
    ),
    (
        "RPC_NO_DELETE",
        &[FILE, PACKAGE],
        true,
        "Checks that rpcs are not deleted from a given service.",
        deletion::rpc_no_delete,
    ),
    (
        "ENUM_SAME_JSON_FORMAT",
        &[FILE, PACKAGE, WIRE_JSON],
        true,
        "Checks that enums have the same JSON format support.",
        types::enum_same_json_format,
    ),
    (
        "ENUM_VALUE_SAME_NAME",
        &[FILE, PACKAGE, WIRE_JSON],
        true,
        "Checks that enum values have the same name.",
        types::enum_value_same_name,
    ),
    (
        "FIELD_SAME_JSON_NAME",
        &[FILE, PACKAGE, WIRE_JSON],
        true,
        "Checks that fields have the same value for the json_name option.",
        field::same_json_name,
    ),
    (
        "FIELD_SAME_NAME",
        &[FILE, PACKAGE, WIRE_JSON],
        true,
        "Checks that fields have the same names in a given message.",
        field::same_name,
    ),
    (
        "MESSAGE_SAME_JSON_FORMAT",
        &[FILE, PACKAGE, WIRE_JSON],
        true,
        "Checks that messages have the same JSON format support.",
        types::message_same_json_format,
    ),
    (
        "FIELD_SAME_DEFAULT",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that fields have the same default value, if a default is specified.",
        field_default::same_default,
    ),
    (
        "FIELD_SAME_ONEOF",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that fields have the same oneofs in a given message.",
        field::same_oneof,
    ),
    (
        "FILE_SAME_PACKAGE",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that files have the same package.",
        file::same_package,
    ),
    (
        "MESSAGE_SAME_REQUIRED_FIELDS",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that messages have no added or deleted required fields.",
        types::message_same_required_fields,
    ),
    (
        "RESERVED_ENUM_NO_DELETE",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that reserved ranges and names are not deleted from a given enum.",
        deletion::reserved_enum_no_delete,
    ),
    (
        "RESERVED_MESSAGE_NO_DELETE",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that reserved ranges and names are not deleted from a given message.",
        deletion::reserved_message_no_delete,
    ),
    (
        "RPC_SAME_CLIENT_STREAMING",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that rpcs have the same client streaming value.",
        types::rpc_same_client_streaming,
    ),
    (
        "RPC_SAME_IDEMPOTENCY_LEVEL",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that rpcs have the same value for the idempotency_level option.",
        types::rpc_same_idempotency_level,
    ),
    (
        "RPC_SAME_REQUEST_TYPE",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that rpcs are have the same request type.",
        types::rpc_same_request_type,
    ),
    (
        "RPC_SAME_RESPONSE_TYPE",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that rpcs are have the same response type.",
        types::rpc_same_response_type,
    ),
    (
        "RPC_SAME_SERVER_STREAMING",
        &[FILE, PACKAGE, WIRE_JSON, WIRE],
        true,
        "Checks that rpcs have the same server streaming value.",
        types::rpc_same_server_streaming,
    ),
    (
        "PACKAGE_ENUM_NO_DELETE",
        &[PACKAGE],
        false,
        "Checks that enums are not deleted from a given package.",
        package::enum_no_delete,
    ),
    (
        "PACKAGE_EXTENSION_NO_DELETE",
        &[PACKAGE],
        false,
        "Checks that extensions are not deleted from a given package.",
        package::extension_no_delete,
    ),
    (
        "PACKAGE_MESSAGE_NO_DELETE",
        &[PACKAGE],
        false,
        "Checks that messages are not deleted from a given package.",
        package::message_no_delete,
    ),
    (
        "PACKAGE_NO_DELETE",
        &[PACKAGE],
        false,
        "Checks that packages are not deleted.",
        package::no_delete,
    ),
    (
        "PACKAGE_SERVICE_NO_DELETE",
        &[PACKAGE],
        false,
        "Checks that services are not deleted from a given package.",
        package::service_no_delete,
    ),
    (
        "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
        &[WIRE_JSON],
        false,
        "Checks that enum values are not deleted from a given enum unless the name is reserved.",
        deletion::enum_value_no_delete_unless_name_reserved,
    ),
    (
        "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
        &[WIRE_JSON],
        false,
        "Checks that fields are not deleted from a given message unless the name is reserved.",
        deletion::field_no_delete_unless_name_reserved,
    ),
    (
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        &[WIRE_JSON],
        false,
        "Checks that fields have wire and JSON compatible cardinalities in a given message.",
        field::wire_json_compatible_cardinality,
    ),
    (
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
        &[WIRE_JSON],
        false,
        "Checks that fields have wire and JSON compatible types in a given message.",
        field::wire_json_compatible_type,
    ),
    (
        "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
        &[WIRE_JSON, WIRE],
        false,
        "Checks that enum values are not deleted from a given enum unless the number is reserved.",
        deletion::enum_value_no_delete_unless_number_reserved,
    ),
    (
        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
        &[WIRE_JSON, WIRE],
        false,
        "Checks that fields are not deleted from a given message unless the number is reserved.",
        deletion::field_no_delete_unless_number_reserved,
    ),
    (
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        &[WIRE],
        false,
        "Checks that fields have wire-compatible cardinalities in a given message.",
        field::wire_compatible_cardinality,
    ),
    (
        "FIELD_WIRE_COMPATIBLE_TYPE",
        &[WIRE],
        false,
        "Checks that fields have wire-compatible types in a given message.",
        field::wire_compatible_type,
    ),
];

/// Deprecated v1 IDs and what they stand for in v2.
const DEPRECATED: &[(&str, &[&str])] = &[
    ("FIELD_SAME_CTYPE", &["FIELD_SAME_CPP_STRING_TYPE"]),
    (
        "FIELD_SAME_LABEL",
        &[
            "FIELD_SAME_CARDINALITY",
            "FIELD_WIRE_COMPATIBLE_CARDINALITY",
            "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        ],
    ),
    (
        "FILE_SAME_JAVA_STRING_CHECK_UTF8",
        &["FIELD_SAME_JAVA_UTF8_VALIDATION"],
    ),
    ("FILE_SAME_PHP_GENERIC_SERVICES", &[]),
    ("MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT", &[]),
];

impl RuleRegistry {
    /// A registry with every built-in rule of buf's v2 rule set and its
    /// deprecated aliases.
    pub fn builtin() -> Self {
        let mut registry = RuleRegistry::empty();
        register_builtin(&mut registry);
        registry
    }
}

fn register_builtin(registry: &mut RuleRegistry) {
    for (id, categories, default, purpose, check) in BUILTIN {
        let rule = FnRule {
            id,
            purpose,
            check: *check,
        };
        // The table has unique IDs (a unit test checks), so this cannot fail.
        let _ = registry.register(Box::new(rule), categories, *default);
    }
    for (deprecated, replacements) in DEPRECATED {
        registry.register_deprecated(deprecated, replacements);
    }
}

/// Go's `%q` for a string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q`-quoted strings joined by ", ".
pub(crate) fn join_quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| go_quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Field "1" with name "foo" on message "Bar"` (or `Extension ...` with the
/// fully-qualified name and the extendee).
pub(crate) fn field_description(schema: &Schema, field: FieldId) -> String {
    let f = &schema.fields[field];
    let name = if f.is_extension() {
        &f.full_name
    } else {
        &f.name
    };
    field_description_with_name(schema, field, name)
}

pub(crate) fn field_description_with_name(schema: &Schema, field: FieldId, name: &str) -> String {
    let f = &schema.fields[field];
    let name = if name.is_empty() {
        String::new()
    } else {
        format!(" with name {}", go_quote(name))
    };
    let (kind, message) = if f.is_extension() {
        ("Extension", f.extendee.trim_start_matches('.').to_string())
    } else {
        (
            "Field",
            f.parent
                .map(|m| schema.messages[m].name.clone())
                .unwrap_or_default(),
        )
    };
    format!(
        "{kind} {}{name} on message {}",
        go_quote(&f.number.to_string()),
        go_quote(&message)
    )
}

/// The file of `path` in `file` when the source info has it (buf's "against
/// location").
pub(crate) fn against(schema: &Schema, file: FileId, path: &[i32]) -> Option<String> {
    schema.location(file, path).map(|l| l.file)
}

/// Where buf reports an element deleted from `file`: the closest enclosing
/// message that still exists, or the file without a span.
pub(crate) fn deleted_element_location(
    schema: &Schema,
    file: FileId,
    nested_name: &str,
) -> Location {
    let parts: Vec<&str> = nested_name.split('.').collect();
    if parts.len() > 1 {
        let messages = schema.file_messages(file);
        for i in (1..parts.len()).rev() {
            if let Some(message) = messages.get(&parts[..i].join(".")) {
                return schema
                    .location(file, &schema.messages[*message].path)
                    .unwrap_or_else(|| schema.file_location(file));
            }
        }
    }
    schema.file_location(file)
}

fn with(path: &[i32], tail: &[i32]) -> Vec<i32> {
    let mut out = path.to_vec();
    out.extend_from_slice(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn builtin_table_has_sixty_four_unique_rules() {
        let ids: BTreeSet<&str> = BUILTIN.iter().map(|r| r.0).collect();
        assert_eq!(ids.len(), BUILTIN.len());
        assert_eq!(ids.len(), 64);
        let registry = RuleRegistry::builtin();
        assert_eq!(registry.rules().len(), 64);
    }

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
