//! Rules that forbid deleting elements.

use std::collections::BTreeMap;

use super::{against, deleted_element_location, field_description, go_quote, join_quoted};
use crate::error::CompatError;
use crate::model::{EnumId, MessageId, Schema};
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::Finding;

type Result = std::result::Result<(), CompatError>;

/// Elements of one kind in a file, by nested name, for each file pair.
fn deleted_from_file(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    kind: &str,
    index: impl Fn(&Schema, usize) -> BTreeMap<String, usize>,
) {
    for (prev_file, cur_file) in pairs::files(ctx) {
        let current = index(ctx.current, cur_file);
        for nested_name in index(ctx.previous, prev_file).keys() {
            if current.contains_key(nested_name) {
                continue;
            }
            out.push(Finding::new(
                format!(
                    "Previously present {kind} {} was deleted from file.",
                    go_quote(nested_name)
                ),
                Some(deleted_element_location(ctx.current, cur_file, nested_name)),
                Some(ctx.previous.files[prev_file].name.clone()),
            ));
        }
    }
}

pub fn enum_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_file(ctx, out, "enum", Schema::file_enums);
    Ok(())
}

pub fn extension_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_file(ctx, out, "extension", Schema::file_extensions);
    Ok(())
}

pub fn message_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_file(ctx, out, "message", Schema::file_messages);
    Ok(())
}

pub fn file_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    let current = pairs::files_by_name(ctx.current);
    for name in pairs::files_by_name(ctx.previous).keys() {
        if !current.contains_key(name) {
            out.push(Finding::new(
                format!("Previously present file {} was deleted.", go_quote(name)),
                None,
                Some(name.clone()),
            ));
        }
    }
    Ok(())
}

pub fn service_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev_file, cur_file) in pairs::files(ctx) {
        let current = ctx.current.file_services(cur_file);
        for name in ctx.previous.file_services(prev_file).keys() {
            if !current.contains_key(name) {
                out.push(Finding::new(
                    format!(
                        "Previously present service {} was deleted from file.",
                        go_quote(name)
                    ),
                    Some(ctx.current.file_location(cur_file)),
                    Some(ctx.previous.files[prev_file].name.clone()),
                ));
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unless {
    Never,
    NumberReserved,
    NameReserved,
}

fn in_ranges(number: i32, ranges: &[(i32, i32)]) -> bool {
    ranges
        .iter()
        .any(|(start, end)| *start <= number && number <= *end)
}

fn enum_value_deleted(ctx: &CheckContext<'_>, out: &mut Vec<Finding>, unless: Unless) -> Result {
    for (prev, cur) in pairs::enums(ctx) {
        let current = pairs::values_by_number(ctx.current, cur);
        let cur_enum = &ctx.current.enums[cur];
        for (number, names) in pairs::values_by_number(ctx.previous, prev) {
            if current.contains_key(&number) {
                continue;
            }
            let names: Vec<&String> = names.keys().collect();
            let suffix = match unless {
                Unless::Never => String::new(),
                Unless::NumberReserved if in_ranges(number, &cur_enum.reserved_ranges) => continue,
                Unless::NumberReserved => format!(" without reserving the number \"{number}\""),
                Unless::NameReserved
                    if names.iter().all(|n| cur_enum.reserved_names.contains(n)) =>
                {
                    continue;
                }
                Unless::NameReserved => format!(
                    " without reserving the name{} {}",
                    if names.len() > 1 { "s" } else { "" },
                    join_quoted(&names)
                ),
            };
            out.push(Finding::new(
                format!(
                    "Previously present enum value \"{number}\" on enum {} was deleted{suffix}.",
                    go_quote(&cur_enum.name)
                ),
                ctx.current.location(cur_enum.file, &cur_enum.path),
                enum_against(ctx.previous, prev),
            ));
        }
    }
    Ok(())
}

fn enum_against(schema: &Schema, id: EnumId) -> Option<String> {
    against(schema, schema.enums[id].file, &schema.enums[id].path)
}

fn message_against(schema: &Schema, id: MessageId) -> Option<String> {
    against(schema, schema.messages[id].file, &schema.messages[id].path)
}

pub fn enum_value_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    enum_value_deleted(ctx, out, Unless::Never)
}

pub fn enum_value_no_delete_unless_number_reserved(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
) -> Result {
    enum_value_deleted(ctx, out, Unless::NumberReserved)
}

pub fn enum_value_no_delete_unless_name_reserved(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
) -> Result {
    enum_value_deleted(ctx, out, Unless::NameReserved)
}

fn field_deleted(ctx: &CheckContext<'_>, out: &mut Vec<Finding>, unless: Unless) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        let current = pairs::fields_by_number(ctx.current, cur);
        let message = &ctx.current.messages[cur];
        for (number, prev_field) in pairs::fields_by_number(ctx.previous, prev) {
            if current.contains_key(&number) {
                continue;
            }
            let name = &ctx.previous.fields[prev_field].name;
            let suffix = match unless {
                Unless::Never => String::new(),
                Unless::NumberReserved if in_ranges(number, &message.reserved_ranges) => continue,
                Unless::NumberReserved => format!(" without reserving the number \"{number}\""),
                Unless::NameReserved if message.reserved_names.contains(name) => continue,
                Unless::NameReserved => format!(" without reserving the name {}", go_quote(name)),
            };
            let description = field_description(ctx.previous, prev_field);
            let mut chars = description.chars();
            let description = match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect::<String>(),
                None => description,
            };
            out.push(Finding::new(
                format!("Previously present {description} was deleted{suffix}."),
                ctx.current.location(message.file, &message.path),
                message_against(ctx.previous, prev),
            ));
        }
    }
    Ok(())
}

