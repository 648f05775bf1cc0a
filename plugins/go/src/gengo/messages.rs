//! Message declarations (`genMessage`): the struct, its methods and getters,
//! and the oneof wrapper types.

use super::*;

/// The fields of a message's Go struct, for the `Exporter` in init.
#[derive(Default)]
pub(crate) struct StructFields {
    pub(crate) count: usize,
    pub(crate) unexported: Vec<(usize, String)>,
}

impl StructFields {
    fn append(&mut self, name: &str) {
        if !name.starts_with(|c: char| c.is_uppercase()) {
            self.unexported.push((self.count, name.to_string()));
        }
        self.count += 1;
    }
}

pub(crate) fn gen_message(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    if m.is_map_entry {
        return;
    }
    let name = g.qualified(&m.go_ident);
    let leading = append_deprecation(m.comments.leading.clone(), m.is_deprecated());
    g.w.doc_comment(&comment_text(&leading));
    g.w.open(format!("type {name} struct {{"));
    gen_message_fields(g, f, id);
    g.w.close("}");
    g.w.blank();

    gen_message_default_decls(g, f, id);
    gen_message_base_methods(g, f, id);
    gen_message_getter_methods(g, f, id);
    gen_message_oneof_wrapper_types(g, f, id);
}

pub(crate) fn gen_message_fields(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    let mut sf = StructFields::default();
    let message_state = g.ident(PROTOIMPL, "MessageState");
    let size_cache = g.ident(PROTOIMPL, "SizeCache");
    let unknown_fields = g.ident(PROTOIMPL, "UnknownFields");
    let mut internal = vec![
        ("state", message_state),
        ("sizeCache", size_cache),
        ("unknownFields", unknown_fields),
    ];
    if !m.proto.extension_range.is_empty() {
        internal.push(("extensionFields", g.ident(PROTOIMPL, "ExtensionFields")));
    }
    for (name, ty) in internal {
        g.w.row(Row {
            cells: vec![Cell::soft(name)],
            last: ty,
        });
        sf.append(name);
    }
    if !m.fields.is_empty() {
        g.w.blank();
    }
    for (i, field) in m.fields.iter().enumerate() {
        gen_message_field(g, f, m, i, field, &mut sf);
    }
    f.struct_fields.insert(id, sf);
}

pub(crate) fn gen_message_field(
    g: &mut GoFile,
    f: &FileInfo<'_>,
    m: &Message,
    index: usize,
    field: &Field,
    sf: &mut StructFields,
) {
    if let Some(oneof) = field.real_oneof(m) {
        if oneof.fields.first() != Some(&index) {
            return;
        }
        let mut leading = oneof.comments.leading.clone();
        if !leading.is_empty() {
            leading.push('\n');
        }
        leading.push_str(&format!(
            " Types that are assignable to {}:\n",
            oneof.go_name
        ));
        for &member in &oneof.fields {
            leading.push_str(&format!("\t*{}\n", m.fields[member].go_ident.name));
        }
        g.w.doc_comment(&comment_text(&leading));
        let tag = struct_tags(&[("protobuf_oneof", oneof.proto.name().to_string())]);
        g.w.row(Row {
            cells: vec![
                Cell::soft(oneof.go_name.clone()),
                Cell::soft(format!("is{}", oneof.go_ident.name)),
                Cell::soft(""),
            ],
            last: tag,
        });
        sf.append(&oneof.go_name);
        return;
    }
    let (mut go_type, pointer) = field_go_type(g, f, field);
    if pointer {
        go_type = format!("*{go_type}");
    }
    let mut tags = vec![
        ("protobuf", field_protobuf_tag_value(f.plugin, field)),
        ("json", format!("{},omitempty", field.proto.name())),
    ];
    if field.is_map(f.plugin) {
        let entry = f.message(field.message_type.unwrap_or_default());
        tags.push((
            "protobuf_key",
            field_protobuf_tag_value(f.plugin, &entry.fields[0]),
        ));
        tags.push((
            "protobuf_val",
            field_protobuf_tag_value(f.plugin, &entry.fields[1]),
        ));
    }
    let leading = append_deprecation(field.comments.leading.clone(), field.is_deprecated());
    g.w.doc_comment(&comment_text(&leading));
    let trailing = trailing_comment(&field.comments.trailing);
    let mut cells = vec![
        Cell::soft(field.go_name.clone()),
        Cell::soft(go_type),
        Cell::soft(""),
    ];
    let tag = struct_tags(&tags);
    if trailing.is_empty() {
        g.w.row(Row { cells, last: tag });
    } else {
        cells.push(Cell::hard(tag));
        g.w.row(Row {
            cells,
            last: trailing,
        });
    }
    sf.append(&field.go_name);
}

