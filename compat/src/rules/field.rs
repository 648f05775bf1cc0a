//! Rules comparing a field with its previous version (same message or
//! extendee, same number).

use super::{against, field_description, field_description_with_name, go_quote, with};
use crate::error::CompatError;
use crate::features::{self, cpp_string_type_name, utf8_validation_name};
use crate::model::{FieldId, Kind, Schema, Syntax, field_type};
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::{Finding, Location};

type Result = std::result::Result<(), CompatError>;

fn location(schema: &Schema, field: FieldId, tail: &[i32]) -> Option<Location> {
    let f = &schema.fields[field];
    schema.location(f.file, &with(&f.path, tail))
}

fn field_location(schema: &Schema, field: FieldId) -> Option<Location> {
    location(schema, field, &[])
}

/// The first of `tails` (relative to the field) with a location, else the field.
fn location_or_field(schema: &Schema, field: FieldId, tails: &[&[i32]]) -> Option<Location> {
    tails
        .iter()
        .find_map(|tail| location(schema, field, tail))
        .or_else(|| field_location(schema, field))
}

fn against_file(schema: &Schema, field: FieldId, tail: &[i32]) -> Option<String> {
    let f = &schema.fields[field];
    against(schema, f.file, &with(&f.path, tail))
}

fn against_or_field(schema: &Schema, field: FieldId, tails: &[&[i32]]) -> Option<String> {
    tails
        .iter()
        .find_map(|tail| against_file(schema, field, tail))
        .or_else(|| against_file(schema, field, &[]))
}

fn both_map_entry_fields(ctx: &CheckContext<'_>, prev: FieldId, cur: FieldId) -> bool {
    let is_entry = |schema: &Schema, field: FieldId| {
        schema
            .containing_message(field)
            .is_some_and(|m| schema.messages[m].is_map_entry)
    };
    is_entry(ctx.previous, prev) && is_entry(ctx.current, cur)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cardinality {
    OptionalExplicit,
    OptionalImplicit,
    Required,
    Repeated,
    Map,
}

impl Cardinality {
    fn of(schema: &Schema, field: FieldId) -> Self {
        let f = &schema.fields[field];
        if f.label == crate::model::label::REPEATED {
            if schema.is_map(field) {
                Cardinality::Map
            } else {
                Cardinality::Repeated
            }
        } else if schema.is_required(field) {
            Cardinality::Required
        } else if schema.has_presence(field) {
            Cardinality::OptionalExplicit
        } else {
            Cardinality::OptionalImplicit
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cardinality::OptionalExplicit => "optional with explicit presence",
            Cardinality::OptionalImplicit => "optional with implicit presence",
            Cardinality::Required => "required",
            Cardinality::Repeated => "repeated",
            Cardinality::Map => "map",
        }
    }

    fn wire_group(self) -> u8 {
        match self {
            Cardinality::OptionalExplicit | Cardinality::OptionalImplicit => 1,
            Cardinality::Required => 2,
            Cardinality::Repeated | Cardinality::Map => 3,
        }
    }

    fn wire_json_group(self) -> u8 {
        match self {
            Cardinality::Map => 4,
            other => other.wire_group(),
        }
    }
}

fn cardinality_rule(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    compatible: impl Fn(Cardinality, Cardinality) -> bool,
) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if both_map_entry_fields(ctx, prev, cur) {
            continue;
        }
        let previous = Cardinality::of(ctx.previous, prev);
        let current = Cardinality::of(ctx.current, cur);
        if !compatible(previous, current) {
            out.push(Finding::new(
                format!(
                    "{} changed cardinality from {} to {}.",
                    field_description(ctx.current, cur),
                    go_quote(previous.name()),
                    go_quote(current.name())
                ),
                field_location(ctx.current, cur),
                against_file(ctx.previous, prev, &[]),
            ));
        }
    }
    Ok(())
}

pub fn same_cardinality(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    cardinality_rule(ctx, out, |a, b| a == b)
}

pub fn wire_compatible_cardinality(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    cardinality_rule(ctx, out, |a, b| a.wire_group() == b.wire_group())
}

