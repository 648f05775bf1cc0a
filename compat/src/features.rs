//! Resolution of editions features (standard and the `(pb.cpp)` /
//! `(pb.java)` extensions the checker needs), following the inheritance
//! chain file → message → (oneof) → field, like protobuf does.

use crate::descriptor::FeatureSet;

/// The edition number of `EDITION_PROTO2`.
pub const EDITION_PROTO2: i32 = 998;
/// The edition number of `EDITION_PROTO3`.
pub const EDITION_PROTO3: i32 = 999;
/// The edition number of `EDITION_2023`.
pub const EDITION_2023: i32 = 1000;
/// The edition number of `EDITION_2024`.
pub const EDITION_2024: i32 = 1001;

/// `FeatureSet.FieldPresence` values.
pub mod presence {
    pub const EXPLICIT: i32 = 1;
    pub const IMPLICIT: i32 = 2;
    pub const LEGACY_REQUIRED: i32 = 3;
}
/// `FeatureSet.EnumType` values.
pub mod enum_type {
    pub const OPEN: i32 = 1;
    pub const CLOSED: i32 = 2;
}
/// `FeatureSet.MessageEncoding` values.
pub mod message_encoding {
    pub const LENGTH_PREFIXED: i32 = 1;
    pub const DELIMITED: i32 = 2;
}
/// `FeatureSet.JsonFormat` values.
pub mod json_format {
    pub const ALLOW: i32 = 1;
    pub const LEGACY_BEST_EFFORT: i32 = 2;
}
/// `FeatureSet.Utf8Validation` values.
pub mod utf8 {
    pub const VERIFY: i32 = 2;
    pub const NONE: i32 = 3;
}
/// `pb.CppFeatures.StringType` values.
pub mod cpp_string_type {
    pub const VIEW: i32 = 1;
    pub const CORD: i32 = 2;
    pub const STRING: i32 = 3;
}
/// `pb.JavaFeatures.Utf8Validation` values.
pub mod java_utf8 {
    pub const DEFAULT: i32 = 1;
    pub const VERIFY: i32 = 2;
}

/// Fully resolved features of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub field_presence: i32,
    pub enum_type: i32,
    pub utf8_validation: i32,
    pub message_encoding: i32,
    pub json_format: i32,
    pub cpp_string_type: i32,
    pub java_utf8_validation: i32,
}

impl Features {
    /// The defaults of an edition (proto2 and proto3 count as editions 998 and 999).
    pub fn defaults(edition: i32) -> Self {
        match edition {
            EDITION_PROTO2 => Features {
                field_presence: presence::EXPLICIT,
                enum_type: enum_type::CLOSED,
                utf8_validation: utf8::NONE,
                message_encoding: message_encoding::LENGTH_PREFIXED,
                json_format: json_format::LEGACY_BEST_EFFORT,
                cpp_string_type: cpp_string_type::STRING,
                java_utf8_validation: java_utf8::DEFAULT,
            },
            EDITION_PROTO3 => Features {
                field_presence: presence::IMPLICIT,
                enum_type: enum_type::OPEN,
                utf8_validation: utf8::VERIFY,
                message_encoding: message_encoding::LENGTH_PREFIXED,
                json_format: json_format::ALLOW,
                cpp_string_type: cpp_string_type::STRING,
                java_utf8_validation: java_utf8::DEFAULT,
            },
            edition => Features {
                field_presence: presence::EXPLICIT,
                enum_type: enum_type::OPEN,
                utf8_validation: utf8::VERIFY,
                message_encoding: message_encoding::LENGTH_PREFIXED,
                json_format: json_format::ALLOW,
                cpp_string_type: if edition >= EDITION_2024 {
                    cpp_string_type::VIEW
                } else {
                    cpp_string_type::STRING
                },
                java_utf8_validation: java_utf8::DEFAULT,
            },
        }
    }

    /// These features with the explicitly set ones of `set` applied.
    pub fn merge(mut self, set: Option<&FeatureSet>) -> Self {
        let Some(set) = set else { return self };
        let pick = |value: Option<i32>, current: &mut i32| {
            if let Some(value) = value.filter(|v| *v != 0) {
                *current = value;
            }
        };
        pick(set.field_presence, &mut self.field_presence);
        pick(set.enum_type, &mut self.enum_type);
        pick(set.utf8_validation, &mut self.utf8_validation);
        pick(set.message_encoding, &mut self.message_encoding);
        pick(set.json_format, &mut self.json_format);
        pick(
            set.cpp.as_ref().and_then(|c| c.field_2),
            &mut self.cpp_string_type,
        );
        pick(
            set.java.as_ref().and_then(|j| j.field_2),
            &mut self.java_utf8_validation,
        );
        self
    }
}

/// The name of a `FeatureSet.Utf8Validation` value, as Go prints it.
pub fn utf8_validation_name(value: i32) -> String {
    match value {
        0 => "UTF8_VALIDATION_UNKNOWN".into(),
        2 => "VERIFY".into(),
        3 => "NONE".into(),
        other => other.to_string(),
    }
}

/// The name of a `FeatureSet.JsonFormat` value, as Go prints it.
pub fn json_format_name(value: i32) -> String {
    match value {
        0 => "JSON_FORMAT_UNKNOWN".into(),
        1 => "ALLOW".into(),
        2 => "LEGACY_BEST_EFFORT".into(),
        other => other.to_string(),
    }
}

/// The name of a `pb.CppFeatures.StringType` value, as Go prints it.
pub fn cpp_string_type_name(value: i32) -> String {
    match value {
        0 => "STRING_TYPE_UNKNOWN".into(),
        1 => "VIEW".into(),
        2 => "CORD".into(),
        3 => "STRING".into(),
        other => other.to_string(),
    }
}