/// `structTags.String`.
pub(crate) fn struct_tags(tags: &[(&str, String)]) -> String {
    let parts: Vec<String> = tags
        .iter()
        .map(|(key, value)| format!("{key}:{}", go_quote(value).replace('`', "\\x60")))
        .collect();
    format!("`{}`", parts.join(" "))
}

/// `fieldGoType`: the Go type and whether the struct field is a pointer.
pub(crate) fn field_go_type(g: &mut GoFile, f: &FileInfo<'_>, field: &Field) -> (String, bool) {
    if field.is_weak() {
        return ("struct{}".into(), false);
    }
    let mut pointer = field.has_presence();
    let go_type = match field.kind() {
        Type::Bool => "bool".to_string(),
        Type::Enum => g.qualified(&f.plugin.enums[field.enum_type.unwrap_or_default()].go_ident),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => "int32".into(),
        Type::Uint32 | Type::Fixed32 => "uint32".into(),
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => "int64".into(),
        Type::Uint64 | Type::Fixed64 => "uint64".into(),
        Type::Float => "float32".into(),
        Type::Double => "float64".into(),
        Type::String => "string".into(),
        Type::Bytes => {
            pointer = false;
            "[]byte".into()
        }
        Type::Message | Type::Group => {
            pointer = false;
            let message = f.message(field.message_type.unwrap_or_default());
            format!("*{}", g.qualified(&message.go_ident))
        }
    };
    if field.is_list(f.plugin) {
        return (format!("[]{go_type}"), false);
    }
    if field.is_map(f.plugin) {
        let entry = f.message(field.message_type.unwrap_or_default());
        let (key, _) = field_go_type(g, f, &entry.fields[0]);
        let (value, _) = field_go_type(g, f, &entry.fields[1]);
        return (format!("map[{key}]{value}"), false);
    }
    (go_type, pointer)
}

pub(crate) fn gen_message_base_methods(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    let name = g.qualified(&m.go_ident);
    let index = f.message_index[&id];
    let msg_types = f.var_name("msgTypes");
    let unsafe_enabled = g.ident(PROTOIMPL, "UnsafeEnabled");
    let x = g.ident(PROTOIMPL, "X");
    let pointer = g.ident(PROTOIMPL, "Pointer");
    g.w.open(format!("func (x *{name}) Reset() {{"));
    g.w.line(format!("*x = {name}{{}}"));
    g.w.open(format!("if {unsafe_enabled} {{"));
    g.w.line(format!("mi := &{msg_types}[{index}]"));
    g.w.line(format!("ms := {x}.MessageStateOf({pointer}(x))"));
    g.w.line("ms.StoreMessageInfo(mi)");
    g.w.close("}");
    g.w.close("}");
    g.w.blank();

    let x = g.ident(PROTOIMPL, "X");
    g.w.open(format!("func (x *{name}) String() string {{"));
    g.w.line(format!("return {x}.MessageStringOf(x)"));
    g.w.close("}");
    g.w.blank();

    one_line_func(g, &format!("func (*{name}) ProtoMessage()"), None);
    g.w.blank();

    reflect::gen_message_reflect_methods(g, f, id);

    let indexes: Vec<String> = m
        .path
        .iter()
        .skip(1)
        .step_by(2)
        .map(i32::to_string)
        .collect();
    g.w.doc_comment(&format!(
        "// Deprecated: Use {name}.ProtoReflect.Descriptor instead.\n"
    ));
    g.w.open(format!("func (*{name}) Descriptor() ([]byte, []int) {{"));
    g.w.line(format!(
        "return {}GZIP(), []int{{{}}}",
        f.var_name("rawDesc"),
        indexes.join(", ")
    ));
    g.w.close("}");
    g.w.blank();
    f.need_raw_desc = true;
}