pub fn wire_json_compatible_cardinality(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    cardinality_rule(ctx, out, |a, b| a.wire_json_group() == b.wire_json_group())
}

const CTYPE_STRING: i32 = 0;
const CTYPE_CORD: i32 = 1;
const CTYPE_STRING_PIECE: i32 = 2;

/// (string type, is string piece), from `ctype` or `(pb.cpp).string_type`.
fn cpp_string_type(schema: &Schema, field: FieldId) -> (i32, bool) {
    let f = &schema.fields[field];
    let syntax = schema.files[f.file].syntax;
    if syntax.edition() < features::EDITION_2024 {
        match f.ctype {
            Some(CTYPE_CORD) => return (features::cpp_string_type::CORD, false),
            Some(CTYPE_STRING_PIECE) => return (features::cpp_string_type::STRING, true),
            Some(CTYPE_STRING) => return (features::cpp_string_type::STRING, false),
            Some(_) if !matches!(syntax, Syntax::Editions(_)) => {
                return (features::cpp_string_type::STRING, false);
            }
            _ => {}
        }
    }
    (f.features.cpp_string_type, false)
}

fn is_string_or_bytes(schema: &Schema, field: FieldId) -> bool {
    matches!(schema.kind(field), Some(Kind::String | Kind::Bytes))
}

pub fn same_cpp_string_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if both_map_entry_fields(ctx, prev, cur)
            || !is_string_or_bytes(ctx.previous, prev)
            || !is_string_or_bytes(ctx.current, cur)
        {
            continue;
        }
        let (prev_type, prev_piece) = cpp_string_type(ctx.previous, prev);
        let (cur_type, cur_piece) = cpp_string_type(ctx.current, cur);
        let changed = prev_type != cur_type || prev_piece != cur_piece;
        let piece_to_string = prev_piece && cur_type == features::cpp_string_type::STRING;
        if !changed || piece_to_string {
            continue;
        }
        let name = |t: i32, piece: bool| {
            if piece {
                "STRING_PIECE".to_string()
            } else {
                cpp_string_type_name(t)
            }
        };
        let tails: &[&[i32]] = &[&[8, 1], &[8, 21, 1000, 2]];
        out.push(Finding::new(
            format!(
                "{} changed C++ string type from {} to {}.",
                field_description(ctx.current, cur),
                go_quote(&name(prev_type, prev_piece)),
                go_quote(&name(cur_type, cur_piece))
            ),
            location_or_field(ctx.current, cur, tails),
            against_or_field(ctx.previous, prev, tails),
        ));
    }
    Ok(())
}

fn java_utf8_validation(schema: &Schema, field: FieldId) -> i32 {
    let f = &schema.fields[field];
    let file = &schema.files[f.file];
    let default = f.features.utf8_validation;
    if !matches!(file.syntax, Syntax::Editions(_)) || file.options.java_string_check_utf8.is_some()
    {
        return if file.options.java_string_check_utf8.unwrap_or(false) {
            features::utf8::VERIFY
        } else {
            default
        };
    }
    if f.features.java_utf8_validation == features::java_utf8::VERIFY {
        features::utf8::VERIFY
    } else {
        default
    }
}

pub fn same_java_utf8_validation(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if ctx.previous.kind(prev) != Some(Kind::String)
            || ctx.current.kind(cur) != Some(Kind::String)
        {
            continue;
        }
        let previous = java_utf8_validation(ctx.previous, prev);
        let current = java_utf8_validation(ctx.current, cur);
        if previous == current {
            continue;
        }
        let locate = |schema: &Schema, field: FieldId| {
            let file = schema.fields[field].file;
            schema
                .location(file, &[8, 27])
                .or_else(|| location_or_field(schema, field, &[&[8, 21, 1001, 2]]))
        };
        out.push(Finding::new(
            format!(
                "{} changed Java string UTF8 validation from {} to {}.",
                field_description(ctx.current, cur),
                go_quote(&utf8_validation_name(previous)),
                go_quote(&utf8_validation_name(current))
            ),
            locate(ctx.current, cur),
            locate(ctx.previous, prev).map(|l| l.file),
        ));
    }
    Ok(())
}