pub fn field_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    field_deleted(ctx, out, Unless::Never)
}

pub fn field_no_delete_unless_number_reserved(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
) -> Result {
    field_deleted(ctx, out, Unless::NumberReserved)
}

pub fn field_no_delete_unless_name_reserved(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
) -> Result {
    field_deleted(ctx, out, Unless::NameReserved)
}

pub fn oneof_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        let message = &ctx.current.messages[cur];
        let current: Vec<&str> = message
            .oneofs
            .iter()
            .map(|o| ctx.current.oneofs[*o].name.as_str())
            .collect();
        let mut previous: Vec<_> = ctx.previous.messages[prev]
            .oneofs
            .iter()
            .map(|o| &ctx.previous.oneofs[*o])
            .collect();
        previous.sort_by(|a, b| a.name.cmp(&b.name));
        for oneof in previous {
            if oneof.synthetic || current.contains(&oneof.name.as_str()) {
                continue;
            }
            out.push(Finding::new(
                format!(
                    "Previously present oneof {} on message {} was deleted.",
                    go_quote(&oneof.name),
                    go_quote(&message.name)
                ),
                ctx.current.location(message.file, &message.path),
                message_against(ctx.previous, prev),
            ));
        }
    }
    Ok(())
}

pub fn rpc_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::services(ctx) {
        let current = pairs::methods_by_name(ctx.current, cur);
        let service = &ctx.current.services[cur];
        let prev_service = &ctx.previous.services[prev];
        for name in pairs::methods_by_name(ctx.previous, prev).keys() {
            if current.contains_key(name) {
                continue;
            }
            out.push(Finding::new(
                format!(
                    "Previously present RPC {} on service {} was deleted.",
                    go_quote(name),
                    go_quote(&service.name)
                ),
                ctx.current.location(service.file, &service.path),
                against(ctx.previous, prev_service.file, &prev_service.path),
            ));
        }
    }
    Ok(())
}

/// Ranges of `previous` whose numbers are not all covered by `current`.
fn check_tag_ranges(
    range_kind: &str,
    element_kind: &str,
    element_name: &str,
    max_tag: i32,
    previous_max: i32,
    previous: &[(i32, i32)],
    current: &[(i32, i32)],
) -> Vec<String> {
    let collapsed = collapse_ranges(current);
    let mut messages = Vec::new();
    for (start, end) in previous {
        let missing = find_missing(*start, *end, &collapsed);
        if missing.is_empty() {
            continue;
        }
        let previous_string = if start == end {
            format!("[{start}]")
        } else if *end == previous_max {
            format!("[{start},max]")
        } else {
            format!("[{start},{end}]")
        };
        let removed: Vec<String> = missing
            .iter()
            .map(|(s, e)| {
                if s == e {
                    format!("[{s}]")
                } else if *e == max_tag {
                    format!("[{s},max]")
                } else {
                    format!("[{s},{e}]")
                }
            })
            .collect();
        messages.push(format!(
            "Previously present {range_kind} range {} on {element_kind} {} is missing values: {} were removed.",
            go_quote(&previous_string),
            go_quote(element_name),
            removed.join(", ")
        ));
    }
    messages
}