pub(crate) fn gen_message_getter_methods(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    let message_name = m.go_ident.name.clone();
    for (i, field) in m.fields.iter().enumerate() {
        if let Some(oneof) = field.real_oneof(m)
            && oneof.fields.first() == Some(&i)
        {
            g.w.open(format!(
                "func (m *{message_name}) Get{}() is{} {{",
                oneof.go_name, oneof.go_ident.name
            ));
            g.w.open("if m != nil {");
            g.w.line(format!("return m.{}", oneof.go_name));
            g.w.close("}");
            g.w.line("return nil");
            g.w.close("}");
            g.w.blank();
        }
        let (go_type, pointer) = field_go_type(g, f, field);
        let default_value = field_default_value(g, f, m, field);
        let name = g.qualified(&m.go_ident);
        g.w.doc_comment(&comment_text(&append_deprecation(
            String::new(),
            field.is_deprecated(),
        )));
        g.w.open(format!(
            "func (x *{name}) Get{}() {go_type} {{",
            field.go_name
        ));
        if let Some(oneof) = field.real_oneof(m) {
            let wrapper = g.qualified(&field.go_ident);
            g.w.open(format!(
                "if x, ok := x.Get{}().(*{wrapper}); ok {{",
                oneof.go_name
            ));
            g.w.line(format!("return x.{}", field.go_name));
        } else {
            if !field.has_presence() || default_value == "nil" {
                g.w.open("if x != nil {");
            } else {
                g.w.open(format!("if x != nil && x.{} != nil {{", field.go_name));
            }
            let star = if pointer { "*" } else { "" };
            g.w.line(format!("return {star}x.{}", field.go_name));
        }
        g.w.close("}");
        g.w.line(format!("return {default_value}"));
        g.w.close("}");
        g.w.blank();
    }
}

/// `fieldDefaultValue`: what a getter returns for an unset field.
pub(crate) fn field_default_value(
    g: &mut GoFile,
    f: &FileInfo<'_>,
    m: &Message,
    field: &Field,
) -> String {
    if field.is_list(f.plugin) || field.is_map(f.plugin) {
        return "nil".into();
    }
    if field.has_default() {
        let name = format!("Default_{}_{}", m.go_ident.name, field.go_name);
        if field.kind() == Type::Bytes {
            return format!("append([]byte(nil), {name}...)");
        }
        return name;
    }
    match field.kind() {
        Type::Bool => "false".into(),
        Type::String => "\"\"".into(),
        Type::Message | Type::Group | Type::Bytes => "nil".into(),
        Type::Enum => {
            let e = &f.plugin.enums[field.enum_type.unwrap_or_default()];
            let value = &e.values[0];
            if value.go_ident.import_path == f.file.go_import_path {
                g.qualified(&value.go_ident)
            } else {
                format!("{}({})", g.qualified(&e.go_ident), value.proto.number())
            }
        }
        _ => "0".into(),
    }
}

pub(crate) fn gen_message_oneof_wrapper_types(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
    let m = f.message(id);
    for oneof in m.oneofs.iter().filter(|o| !o.synthetic) {
        let interface = format!("is{}", oneof.go_ident.name);
        g.w.open(format!("type {interface} interface {{"));
        g.w.line(format!("{interface}()"));
        g.w.close("}");
        g.w.blank();
        for &member in &oneof.fields {
            let field = &m.fields[member];
            let wrapper = g.qualified(&field.go_ident);
            g.w.open(format!("type {wrapper} struct {{"));
            let (go_type, _) = field_go_type(g, f, field);
            let tag = struct_tags(&[("protobuf", field_protobuf_tag_value(f.plugin, field))]);
            let leading = append_deprecation(field.comments.leading.clone(), field.is_deprecated());
            g.w.doc_comment(&comment_text(&leading));
            let trailing = trailing_comment(&field.comments.trailing);
            g.w.line_with_comment(format!("{} {go_type} {tag}", field.go_name), &trailing);
            g.w.close("}");
            g.w.blank();
        }
        for &member in &oneof.fields {
            let wrapper = g.qualified(&m.fields[member].go_ident);
            one_line_func(g, &format!("func (*{wrapper}) {interface}()"), None);
            g.w.blank();
        }
    }
}