fn is_64bit_integer(ty: i32) -> bool {
    matches!(
        ty,
        field_type::INT64
            | field_type::SINT64
            | field_type::UINT64
            | field_type::FIXED64
            | field_type::SFIXED64
    )
}

fn jstype_name(value: i32) -> String {
    match value {
        0 => "JS_NORMAL".into(),
        1 => "JS_STRING".into(),
        2 => "JS_NUMBER".into(),
        other => other.to_string(),
    }
}

pub fn same_jstype(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (p, c) = (&ctx.previous.fields[prev], &ctx.current.fields[cur]);
        if !is_64bit_integer(p.ty) || !is_64bit_integer(c.ty) || p.jstype == c.jstype {
            continue;
        }
        out.push(Finding::new(
            format!(
                "{} changed option \"jstype\" from {} to {}.",
                field_description(ctx.current, cur),
                go_quote(&jstype_name(p.jstype)),
                go_quote(&jstype_name(c.jstype))
            ),
            location_or_field(ctx.current, cur, &[&[8, 6]]),
            against_or_field(ctx.previous, prev, &[&[8, 6]]),
        ));
    }
    Ok(())
}

fn pretty_kind(schema: &Schema, field: FieldId, kind: Kind) -> &'static str {
    let syntax = schema.files[schema.fields[field].file].syntax;
    if kind == Kind::Group && syntax != Syntax::Proto2 {
        "message (delimited encoding)"
    } else {
        kind.name()
    }
}

fn type_location(schema: &Schema, field: FieldId, kind: Kind) -> Option<Location> {
    match kind {
        Kind::Message | Kind::Enum | Kind::Group => type_name_location(schema, field),
        _ => location(schema, field, &[5]),
    }
}

/// Where buf reports a changed type name. For a proto2 group, buf (like
/// protoc) reports the `group` keyword, which protox records as the type
/// (path 5) rather than the type name (path 6).
fn type_name_location(schema: &Schema, field: FieldId) -> Option<Location> {
    if schema.fields[field].ty == field_type::GROUP {
        location(schema, field, &[5]).or_else(|| location(schema, field, &[6]))
    } else {
        location(schema, field, &[6])
    }
}

fn changed_type(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    (prev, prev_kind): (FieldId, Kind),
    (cur, cur_kind): (FieldId, Kind),
    extra: &[&str],
) {
    let extra = extra.join(" ");
    let extra = extra.trim();
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" {extra}")
    };
    out.push(Finding::new(
        format!(
            "{} changed type from {} to {}.{extra}",
            field_description(ctx.current, cur),
            go_quote(pretty_kind(ctx.previous, prev, prev_kind)),
            go_quote(pretty_kind(ctx.current, cur, cur_kind))
        ),
        type_location(ctx.current, cur, cur_kind),
        type_location(ctx.previous, prev, prev_kind).map(|l| l.file),
    ));
}

fn changed_type_name(ctx: &CheckContext<'_>, out: &mut Vec<Finding>, prev: FieldId, cur: FieldId) {
    out.push(Finding::new(
        format!(
            "{} changed type from {} to {}.",
            field_description(ctx.current, cur),
            go_quote(ctx.previous.fields[prev].type_name.trim_start_matches('.')),
            go_quote(ctx.current.fields[cur].type_name.trim_start_matches('.'))
        ),
        type_name_location(ctx.current, cur),
        type_name_location(ctx.previous, prev).map(|l| l.file),
    ));
}

fn kinds(
    ctx: &CheckContext<'_>,
    prev: FieldId,
    cur: FieldId,
) -> std::result::Result<(Kind, Kind), CompatError> {
    let kind = |schema: &Schema, field: FieldId| {
        schema.kind(field).ok_or_else(|| CompatError::Rule {
            rule: "FIELD_SAME_TYPE".into(),
            message: format!(
                "unknown field type {} of {}",
                schema.fields[field].ty, schema.fields[field].full_name
            ),
        })
    };
    Ok((kind(ctx.previous, prev)?, kind(ctx.current, cur)?))
}

