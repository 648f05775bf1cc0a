//! Messages of types known only at runtime: decoding and validating JSON
//! (the proto3 JSON mapping, well-known types included), text format and
//! binary with prost-reflect, and encoding them back.

use bytes::Bytes;
use miette::Diagnostic;
use prost::Message;
use prost_reflect::{
    Cardinality, DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value,
};
use serde::Serialize;

use crate::position::line_column;

/// A wire form of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The proto3 JSON mapping (`application/json`).
    Json,
    /// Protobuf text format (`text/plain`).
    Text,
    /// Protobuf binary (`application/x-protobuf`).
    Binary,
}

impl Format {
    /// From a `Content-Type` (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/json" => Some(Self::Json),
            "text/plain" => Some(Self::Text),
            "application/x-protobuf" | "application/protobuf" | "application/octet-stream" => {
                Some(Self::Binary)
            }
            _ => None,
        }
    }

    /// From the `to` query parameter of transcode.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "text" => Some(Self::Text),
            "binary" => Some(Self::Binary),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Text => "text/plain; charset=utf-8",
            Self::Binary => "application/x-protobuf",
        }
    }
}

/// One problem with a message, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Field path such as `items[2].price.units`; empty for the message
    /// itself.
    pub path: String,
    pub message: String,
}

impl FieldError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Decodes `body` as a `descriptor` message. On success, also lists what is
/// wrong with a message that decodes: missing proto2 `required` fields and
/// unknown fields (binary only; JSON and text refuse unknown fields).
pub fn decode(
    descriptor: &MessageDescriptor,
    format: Format,
    body: &Bytes,
) -> Result<(DynamicMessage, Vec<FieldError>), Vec<FieldError>> {
    let message = match format {
        Format::Json => decode_json(descriptor, body)?,
        Format::Text => decode_text(descriptor, body)?,
        Format::Binary => decode_binary(descriptor, body.clone())?,
    };
    // A JSON body nested at most `SHALLOW_JSON` deep decodes to a message
    // at most 3 × that + 2 levels deep in binary (a `google.protobuf.Struct`
    // takes three binary levels per JSON object: Struct, map entry, Value),
    // under the binary decoder's limit of 100: no need to check it by
    // encoding and decoding it again (most of a validate's work otherwise).
    let shallow = format == Format::Json && json_nesting(body) <= SHALLOW_JSON;
    if format != Format::Binary && !shallow {
        // A message nested deeper than the binary decoder's recursion limit
        // would transcode to binary that no one can decode (validate
        // included): refuse it in every form alike.
        decode_binary(descriptor, message.encode_to_vec().into()).map_err(|_| {
            vec![FieldError::new(
                "",
                "the message is nested too deeply (the limit of the binary format, 100 levels)",
            )]
        })?;
    }
    let mut problems = Vec::new();
    check_message(&message, "", &mut problems);
    Ok((message, problems))
}

fn decode_binary(
    descriptor: &MessageDescriptor,
    body: Bytes,
) -> Result<DynamicMessage, Vec<FieldError>> {
    DynamicMessage::decode(descriptor.clone(), body)
        .map_err(|e| vec![FieldError::new("", format!("invalid binary message: {e}"))])
}

/// JSON bodies nested at most this deep (objects and arrays) are not
/// checked against the binary decoder's recursion limit ([`decode`]).
const SHALLOW_JSON: usize = 32;

/// The deepest `{`/`[` nesting of a JSON body, outside strings.
fn json_nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Deepest `{`/`<` nesting a text-format body may have. The text parser
/// recurses without a limit of its own and takes much stack per level (a
/// few hundred levels overflow a 2 MiB worker thread in a debug build), so
/// a deeper body is refused before parsing.
pub const MAX_TEXT_NESTING: usize = 64;

/// The deepest `{`/`<` nesting of a text-format body, outside strings and
/// `#` comments.
fn text_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' | '<' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | '>' => depth = depth.saturating_sub(1),
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '\n' => break,
                        s if s == c => break,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    deepest
}

fn decode_json(
    descriptor: &MessageDescriptor,
    body: &[u8],
) -> Result<DynamicMessage, Vec<FieldError>> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut json, &mut track);
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    let message = DynamicMessage::deserialize_with_options(descriptor.clone(), tracked, &options)
        .map_err(|err| {
        let path = track.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![FieldError::new(path, err.to_string())]
    })?;
    json.end().map_err(|e| {
        vec![FieldError::new(
            "",
            format!("trailing characters after the message: {e}"),
        )]
    })?;
    Ok(message)
}

fn decode_text(
    descriptor: &MessageDescriptor,
    body: &[u8],
) -> Result<DynamicMessage, Vec<FieldError>> {
    let text = std::str::from_utf8(body).map_err(|e| {
        vec![FieldError::new(
            "",
            format!("text format must be UTF-8: {e}"),
        )]
    })?;
    if text_nesting(text) > MAX_TEXT_NESTING {
        return Err(vec![FieldError::new(
            "",
            format!("the message is nested deeper than {MAX_TEXT_NESTING} levels"),
        )]);
    }
    DynamicMessage::parse_text_format(descriptor.clone(), text).map_err(|err| {
        let position = err
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|label| line_column(text, label.offset()));
        let message = match position {
            Some((line, column)) => format!("{line}:{column}: {err}"),
            None => err.to_string(),
        };
        vec![FieldError::new("", message)]
    })
}