fn collapse_ranges(ranges: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let mut sorted: Vec<(i64, i64)> = ranges
        .iter()
        .map(|(s, e)| (i64::from(*s), i64::from(*e)))
        .collect();
    sorted.sort();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (start, end) in sorted {
        match out.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out.into_iter().map(|(s, e)| (s as i32, e as i32)).collect()
}

fn find_missing(start: i32, end: i32, collapsed: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let (start, end) = (i64::from(start), i64::from(end));
    let mut missing = Vec::new();
    let mut cursor = start;
    for (s, e) in collapsed
        .iter()
        .map(|(s, e)| (i64::from(*s), i64::from(*e)))
    {
        if e < cursor {
            continue;
        }
        if s > end {
            break;
        }
        if s > cursor {
            missing.push((cursor, s - 1));
        }
        cursor = e + 1;
        if cursor > end {
            break;
        }
    }
    if cursor <= end {
        missing.push((cursor, end));
    }
    missing
        .into_iter()
        .map(|(s, e)| (s as i32, e as i32))
        .collect()
}

const MESSAGE_MAX: i32 = 536_870_911;
const MESSAGE_SET_MAX: i32 = 2_147_483_646;
const ENUM_MAX: i32 = i32::MAX;

fn message_max(schema: &Schema, id: MessageId) -> i32 {
    if schema.messages[id].message_set_wire_format {
        MESSAGE_SET_MAX
    } else {
        MESSAGE_MAX
    }
}

pub fn extension_message_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        let message = &ctx.current.messages[cur];
        for text in check_tag_ranges(
            "extension",
            "message",
            &message.name,
            message_max(ctx.current, cur),
            message_max(ctx.previous, prev),
            &ctx.previous.messages[prev].extension_ranges,
            &message.extension_ranges,
        ) {
            out.push(Finding::new(
                text,
                ctx.current.location(message.file, &message.path),
                message_against(ctx.previous, prev),
            ));
        }
    }
    Ok(())
}

fn deleted_reserved_names<'a>(previous: &'a [String], current: &[String]) -> Vec<&'a String> {
    let mut names: Vec<&String> = previous.iter().filter(|n| !current.contains(n)).collect();
    names.sort();
    names.dedup();
    names
}

pub fn reserved_message_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        let message = &ctx.current.messages[cur];
        let prev_message = &ctx.previous.messages[prev];
        let location = ctx.current.location(message.file, &message.path);
        let against_file = message_against(ctx.previous, prev);
        for text in check_tag_ranges(
            "reserved",
            "message",
            &message.name,
            message_max(ctx.current, cur),
            message_max(ctx.previous, prev),
            &prev_message.reserved_ranges,
            &message.reserved_ranges,
        ) {
            out.push(Finding::new(text, location.clone(), against_file.clone()));
        }
        for name in deleted_reserved_names(&prev_message.reserved_names, &message.reserved_names) {
            out.push(Finding::new(
                format!(
                    "Previously present reserved name {} on message {} was deleted.",
                    go_quote(name),
                    go_quote(&message.name)
                ),
                location.clone(),
                against_file.clone(),
            ));
        }
    }
    Ok(())
}

pub fn reserved_enum_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::enums(ctx) {
        let e = &ctx.current.enums[cur];
        let prev_enum = &ctx.previous.enums[prev];
        let location = ctx.current.location(e.file, &e.path);
        let against_file = enum_against(ctx.previous, prev);
        for text in check_tag_ranges(
            "reserved",
            "enum",
            &e.name,
            ENUM_MAX,
            ENUM_MAX,
            &prev_enum.reserved_ranges,
            &e.reserved_ranges,
        ) {
            out.push(Finding::new(text, location.clone(), against_file.clone()));
        }
        for name in deleted_reserved_names(&prev_enum.reserved_names, &e.reserved_names) {
            out.push(Finding::new(
                format!(
                    "Previously present reserved name {} on enum {} was deleted.",
                    go_quote(name),
                    go_quote(&e.name)
                ),
                location.clone(),
                against_file.clone(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ranges_are_the_uncovered_parts() {
        let collapsed = collapse_ranges(&[(5, 6), (1, 2), (3, 3), (4, 4)]);
        assert_eq!(collapsed, vec![(1, 6)]);
        assert_eq!(collapse_ranges(&[(5, 6), (1, 3)]), vec![(1, 3), (5, 6)]);
        assert_eq!(find_missing(1, 10, &collapsed), vec![(7, 10)]);
        assert_eq!(
            find_missing(1, 10, &[(3, 4), (7, 8)]),
            vec![(1, 2), (5, 6), (9, 10)]
        );
        assert!(find_missing(3, 4, &[(1, 10)]).is_empty());
        assert_eq!(find_missing(1, 3, &[]), vec![(1, 3)]);
    }
}
