#![doc = include_str!("../README.md")]

use std::collections::HashMap;

use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use protoreg_plugin_sdk::{CompatInput, CompatRule, Plugin, PluginError, Violation};

/// What kind of element a rule guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Message,
    Enum,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Service => "Service",
            Kind::Message => "Message",
            Kind::Enum => "Enum",
        }
    }
}

/// One guarded element: where it is and its encoded descriptor.
struct Element {
    file: String,
    /// The source-info path of the element in its file.
    path: Vec<i32>,
    encoded: Vec<u8>,
}

/// Every element of `kind` in the set, by full name (without leading dot).
fn elements(set: &FileDescriptorSet, kind: Kind) -> HashMap<String, Element> {
    let mut out = HashMap::new();
    for file in &set.file {
        let package = file.package().to_string();
        let prefix = |name: &str| {
            if package.is_empty() {
                name.to_string()
            } else {
                format!("{package}.{name}")
            }
        };
        let mut add = |name: String, path: Vec<i32>, encoded: Vec<u8>| {
            out.insert(
                name,
                Element {
                    file: file.name().to_string(),
                    path,
                    encoded,
                },
            );
        };
        match kind {
            Kind::Service => {
                for (i, service) in file.service.iter().enumerate() {
                    add(
                        prefix(service.name()),
                        vec![6, i as i32],
                        service.encode_to_vec(),
                    );
                }
            }
            Kind::Enum => {
                for (i, e) in file.enum_type.iter().enumerate() {
                    add(prefix(e.name()), vec![5, i as i32], e.encode_to_vec());
                }
                for (name, path, message) in messages(file) {
                    for (i, e) in message.enum_type.iter().enumerate() {
                        let mut p = path.clone();
                        p.extend([4, i as i32]);
                        add(
                            prefix(&format!("{name}.{}", e.name())),
                            p,
                            e.encode_to_vec(),
                        );
                    }
                }
            }
            Kind::Message => {
                for (name, path, message) in messages(file) {
                    add(prefix(&name), path, message.encode_to_vec());
                }
            }
        }
    }
    out
}

/// Every message of a file, nested ones too: (name within the package,
/// source path, descriptor).
fn messages(file: &FileDescriptorProto) -> Vec<(String, Vec<i32>, &prost_types::DescriptorProto)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, Vec<i32>, &prost_types::DescriptorProto)> = file
        .message_type
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name().to_string(), vec![4, i as i32], m))
        .collect();
    while let Some((name, path, message)) = stack.pop() {
        for (i, nested) in message.nested_type.iter().enumerate() {
            let mut p = path.clone();
            p.extend([3, i as i32]);
            stack.push((format!("{name}.{}", nested.name()), p, nested));
        }
        out.push((name, path, message));
    }
    out
}

/// The span of `path` in `file` (1-based), if the source info has it.
fn span_of(set: &FileDescriptorSet, file: &str, path: &[i32]) -> Option<(i32, i32, i32, i32)> {
    let file = set.file.iter().find(|f| f.name() == file)?;
    let location = file
        .source_code_info
        .as_ref()?
        .location
        .iter()
        .find(|l| l.path == path)?;
    let s = &location.span;
    match s.len() {
        3 => Some((s[0] + 1, s[1] + 1, s[0] + 1, s[2] + 1)),
        4 => Some((s[0] + 1, s[1] + 1, s[2] + 1, s[3] + 1)),
        _ => None,
    }
}

/// The shared check: every element of `kind` whose name ends in a suffix
/// must be present and identical in `current`.
fn check(
    input: &CompatInput<'_>,
    rule: &str,
    kind: Kind,
    option: &str,
) -> Result<Vec<Violation>, PluginError> {
    let suffixes = input.string_list(option)?;
    if suffixes.is_empty() {
        return Ok(Vec::new());
    }
    let previous = elements(input.previous, kind);
    let current = elements(input.current, kind);
    let mut names: Vec<&String> = previous
        .keys()
        .filter(|name| {
            let simple = name.rsplit('.').next().unwrap_or(name);
            suffixes.iter().any(|s| simple.ends_with(s.as_str()))
        })
        .collect();
    names.sort();
    let mut violations = Vec::new();
    for name in names {
        let old = &previous[name];
        let suffix = suffixes
            .iter()
            .find(|s| name.ends_with(s.as_str()))
            .cloned()
            .unwrap_or_default();
        match current.get(name) {
            None => violations.push(Violation {
                rule_id: rule.to_string(),
                message: format!(
                    "{} {name:?} has the suffix {suffix:?} configured for no changes and was deleted.",
                    kind.noun()
                ),
                against_file: old.file.clone(),
                ..Default::default()
            }),
            Some(new) if new.encoded != old.encoded => {
                let (start_line, start_column, end_line, end_column) =
                    span_of(input.current, &new.file, &new.path).unwrap_or_default();
                violations.push(Violation {
                    rule_id: rule.to_string(),
                    file: new.file.clone(),
                    start_line,
                    start_column,
                    end_line,
                    end_column,
                    message: format!(
                        "{} {name:?} has the suffix {suffix:?} configured for no changes and changed.",
                        kind.noun()
                    ),
                    against_file: old.file.clone(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(violations)
}

macro_rules! suffix_rule {
    ($type:ident, $id:literal, $kind:expr, $option:literal, $purpose:literal) => {
        /// See the crate documentation.
        #[derive(Debug)]
        pub struct $type;

        impl CompatRule for $type {
            fn id(&self) -> &str {
                $id
            }
            fn purpose(&self) -> &str {
                $purpose
            }
            fn default(&self) -> bool {
                true
            }
            fn check(&self, input: &CompatInput<'_>) -> Result<Vec<Violation>, PluginError> {
                check(input, $id, $kind, $option)
            }
        }
    };
}

suffix_rule!(
    ServiceSuffixesNoChange,
    "SERVICE_SUFFIXES_NO_CHANGE",
    Kind::Service,
    "service_no_change_suffixes",
    "Checks that services whose names end in a configured suffix do not change."
);
suffix_rule!(
    MessageSuffixesNoChange,
    "MESSAGE_SUFFIXES_NO_CHANGE",
    Kind::Message,
    "message_no_change_suffixes",
    "Checks that messages whose names end in a configured suffix do not change."
);
suffix_rule!(
    EnumSuffixesNoChange,
    "ENUM_SUFFIXES_NO_CHANGE",
    Kind::Enum,
    "enum_no_change_suffixes",
    "Checks that enums whose names end in a configured suffix do not change."
);

pub fn plugin() -> Plugin {
    Plugin::new("suffix-rules", env!("CARGO_PKG_VERSION"))
        .description("Services, messages and enums with configured name suffixes must not change.")
        .rule(ServiceSuffixesNoChange)
        .rule(MessageSuffixesNoChange)
        .rule(EnumSuffixesNoChange)
}

protoreg_plugin_sdk::export_plugin!(plugin);

#[cfg(test)]
mod tests;
