//! Matching of previous and current elements, shared by the rules: files by
//! path, messages/enums/services by fully-qualified name, methods by name,
//! fields and enum values by number, extensions by extendee and number,
//! packages by name. Every helper returns pairs as `(previous, current)` in
//! a deterministic order.

use std::collections::BTreeMap;

use crate::model::{EnumId, EnumValueId, FieldId, FileId, MessageId, MethodId, Schema, ServiceId};
use crate::rule::CheckContext;

fn pair_maps<K: Ord, V: Copy>(previous: &BTreeMap<K, V>, current: &BTreeMap<K, V>) -> Vec<(V, V)> {
    previous
        .iter()
        .filter_map(|(key, prev)| current.get(key).map(|cur| (*prev, *cur)))
        .collect()
}

/// Files by path.
pub fn files_by_name(schema: &Schema) -> BTreeMap<String, FileId> {
    schema
        .files
        .iter()
        .enumerate()
        .map(|(id, f)| (f.name.clone(), id))
        .collect()
}

/// Files present on both sides.
pub fn files(ctx: &CheckContext<'_>) -> Vec<(FileId, FileId)> {
    pair_maps(&files_by_name(ctx.previous), &files_by_name(ctx.current))
}

/// Messages (nested and map entries included) by fully-qualified name.
pub fn messages_by_name(schema: &Schema) -> BTreeMap<String, MessageId> {
    schema
        .messages
        .iter()
        .enumerate()
        .map(|(id, m)| (m.full_name.clone(), id))
        .collect()
}

/// Messages present on both sides.
pub fn messages(ctx: &CheckContext<'_>) -> Vec<(MessageId, MessageId)> {
    pair_maps(
        &messages_by_name(ctx.previous),
        &messages_by_name(ctx.current),
    )
}

/// Enums by fully-qualified name.
pub fn enums_by_name(schema: &Schema) -> BTreeMap<String, EnumId> {
    schema
        .enums
        .iter()
        .enumerate()
        .map(|(id, e)| (e.full_name.clone(), id))
        .collect()
}

/// Enums present on both sides.
pub fn enums(ctx: &CheckContext<'_>) -> Vec<(EnumId, EnumId)> {
    pair_maps(&enums_by_name(ctx.previous), &enums_by_name(ctx.current))
}

/// Services by fully-qualified name.
pub fn services_by_name(schema: &Schema) -> BTreeMap<String, ServiceId> {
    schema
        .services
        .iter()
        .enumerate()
        .map(|(id, s)| (s.full_name.clone(), id))
        .collect()
}

/// Services present on both sides.
pub fn services(ctx: &CheckContext<'_>) -> Vec<(ServiceId, ServiceId)> {
    pair_maps(
        &services_by_name(ctx.previous),
        &services_by_name(ctx.current),
    )
}

/// Methods of a service by name.
pub fn methods_by_name(schema: &Schema, service: ServiceId) -> BTreeMap<String, MethodId> {
    schema.services[service]
        .methods
        .iter()
        .map(|id| (schema.methods[*id].name.clone(), *id))
        .collect()
}

/// Methods present on both sides, within services present on both sides.
pub fn methods(ctx: &CheckContext<'_>) -> Vec<(MethodId, MethodId)> {
    services(ctx)
        .into_iter()
        .flat_map(|(prev, cur)| {
            pair_maps(
                &methods_by_name(ctx.previous, prev),
                &methods_by_name(ctx.current, cur),
            )
        })
        .collect()
}

/// Fields of a message by number.
pub fn fields_by_number(schema: &Schema, message: MessageId) -> BTreeMap<i32, FieldId> {
    schema.messages[message]
        .fields
        .iter()
        .map(|id| (schema.fields[*id].number, *id))
        .collect()
}

/// Extensions by extendee, then number.
pub fn extensions_by_extendee(schema: &Schema) -> BTreeMap<String, BTreeMap<i32, FieldId>> {
    let mut out: BTreeMap<String, BTreeMap<i32, FieldId>> = BTreeMap::new();
    for (id, field) in schema.fields.iter().enumerate() {
        if field.is_extension() {
            out.entry(field.extendee.clone())
                .or_default()
                .insert(field.number, id);
        }
    }
    out
}

/// Fields present on both sides: message fields by number within messages
/// present on both sides, then extensions by extendee and number.
pub fn fields(ctx: &CheckContext<'_>) -> Vec<(FieldId, FieldId)> {
    let mut out: Vec<(FieldId, FieldId)> = messages(ctx)
        .into_iter()
        .flat_map(|(prev, cur)| {
            pair_maps(
                &fields_by_number(ctx.previous, prev),
                &fields_by_number(ctx.current, cur),
            )
        })
        .collect();
    let previous = extensions_by_extendee(ctx.previous);
    let current = extensions_by_extendee(ctx.current);
    for (extendee, prev_fields) in &previous {
        if let Some(cur_fields) = current.get(extendee) {
            out.extend(pair_maps(prev_fields, cur_fields));
        }
    }
    out
}

/// Values of an enum by number, then name (aliases share a number).
pub fn values_by_number(
    schema: &Schema,
    id: EnumId,
) -> BTreeMap<i32, BTreeMap<String, EnumValueId>> {
    let mut out: BTreeMap<i32, BTreeMap<String, EnumValueId>> = BTreeMap::new();
    for value_id in &schema.enums[id].values {
        let value = &schema.enum_values[*value_id];
        out.entry(value.number)
            .or_default()
            .insert(value.name.clone(), *value_id);
    }
    out
}

/// Enum values present on both sides by number, as (name → value) maps,
/// within enums present on both sides.
pub fn enum_values(
    ctx: &CheckContext<'_>,
) -> Vec<(BTreeMap<String, EnumValueId>, BTreeMap<String, EnumValueId>)> {
    let mut out = Vec::new();
    for (prev, cur) in enums(ctx) {
        let previous = values_by_number(ctx.previous, prev);
        let mut current = values_by_number(ctx.current, cur);
        for (number, prev_values) in previous {
            if let Some(cur_values) = current.remove(&number) {
                out.push((prev_values, cur_values));
            }
        }
    }
    out
}

/// Files by package, each list sorted by path.
pub fn files_by_package(schema: &Schema) -> BTreeMap<String, Vec<FileId>> {
    let mut out: BTreeMap<String, Vec<FileId>> = BTreeMap::new();
    for (id, file) in schema.files.iter().enumerate() {
        out.entry(file.package.clone()).or_default().push(id);
    }
    for files in out.values_mut() {
        files.sort_by(|a, b| schema.files[*a].name.cmp(&schema.files[*b].name));
    }
    out
}

/// Packages present on both sides.
pub fn packages(ctx: &CheckContext<'_>) -> Vec<String> {
    let current = files_by_package(ctx.current);
    files_by_package(ctx.previous)
        .into_keys()
        .filter(|p| current.contains_key(p))
        .collect()
}