pub fn same_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (prev_kind, cur_kind) = kinds(ctx, prev, cur)?;
        if prev_kind != cur_kind {
            changed_type(ctx, out, (prev, prev_kind), (cur, cur_kind), &[]);
            continue;
        }
        let c = &ctx.current.fields[cur];
        if matches!(
            c.ty,
            field_type::ENUM | field_type::GROUP | field_type::MESSAGE
        ) && ctx.previous.fields[prev].type_name != c.type_name
        {
            changed_type_name(ctx, out, prev, cur);
        }
    }
    Ok(())
}

fn wire_group(kind: Kind) -> u8 {
    match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool => 1,
        Kind::Sint32 | Kind::Sint64 => 2,
        Kind::String => 3,
        Kind::Bytes => 4,
        Kind::Fixed32 | Kind::Sfixed32 => 5,
        Kind::Fixed64 | Kind::Sfixed64 => 6,
        Kind::Double => 7,
        Kind::Float => 8,
        Kind::Group => 9,
        Kind::Message => 10,
        Kind::Enum => 11,
    }
}

fn wire_json_group(kind: Kind) -> u8 {
    match kind {
        Kind::Int32 | Kind::Uint32 => 1,
        Kind::Int64 | Kind::Uint64 => 2,
        Kind::Fixed32 | Kind::Sfixed32 => 3,
        Kind::Fixed64 | Kind::Sfixed64 => 4,
        Kind::Bool => 5,
        Kind::Sint32 => 6,
        Kind::Sint64 => 7,
        Kind::String => 8,
        Kind::Bytes => 9,
        Kind::Double => 10,
        Kind::Float => 11,
        Kind::Group => 12,
        Kind::Message => 13,
        Kind::Enum => 14,
    }
}

const WIRE_RULES: &str = "See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules.";

/// An enum type change is compatible when the short names match and every
/// previous value exists in the new enum with the same number.
fn enum_wire_compatible(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    prev: FieldId,
    cur: FieldId,
) -> Result {
    let lookup = |schema: &Schema, field: FieldId| {
        let name = schema.fields[field]
            .type_name
            .trim_start_matches('.')
            .to_string();
        schema.enum_by_name(&name).ok_or_else(|| CompatError::Rule {
            rule: "FIELD_WIRE_COMPATIBLE_TYPE".into(),
            message: format!("expected enum {name:?} to exist but was not found"),
        })
    };
    let prev_enum = lookup(ctx.previous, prev)?;
    let cur_enum = lookup(ctx.current, cur)?;
    if ctx.previous.enums[prev_enum].name != ctx.current.enums[cur_enum].name {
        changed_type_name(ctx, out, prev, cur);
        return Ok(());
    }
    let current: Vec<(&str, i32)> = ctx.current.enums[cur_enum]
        .values
        .iter()
        .map(|v| {
            (
                ctx.current.enum_values[*v].name.as_str(),
                ctx.current.enum_values[*v].number,
            )
        })
        .collect();
    let is_subset = ctx.previous.enums[prev_enum].values.iter().all(|v| {
        let value = &ctx.previous.enum_values[*v];
        current
            .iter()
            .find(|(name, _)| *name == value.name)
            .is_some_and(|(_, number)| *number == value.number)
    });
    if !is_subset {
        changed_type_name(ctx, out, prev, cur);
    }
    Ok(())
}

