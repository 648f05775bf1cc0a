//! Rules on messages, enums, enum values, services and methods.

use super::{against, go_quote, join_quoted, with};
use crate::error::CompatError;
use crate::features::{json_format, json_format_name};
use crate::model::{EnumId, MessageId, MethodId, Schema, label};
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::{Finding, Location};

type Result = std::result::Result<(), CompatError>;

fn enum_location(schema: &Schema, id: EnumId, tail: &[i32]) -> Option<Location> {
    let e = &schema.enums[id];
    schema
        .location(e.file, &with(&e.path, tail))
        .or_else(|| schema.location(e.file, &e.path))
}

fn message_location(schema: &Schema, id: MessageId, tail: &[i32]) -> Option<Location> {
    let m = &schema.messages[id];
    schema
        .location(m.file, &with(&m.path, tail))
        .or_else(|| schema.location(m.file, &m.path))
}

fn method_location(schema: &Schema, id: MethodId, tail: &[i32]) -> Option<Location> {
    let m = &schema.methods[id];
    schema.location(schema.services[m.service].file, &with(&m.path, tail))
}

pub fn enum_same_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::enums(ctx) {
        let was_closed = ctx.previous.enum_is_closed(prev);
        let is_closed = ctx.current.enum_is_closed(cur);
        if was_closed == is_closed {
            continue;
        }
        let (from, to) = if is_closed {
            ("open", "closed")
        } else {
            ("closed", "open")
        };
        out.push(Finding::new(
            format!(
                "Enum {} changed from {from} to {to}.",
                go_quote(&ctx.current.enums[cur].name)
            ),
            enum_location(ctx.current, cur, &[3, 7, 2]),
            enum_location(ctx.previous, prev, &[3, 7, 2]).map(|l| l.file),
        ));
    }
    Ok(())
}

pub fn enum_same_json_format(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::enums(ctx) {
        let previous = ctx.previous.enums[prev].features.json_format;
        let current = ctx.current.enums[cur].features.json_format;
        if previous != json_format::ALLOW || current == json_format::ALLOW {
            continue;
        }
        out.push(Finding::new(
            format!(
                "Enum {} JSON format support changed from {} to {}.",
                go_quote(&ctx.current.enums[cur].name),
                json_format_name(previous),
                json_format_name(current)
            ),
            enum_location(ctx.current, cur, &[3, 7, 6]),
            enum_location(ctx.previous, prev, &[3, 7, 6]).map(|l| l.file),
        ));
    }
    Ok(())
}

pub fn message_same_json_format(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        let previous = ctx.previous.messages[prev].features.json_format;
        let current = ctx.current.messages[cur].features.json_format;
        if previous != json_format::ALLOW || current == json_format::ALLOW {
            continue;
        }
        out.push(Finding::new(
            format!(
                "Message {} JSON format support changed from {} to {}.",
                go_quote(&ctx.current.messages[cur].name),
                json_format_name(previous),
                json_format_name(current)
            ),
            message_location(ctx.current, cur, &[7, 12, 6]),
            message_location(ctx.previous, prev, &[7, 12, 6]).map(|l| l.file),
        ));
    }
    Ok(())
}

pub fn enum_value_same_name(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (previous, current) in pairs::enum_values(ctx) {
        let previous_names: Vec<&String> = previous.keys().collect();
        let current_names: Vec<&String> = current.keys().collect();
        if previous_names.iter().all(|n| current.contains_key(*n)) {
            continue;
        }
        let suffix = if previous_names.len() > 1 && current_names.len() > 1 {
            "s"
        } else {
            ""
        };
        for (name, value_id) in &current {
            let value = &ctx.current.enum_values[*value_id];
            let e = &ctx.current.enums[value.enum_id];
            let against_file = previous.get(name).and_then(|prev_id| {
                let prev_value = &ctx.previous.enum_values[*prev_id];
                let prev_enum = &ctx.previous.enums[prev_value.enum_id];
                against(ctx.previous, prev_enum.file, &with(&prev_value.path, &[2]))
            });
            out.push(Finding::new(
                format!(
                    "Enum value \"{}\" on enum {} changed name{suffix} from {} to {}.",
                    value.number,
                    go_quote(&e.name),
                    join_quoted(&previous_names),
                    join_quoted(&current_names)
                ),
                ctx.current.location(e.file, &with(&value.path, &[2])),
                against_file,
            ));
        }
    }
    Ok(())
}

pub fn message_no_remove_standard_descriptor_accessor(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
) -> Result {
    for (prev, cur) in pairs::messages(ctx) {
        if ctx.previous.messages[prev].no_standard_descriptor_accessor
            || !ctx.current.messages[cur].no_standard_descriptor_accessor
        {
            continue;
        }
        let m = &ctx.current.messages[cur];
        let p = &ctx.previous.messages[prev];
        out.push(Finding::new(
            "Message option \"no_standard_descriptor_accessor\" changed from \"false\" to \"true\".",
            ctx.current.location(m.file, &with(&m.path, &[7, 2])),
            against(ctx.previous, p.file, &with(&p.path, &[7, 2])),
        ));
    }
    Ok(())
}

