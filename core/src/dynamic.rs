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

use crate::compile::line_column;

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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        Format::Binary => DynamicMessage::decode(descriptor.clone(), body.clone())
            .map_err(|e| vec![FieldError::new("", format!("invalid binary message: {e}"))])?,
    };
    let mut problems = Vec::new();
    check_message(&message, "", &mut problems);
    Ok((message, problems))
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
