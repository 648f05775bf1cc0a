//! What changed between two versions of a schema: added, removed and
//! changed messages, fields, enums, enum values, services and methods, each
//! with its file and line.

use std::collections::BTreeMap;

use prost_reflect::{DescriptorPool, FileDescriptor, Kind};
use serde::Serialize;

use crate::error::{RegistryError, Result};
use crate::snapshot::VersionSnapshot;

/// One element of a schema in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    /// `message`, `field`, `enum`, `enum_value`, `service` or `method`.
    pub kind: &'static str,
    /// Full name (`pkg.Msg`, `pkg.Msg.field`, `pkg.Enum.VALUE`, `pkg.Svc.Method`).
    pub name: String,
    pub file: String,
    /// 1-based line in the version that has the element (the newer one for
    /// a change), 0 without source info.
    pub line: u32,
    /// For a change: what it was and what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub added: Vec<DiffEntry>,
    pub removed: Vec<DiffEntry>,
    pub changed: Vec<DiffEntry>,
}

struct Element {
    kind: &'static str,
    file: String,
    line: u32,
    signature: String,
}

pub fn diff(from: &VersionSnapshot, to: &VersionSnapshot) -> Result<Diff> {
    let old = elements(from)?;
    let new = elements(to)?;
    let mut out = Diff::default();
    for (name, element) in &new {
        match old.get(name) {
            None => out.added.push(entry(name, element, None)),
            Some(before)
                if before.signature != element.signature || before.kind != element.kind =>
            {
                out.changed.push(entry(name, element, Some(before)));
            }
            Some(_) => {}
        }
    }
    for (name, element) in &old {
        if !new.contains_key(name) {
            out.removed.push(entry(name, element, None));
        }
    }
    Ok(out)
}

fn entry(name: &str, element: &Element, before: Option<&Element>) -> DiffEntry {
    DiffEntry {
        kind: element.kind,
        name: name.to_owned(),
        file: element.file.clone(),
        line: element.line,
        from: before.map(|b| b.signature.clone()),
        to: before.map(|_| element.signature.clone()),
    }
}

fn line_of(file: &FileDescriptor, path: &[i32]) -> u32 {
    file.file_descriptor_proto()
        .source_code_info
        .as_ref()
        .and_then(|info| info.location.iter().find(|l| l.path == path))
        .and_then(|l| l.span.first())
        .map_or(0, |line| *line as u32 + 1)
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Every element of the version's own files, by full name.
fn elements(version: &VersionSnapshot) -> Result<BTreeMap<String, Element>> {
    let pool = DescriptorPool::decode(version.descriptor_set.clone())
        .map_err(|e| RegistryError::internal("decoding a stored descriptor set", e))?;
    let own = |file: &FileDescriptor| version.source_hashes.contains_key(file.name());
    let mut out = BTreeMap::new();
    let mut add = |name: String, kind, file: &FileDescriptor, path: &[i32], signature: String| {
        out.insert(
            name,
            Element {
                kind,
                file: file.name().to_owned(),
                line: line_of(file, path),
                signature,
            },
        );
    };
    for message in pool
        .all_messages()
        .filter(|m| own(&m.parent_file()) && !m.is_map_entry())
    {
        let file = message.parent_file();
        add(
            message.full_name().to_owned(),
            "message",
            &file,
            message.path(),
            String::new(),
        );
        for field in message.fields() {
            let signature = format!(
                "{} {:?} {} json_name={}{}",
                field.number(),
                field.cardinality(),
                if field.is_map() {
                    format!("map<{}>", map_types(&field.kind()))
                } else {
                    kind_name(&field.kind())
                },
                field.json_name(),
                field
                    .containing_oneof()
                    .map(|o| format!(" oneof={}", o.name()))
                    .unwrap_or_default(),
            );
            add(
                format!("{}.{}", message.full_name(), field.name()),
                "field",
                &file,
                field.path(),
                signature,
            );
        }
    }
    for enumeration in pool.all_enums().filter(|e| own(&e.parent_file())) {
        let file = enumeration.parent_file();
        add(
            enumeration.full_name().to_owned(),
            "enum",
            &file,
            enumeration.path(),
            String::new(),
        );
        for value in enumeration.values() {
            add(
                format!("{}.{}", enumeration.full_name(), value.name()),
                "enum_value",
                &file,
                value.path(),
                value.number().to_string(),
            );
        }
    }
    for service in pool.services().filter(|s| own(&s.parent_file())) {
        let file = service.parent_file();
        add(
            service.full_name().to_owned(),
            "service",
            &file,
            service.path(),
            String::new(),
        );
        for method in service.methods() {
            let signature = format!(
                "({}{}) returns ({}{})",
                if method.is_client_streaming() {
                    "stream "
                } else {
                    ""
                },
                method.input().full_name(),
                if method.is_server_streaming() {
                    "stream "
                } else {
                    ""
                },
                method.output().full_name(),
            );
            add(
                format!("{}.{}", service.full_name(), method.name()),
                "method",
                &file,
                method.path(),
                signature,
            );
        }
    }
    Ok(out)
}

fn map_types(kind: &Kind) -> String {
    match kind {
        Kind::Message(entry) => {
            let key = entry.map_entry_key_field().kind();
            let value = entry.map_entry_value_field().kind();
            format!("{}, {}", kind_name(&key), kind_name(&value))
        }
        other => kind_name(other),
    }
}