fn required_numbers(schema: &Schema, id: MessageId) -> std::collections::BTreeMap<i32, usize> {
    schema.messages[id]
        .fields
        .iter()
        .filter(|f| schema.fields[**f].label == label::REQUIRED)
        .map(|f| (schema.fields[*f].number, *f))
        .collect()
}

pub fn message_same_required_fields(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    const WHY: &str = "Required fields must always be sent, so if one side does not know about the required field, this will result in a breakage.";
    for (prev, cur) in pairs::messages(ctx) {
        let previous = required_numbers(ctx.previous, prev);
        let current = required_numbers(ctx.current, cur);
        let m = &ctx.current.messages[cur];
        let p = &ctx.previous.messages[prev];
        for number in previous.keys().filter(|n| !current.contains_key(n)) {
            out.push(Finding::new(
                format!(
                    "Message {} had required field \"{number}\" deleted. {WHY}",
                    go_quote(&p.name)
                ),
                ctx.current.location(m.file, &m.path),
                against(ctx.previous, p.file, &p.path),
            ));
        }
        for (number, field) in current.iter().filter(|(n, _)| !previous.contains_key(n)) {
            let f = &ctx.current.fields[*field];
            out.push(Finding::new(
                format!(
                    "Message {} had required field \"{number}\" added. {WHY}",
                    go_quote(&m.name)
                ),
                ctx.current.location(f.file, &f.path),
                None,
            ));
        }
    }
    Ok(())
}

fn streaming(is: bool) -> &'static str {
    if is { "streaming" } else { "unary" }
}

fn method_names(schema: &Schema, id: MethodId) -> (String, String) {
    let m = &schema.methods[id];
    (
        go_quote(&m.name),
        go_quote(&schema.services[m.service].name),
    )
}

fn method_against(schema: &Schema, id: MethodId, tail: &[i32]) -> Option<String> {
    method_location(schema, id, tail).map(|l| l.file)
}

pub fn rpc_same_client_streaming(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::methods(ctx) {
        let (was, is) = (
            ctx.previous.methods[prev].client_streaming,
            ctx.current.methods[cur].client_streaming,
        );
        if was == is {
            continue;
        }
        let (method, service) = method_names(ctx.current, cur);
        out.push(Finding::new(
            format!(
                "RPC {method} on service {service} changed from client {} to client {}.",
                streaming(was),
                streaming(is)
            ),
            method_location(ctx.current, cur, &[]),
            method_against(ctx.previous, prev, &[]),
        ));
    }
    Ok(())
}

pub fn rpc_same_server_streaming(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::methods(ctx) {
        let (was, is) = (
            ctx.previous.methods[prev].server_streaming,
            ctx.current.methods[cur].server_streaming,
        );
        if was == is {
            continue;
        }
        let (method, service) = method_names(ctx.current, cur);
        out.push(Finding::new(
            format!(
                "RPC {method} on service {service} changed from server {} to server {}.",
                streaming(was),
                streaming(is)
            ),
            method_location(ctx.current, cur, &[]),
            method_against(ctx.previous, prev, &[]),
        ));
    }
    Ok(())
}

fn idempotency_name(value: i32) -> String {
    match value {
        0 => "IDEMPOTENCY_UNKNOWN".into(),
        1 => "NO_SIDE_EFFECTS".into(),
        2 => "IDEMPOTENT".into(),
        other => other.to_string(),
    }
}

pub fn rpc_same_idempotency_level(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::methods(ctx) {
        let (was, is) = (
            ctx.previous.methods[prev].idempotency_level,
            ctx.current.methods[cur].idempotency_level,
        );
        if was == is {
            continue;
        }
        let (method, service) = method_names(ctx.current, cur);
        let cur_file = ctx.current.services[ctx.current.methods[cur].service].file;
        let prev_file = ctx.previous.services[ctx.previous.methods[prev].service].file;
        out.push(Finding::new(
            format!(
                "RPC {method} on service {service} changed option \"idempotency_level\" from {} to {}.",
                go_quote(&idempotency_name(was)),
                go_quote(&idempotency_name(is))
            ),
            Some(method_location(ctx.current, cur, &[4, 34]).unwrap_or_else(|| ctx.current.file_location(cur_file))),
            Some(ctx.previous.files[prev_file].name.clone()),
        ));
    }
    Ok(())
}

fn rpc_same_type(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    what: &str,
    tail: i32,
    get: fn(&crate::model::Method) -> &String,
) {
    for (prev, cur) in pairs::methods(ctx) {
        let (was, is) = (
            get(&ctx.previous.methods[prev]),
            get(&ctx.current.methods[cur]),
        );
        if was == is {
            continue;
        }
        let (method, service) = method_names(ctx.current, cur);
        out.push(Finding::new(
            format!(
                "RPC {method} on service {service} changed {what} type from {} to {}.",
                go_quote(was.trim_start_matches('.')),
                go_quote(is.trim_start_matches('.'))
            ),
            method_location(ctx.current, cur, &[tail]),
            method_against(ctx.previous, prev, &[tail]),
        ));
    }
}

pub fn rpc_same_request_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    rpc_same_type(ctx, out, "request", 2, |m| &m.input_type);
    Ok(())
}

pub fn rpc_same_response_type(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    rpc_same_type(ctx, out, "response", 3, |m| &m.output_type);
    Ok(())
}
