//! proto2 default values: parsing `default_value` and the `Default_*`
//! declarations (`genMessageDefaultDecls`).

use super::*;

pub(crate) fn parse_default(plugin: &Plugin, field: &Field) -> Option<Default> {
    let raw = field.proto.default_value.as_deref()?;
    Some(match field.kind() {
        Type::Bool => Default::Bool(raw == "true"),
        Type::Int32
        | Type::Sint32
        | Type::Sfixed32
        | Type::Int64
        | Type::Sint64
        | Type::Sfixed64 => Default::Int(raw.parse().ok()?),
        Type::Uint32 | Type::Fixed32 | Type::Uint64 | Type::Fixed64 => {
            Default::Uint(raw.parse().ok()?)
        }
        Type::Float => Default::Float(parse_float(raw, 32)?),
        Type::Double => Default::Float(parse_float(raw, 64)?),
        Type::String => Default::String(raw.to_string()),
        Type::Bytes => Default::Bytes(unescape_c_bytes(raw)?),
        Type::Enum => {
            let e = &plugin.enums[field.enum_type?];
            e.values.iter().find(|v| v.proto.name() == raw)?;
            Default::Enum(raw.to_string())
        }
        Type::Message | Type::Group => return None,
    })
}

/// `genMessageDefaultDecls`.
pub(crate) fn gen_message_default_decls(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    let mut consts: Vec<(String, String, String)> = Vec::new();
    let mut vars: Vec<(String, String)> = Vec::new();
    for field in &m.fields {
        if !field.has_default() {
            continue;
        }
        let Some(default) = parse_default(f.plugin, field) else {
            continue;
        };
        let name = format!("Default_{}_{}", m.go_ident.name, field.go_name);
        let (go_type, _) = field_go_type(g, f, field);
        match &default {
            Default::String(s) => {
                consts.push((name, format!("{go_type}({})", go_quote(s)), String::new()))
            }
            Default::Bytes(b) => vars.push((name, format!("{go_type}({})", go_quote_bytes(b)))),
            Default::Enum(value_name) => {
                let e = &f.plugin.enums[field.enum_type.unwrap_or_default()];
                let Some(value) = e.values.iter().find(|v| v.proto.name() == value_name) else {
                    continue;
                };
                if value.go_ident.import_path == f.file.go_import_path {
                    consts.push((name, g.qualified(&value.go_ident), String::new()));
                } else {
                    let enum_name = g.qualified(&e.go_ident);
                    let value_ident = g.qualified(&value.go_ident);
                    consts.push((
                        name,
                        format!("{enum_name}({})", value.proto.number()),
                        format!("// {value_ident}"),
                    ));
                }
            }
            Default::Float(v) if v.is_nan() || v.is_infinite() => {
                let (function, arg) = if v.is_nan() {
                    ("NaN", "")
                } else if *v > 0.0 {
                    ("Inf", "+1")
                } else {
                    ("Inf", "-1")
                };
                let function = g.ident(MATH, function);
                vars.push((name, format!("{go_type}({function}({arg}))")));
            }
            Default::Float(v) => consts.push((
                name,
                format!("{go_type}({})", format_float_g(*v, 64)),
                String::new(),
            )),
            Default::Bool(b) => consts.push((name, format!("{go_type}({b})"), String::new())),
            Default::Int(i) => consts.push((name, format!("{go_type}({i})"), String::new())),
            Default::Uint(u) => consts.push((name, format!("{go_type}({u})"), String::new())),
        }
    }
    let message_name = g.qualified(&m.go_ident);
    if !consts.is_empty() {
        write_default_block(g, "const", &message_name, consts);
    }
    if !vars.is_empty() {
        // gofmt separates the const and var declarations with a blank line.
        g.w.blank();
        let rows = vars
            .into_iter()
            .map(|(n, v)| (n, v, String::new()))
            .collect();
        write_default_block(g, "var", &message_name, rows);
    }
    g.w.blank();
}

/// A `const (...)`/`var (...)` block of `Name = value` specs.
pub(crate) fn write_default_block(
    g: &mut GoFile,
    keyword: &str,
    message: &str,
    rows: Vec<(String, String, String)>,
) {
    g.w.doc_comment(&format!("// Default values for {message} fields.\n"));
    g.w.open(format!("{keyword} ("));
    let single = rows.len() == 1;
    for (name, value, comment) in rows {
        if single {
            g.w.line_with_comment(format!("{name} = {value}"), &comment);
        } else if comment.is_empty() {
            g.w.row(Row {
                cells: vec![Cell::soft(name)],
                last: format!("= {value}"),
            });
        } else {
            // valueSpec pads a line comment with two more soft tabs when
            // there is no type column.
            g.w.row(Row {
                cells: vec![
                    Cell::soft(name),
                    Cell::soft(format!("= {value}")),
                    Cell::soft(""),
                ],
                last: comment,
            });
        }
    }
    g.w.close(")");
}