pub fn wire_compatible_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (prev_kind, cur_kind) = kinds(ctx, prev, cur)?;
        if wire_group(prev_kind) != wire_group(cur_kind) {
            match (prev_kind, cur_kind) {
                (Kind::String, Kind::Bytes) => {}
                (Kind::Bytes, Kind::String) => changed_type(
                    ctx,
                    out,
                    (prev, prev_kind),
                    (cur, cur_kind),
                    &[
                        WIRE_RULES,
                        "Note that while string and bytes are compatible if the data is valid UTF-8, there is no way to enforce that a bytes field is UTF-8, so these fields may be incompatible.",
                    ],
                ),
                _ => changed_type(ctx, out, (prev, prev_kind), (cur, cur_kind), &[WIRE_RULES]),
            }
            continue;
        }
        let type_name_changed =
            ctx.previous.fields[prev].type_name != ctx.current.fields[cur].type_name;
        match ctx.current.fields[cur].ty {
            field_type::ENUM if type_name_changed => enum_wire_compatible(ctx, out, prev, cur)?,
            field_type::GROUP | field_type::MESSAGE if type_name_changed => {
                changed_type_name(ctx, out, prev, cur)
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn wire_json_compatible_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (prev_kind, cur_kind) = kinds(ctx, prev, cur)?;
        if wire_json_group(prev_kind) != wire_json_group(cur_kind) {
            changed_type(
                ctx,
                out,
                (prev, prev_kind),
                (cur, cur_kind),
                &[
                    "See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules and https://developers.google.com/protocol-buffers/docs/proto3#json for JSON compatibility rules.",
                ],
            );
            continue;
        }
        let type_name_changed =
            ctx.previous.fields[prev].type_name != ctx.current.fields[cur].type_name;
        match cur_kind {
            Kind::Enum if type_name_changed => enum_wire_compatible(ctx, out, prev, cur)?,
            Kind::Group | Kind::Message if type_name_changed => {
                changed_type_name(ctx, out, prev, cur)
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn same_utf8_validation(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if ctx.previous.kind(prev) != Some(Kind::String)
            || ctx.current.kind(cur) != Some(Kind::String)
        {
            continue;
        }
        let previous = ctx.previous.fields[prev].features.utf8_validation;
        let current = ctx.current.fields[cur].features.utf8_validation;
        if previous == current {
            continue;
        }
        out.push(Finding::new(
            format!(
                "{} changed UTF8 validation from {} to {}.",
                field_description(ctx.current, cur),
                utf8_validation_name(previous),
                utf8_validation_name(current)
            ),
            location_or_field(ctx.current, cur, &[&[8, 21, 4]]),
            against_or_field(ctx.previous, prev, &[&[8, 21, 4]]),
        ));
    }
    Ok(())
}

pub fn same_json_name(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (p, c) = (&ctx.previous.fields[prev], &ctx.current.fields[cur]);
        if p.is_extension() || p.json_name == c.json_name {
            continue;
        }
        out.push(Finding::new(
            format!(
                "{} changed option \"json_name\" from {} to {}.",
                field_description(ctx.current, cur),
                go_quote(&p.json_name),
                go_quote(&c.json_name)
            ),
            location_or_field(ctx.current, cur, &[&[10]]),
            against_or_field(ctx.previous, prev, &[&[10]]),
        ));
    }
    Ok(())
}

pub fn same_name(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        let (p, c) = (&ctx.previous.fields[prev], &ctx.current.fields[cur]);
        let (previous, current) = if p.is_extension() {
            (&p.full_name, &c.full_name)
        } else {
            (&p.name, &c.name)
        };
        if previous == current {
            continue;
        }
        out.push(Finding::new(
            format!(
                "{} changed name from {} to {}.",
                field_description_with_name(ctx.current, cur, ""),
                go_quote(previous),
                go_quote(current)
            ),
            location_or_field(ctx.current, cur, &[&[1]]),
            against_or_field(ctx.previous, prev, &[&[1]]),
        ));
    }
    Ok(())
}

pub fn same_oneof(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if ctx.previous.fields[prev].is_extension() {
            continue;
        }
        let previous = ctx
            .previous
            .real_oneof(prev)
            .map(|o| &ctx.previous.oneofs[o].name);
        let current = ctx
            .current
            .real_oneof(cur)
            .map(|o| &ctx.current.oneofs[o].name);
        let description = field_description(ctx.current, cur);
        let message = match (previous, current) {
            (None, None) => continue,
            (Some(p), Some(c)) if p == c => continue,
            (Some(p), Some(c)) => format!(
                "{description}q moved from oneof {} to oneof {}.",
                go_quote(p),
                go_quote(c)
            ),
            (Some(_), None) => format!("{description} moved from inside to outside a oneof."),
            (None, Some(_)) => format!("{description} moved from outside to inside a oneof."),
        };
        out.push(Finding::new(
            message,
            field_location(ctx.current, cur),
            against_file(ctx.previous, prev, &[]),
        ));
    }
    Ok(())
}
