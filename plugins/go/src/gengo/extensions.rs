//! Extension declarations (`genExtensions`).

use super::*;

pub(crate) fn gen_extensions(g: &mut GoFile, f: &FileInfo<'_>) {
    if f.all_extensions.is_empty() {
        return;
    }
    let extension_info = g.ident(PROTOIMPL, "ExtensionInfo");
    let ext_types = f.var_name("extTypes");
    g.w.open(format!("var {ext_types} = []{extension_info}{{"));
    for x in &f.all_extensions {
        let extendee = g.qualified(&f.message(x.extendee.unwrap_or_default()).go_ident);
        let (mut go_type, pointer) = field_go_type(g, f, x);
        if pointer {
            go_type = format!("*{go_type}");
        }
        g.w.open("{");
        let pairs = [
            ("ExtendedType:", format!("(*{extendee})(nil),")),
            ("ExtensionType:", format!("({go_type})(nil),")),
            ("Field:", format!("{},", x.proto.number())),
            ("Name:", format!("{},", go_quote(&x.full_name))),
            (
                "Tag:",
                format!("{},", go_quote(&field_protobuf_tag_value(f.plugin, x))),
            ),
            ("Filename:", format!("{},", go_quote(f.file.proto.name()))),
        ];
        let elements = pairs
            .into_iter()
            .map(|(key, value)| ListElement::Pair {
                key: key.into(),
                value,
                gap_before: false,
            })
            .collect();
        write_key_value_list(g, elements);
        g.w.close("},");
    }
    g.w.close("}");
    g.w.blank();

    // Grouped by extended message, in order of first appearance.
    let mut targets: Vec<MessageId> = Vec::new();
    for x in &f.all_extensions {
        let target = x.extendee.unwrap_or_default();
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    for target in targets {
        let target_name = g.qualified(&f.message(target).go_ident);
        g.w.doc_comment(&format!("// Extension fields to {target_name}.\n"));
        g.w.open("var (");
        let members: Vec<(usize, &&Field)> = f
            .all_extensions
            .iter()
            .enumerate()
            .filter(|(_, x)| x.extendee == Some(target))
            .collect();
        let single = members.len() == 1;
        for (index, x) in members {
            let mut leading = x.comments.leading.clone();
            if !leading.is_empty() {
                leading.push('\n');
            }
            leading.push_str(&format!(
                " {} {} {} = {};\n",
                cardinality(x),
                extension_type_name(f, x),
                x.proto.name(),
                x.proto.number()
            ));
            let leading = append_deprecation(leading, x.is_deprecated());
            g.w.doc_comment(&comment_text(&leading));
            let trailing = trailing_comment(&x.comments.trailing);
            let name = format!("E_{}", x.go_ident.name);
            let value = format!("&{ext_types}[{index}]");
            if single {
                g.w.line_with_comment(format!("{name} = {value}"), &trailing);
            } else if trailing.is_empty() {
                g.w.row(Row {
                    cells: vec![Cell::soft(name)],
                    last: format!("= {value}"),
                });
            } else {
                g.w.row(Row {
                    cells: vec![
                        Cell::soft(name),
                        Cell::soft(format!("= {value}")),
                        Cell::soft(""),
                    ],
                    last: trailing,
                });
            }
        }
        g.w.close(")");
        g.w.blank();
    }
}

pub(crate) fn cardinality(field: &Field) -> &'static str {
    match field.proto.label() {
        Label::Optional => "optional",
        Label::Required => "required",
        Label::Repeated => "repeated",
    }
}

/// `Kind.String()`, or the full name of an enum or message type.
pub(crate) fn extension_type_name(f: &FileInfo<'_>, field: &Field) -> String {
    match field.kind() {
        Type::Enum => f.plugin.enums[field.enum_type.unwrap_or_default()]
            .full_name
            .clone(),
        Type::Message | Type::Group => f
            .message(field.message_type.unwrap_or_default())
            .full_name
            .clone(),
        Type::Double => "double".into(),
        Type::Float => "float".into(),
        Type::Int64 => "int64".into(),
        Type::Uint64 => "uint64".into(),
        Type::Int32 => "int32".into(),
        Type::Fixed64 => "fixed64".into(),
        Type::Fixed32 => "fixed32".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Bytes => "bytes".into(),
        Type::Uint32 => "uint32".into(),
        Type::Sfixed32 => "sfixed32".into(),
        Type::Sfixed64 => "sfixed64".into(),
        Type::Sint32 => "sint32".into(),
        Type::Sint64 => "sint64".into(),
    }
}