/// Missing required fields (proto2, or editions `LEGACY_REQUIRED`) and
/// unknown fields, anywhere in the message.
fn check_message(message: &DynamicMessage, path: &str, problems: &mut Vec<FieldError>) {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for unknown in message.unknown_fields() {
        problems.push(FieldError::new(
            path,
            format!("unknown field number {}", unknown.number()),
        ));
    }
    for field in message.descriptor().fields() {
        let field_path = join(field.json_name());
        if field.cardinality() == Cardinality::Required && !message.has_field(&field) {
            problems.push(FieldError::new(
                field_path.clone(),
                "required field is missing",
            ));
            continue;
        }
        if !matches!(field.kind(), Kind::Message(_)) || !message.has_field(&field) {
            continue;
        }
        match &*message.get_field(&field) {
            Value::Message(inner) => check_message(inner, &field_path, problems),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(inner) = item {
                        check_message(inner, &format!("{field_path}[{i}]"), problems);
                    }
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    if let Value::Message(inner) = value {
                        check_message(inner, &format!("{field_path}[{}]", map_key(key)), problems);
                    }
                }
            }
            _ => {}
        }
    }
}

fn map_key(key: &prost_reflect::MapKey) -> String {
    match key {
        prost_reflect::MapKey::String(s) => format!("{s:?}"),
        other => format!("{other:?}")
            .split_once('(')
            .map(|(_, rest)| rest.trim_end_matches(')').to_owned())
            .unwrap_or_default(),
    }
}

/// Encodes a message in `format`.
pub fn encode(message: &DynamicMessage, format: Format) -> Result<Bytes, String> {
    match format {
        Format::Binary => Ok(message.encode_to_vec().into()),
        Format::Text => Ok(message
            .to_text_format_with_options(
                &prost_reflect::text_format::FormatOptions::new().pretty(true),
            )
            .into_bytes()
            .into()),
        Format::Json => serde_json::to_vec(message)
            .map(Bytes::from)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use prost_reflect::DescriptorPool;

    use super::*;

    fn node() -> MessageDescriptor {
        let sources = BTreeMap::from([(
            "node.proto".to_owned(),
            "syntax = \"proto3\";\nmessage Node { Node child = 1; string name = 2; }\n".to_owned(),
        )]);
        let compiled = crate::compile::compile_schema(Arc::new(sources), Arc::default()).unwrap();
        DescriptorPool::decode(compiled.descriptor_set)
            .unwrap()
            .get_message_by_name("Node")
            .unwrap()
    }

    fn nested_text(depth: usize) -> Bytes {
        format!("{}{}", "child { ".repeat(depth), "} ".repeat(depth)).into()
    }

    fn nested_json(depth: usize) -> Bytes {
        format!("{}{{}}{}", "{\"child\": ".repeat(depth), "}".repeat(depth)).into()
    }

    #[test]
    fn text_nested_past_the_limit_is_refused_without_parsing() {
        // Deep enough to overflow any stack if it were parsed.
        for depth in [MAX_TEXT_NESTING + 1, 1_000_000] {
            let errors = decode(&node(), Format::Text, &nested_text(depth)).unwrap_err();
            assert!(errors[0].message.contains("nested deeper"), "{errors:?}");
        }
    }

    #[test]
    fn nesting_counts_only_braces_outside_strings_and_comments() {
        assert_eq!(
            text_nesting("a { b < c: \"{{{\\\"{{\" } > } # {{{{\n d { }"),
            2
        );
        assert_eq!(text_nesting("s: '<<<' t: \"}}}}\""), 0);
    }

    #[test]
    fn json_nesting_counts_objects_and_arrays_outside_strings() {
        assert_eq!(json_nesting(br#"{"a": [1, {"b": "{[{["}], "c": "\\"}"#), 3);
        assert_eq!(json_nesting(b"1"), 0);
        assert_eq!(json_nesting(&nested_json(40)), 41);
    }

    #[test]
    fn what_decodes_in_any_form_decodes_from_its_binary() {
        let node = node();
        for (format, body) in [
            (Format::Text, nested_text(MAX_TEXT_NESTING)),
            (Format::Json, nested_json(99)),
            (Format::Json, nested_json(100)),
            (Format::Json, nested_json(127)),
        ] {
            match decode(&node, format, &body) {
                Ok((message, _)) => {
                    let binary: Bytes = message.encode_to_vec().into();
                    decode(&node, Format::Binary, &binary).unwrap_or_else(|e| {
                        panic!("{format:?}: its binary does not decode: {e:?}")
                    });
                }
                Err(errors) => {
                    let message = &errors[0].message;
                    assert!(
                        message.contains("nested too deeply")
                            || message.contains("recursion limit"),
                        "{format:?}: {errors:?}"
                    );
                }
            }
        }
        assert!(decode(&node, Format::Text, &nested_text(MAX_TEXT_NESTING)).is_ok());
        assert!(decode(&node, Format::Json, &nested_json(50)).is_ok());
        let errors = decode(&node, Format::Json, &nested_json(120)).unwrap_err();
        assert!(
            errors[0].message.contains("nested too deeply"),
            "{errors:?}"
        );
    }
}
