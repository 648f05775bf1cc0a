//! The reflection part of a `.pb.go` (`internal_gengo/reflect.go`): the
//! raw descriptor, the Go type list with its dependency indexes, and the
//! init function. The order of `goTypes` and `depIdxs` is load-bearing:
//! the runtime panics at init if it differs from what it expects.

use std::collections::HashMap;

use super::{
    FileInfo, ListElement, PROTOIMPL, PROTOREFLECT, file_var_name, one_line_func,
    write_key_value_list,
};
use crate::gofile::GoFile;
use crate::gofmt::{Cell, Row, expr_list_breaks};
use crate::marshal;
use crate::model::{EnumId, MessageId};

const REFLECT: &str = "reflect";
const SYNC: &str = "sync";

pub(super) fn gen_enum_reflect_methods(g: &mut GoFile, f: &FileInfo<'_>, id: EnumId) {
    let name = g.qualified(&f.plugin.enums[id].go_ident);
    let index = f.enum_index[&id];
    let types = f.var_name("enumTypes");
    let descriptor = g.ident(PROTOREFLECT, "EnumDescriptor");
    g.w.open(format!("func ({name}) Descriptor() {descriptor} {{"));
    g.w.line(format!("return {types}[{index}].Descriptor()"));
    g.w.close("}");
    g.w.blank();
    let enum_type = g.ident(PROTOREFLECT, "EnumType");
    g.w.open(format!("func ({name}) Type() {enum_type} {{"));
    g.w.line(format!("return &{types}[{index}]"));
    g.w.close("}");
    g.w.blank();
    let number = g.ident(PROTOREFLECT, "EnumNumber");
    let number2 = g.ident(PROTOREFLECT, "EnumNumber");
    g.w.open(format!("func (x {name}) Number() {number} {{"));
    g.w.line(format!("return {number2}(x)"));
    g.w.close("}");
    g.w.blank();
}

pub(super) fn gen_message_reflect_methods(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
    let name = g.qualified(&f.message(id).go_ident);
    let index = f.message_index[&id];
    let types = f.var_name("msgTypes");
    let message = g.ident(PROTOREFLECT, "Message");
    let unsafe_enabled = g.ident(PROTOIMPL, "UnsafeEnabled");
    let x = g.ident(PROTOIMPL, "X");
    let pointer = g.ident(PROTOIMPL, "Pointer");
    g.w.open(format!("func (x *{name}) ProtoReflect() {message} {{"));
    g.w.line(format!("mi := &{types}[{index}]"));
    g.w.open(format!("if {unsafe_enabled} && x != nil {{"));
    g.w.line(format!("ms := {x}.MessageStateOf({pointer}(x))"));
    g.w.open("if ms.LoadMessageInfo() == nil {");
    g.w.line("ms.StoreMessageInfo(mi)");
    g.w.close("}");
    g.w.line("return ms");
    g.w.close("}");
    g.w.line("return mi.MessageOf(x)");
    g.w.close("}");
    g.w.blank();
}

/// One element of `goTypes` or `depIdxs`: code and its trailing comment.
struct Entry {
    code: String,
    comment: String,
}

/// Builds `goTypes` and `depIdxs` exactly as `genReflectFileDescriptor`.
struct TypeList {
    seen: HashMap<String, usize>,
    go_types: Vec<Entry>,
    dep_idxs: Vec<Entry>,
}

impl TypeList {
    fn dep(&mut self, name: &str, source: &str) {
        let index = self.seen[name];
        self.dep_idxs.push(Entry {
            code: index.to_string(),
            comment: format!("// {}: {source} -> {name}", self.dep_idxs.len()),
        });
    }

    fn add_enum(&mut self, g: &mut GoFile, f: &FileInfo<'_>, id: Option<EnumId>, source: &str) {
        let Some(id) = id else { return };
        let e = &f.plugin.enums[id];
        if !self.seen.contains_key(&e.full_name) {
            let code = format!("({})(0)", g.qualified(&e.go_ident));
            self.push_type(code, &e.full_name);
        }
        if !source.is_empty() {
            self.dep(&e.full_name, source);
        }
    }

    fn add_message(
        &mut self,
        g: &mut GoFile,
        f: &FileInfo<'_>,
        id: Option<MessageId>,
        source: &str,
    ) {
        let Some(id) = id else { return };
        let m = f.message(id);
        if !self.seen.contains_key(&m.full_name) {
            let code = if m.is_map_entry {
                "nil".to_string()
            } else {
                format!("(*{})(nil)", g.qualified(&m.go_ident))
            };
            self.push_type(code, &m.full_name);
        }
        if !source.is_empty() {
            self.dep(&m.full_name, source);
        }
    }

    fn push_type(&mut self, code: String, name: &str) {
        self.go_types.push(Entry {
            code,
            comment: format!("// {}: {name}", self.go_types.len()),
        });
        self.seen.insert(name.to_string(), self.seen.len());
    }
}

fn build_type_list(g: &mut GoFile, f: &FileInfo<'_>) -> TypeList {
    let mut list = TypeList {
        seen: HashMap::new(),
        go_types: Vec::new(),
        dep_idxs: Vec::new(),
    };
    for &e in &f.all_enums {
        list.add_enum(g, f, Some(e), "");
    }
    for &m in &f.all_messages {
        list.add_message(g, f, Some(m), "");
    }
    let mut offsets = vec![(list.dep_idxs.len(), "field type_name")];
    for &m in &f.all_messages {
        for field in f.message(m).fields.iter().filter(|x| !x.is_weak()) {
            let source = format!("{}:type_name", field.full_name);
            list.add_enum(g, f, field.enum_type, &source);
            list.add_message(g, f, field.message_type, &source);
        }
    }
    offsets.push((list.dep_idxs.len(), "extension extendee"));
    for x in &f.all_extensions {
        list.add_message(g, f, x.extendee, &format!("{}:extendee", x.full_name));
    }
    offsets.push((list.dep_idxs.len(), "extension type_name"));
    for x in &f.all_extensions {
        let source = format!("{}:type_name", x.full_name);
        list.add_enum(g, f, x.enum_type, &source);
        list.add_message(g, f, x.message_type, &source);
    }
    offsets.push((list.dep_idxs.len(), "method input_type"));
    for service in &f.file.services {
        for method in &service.methods {
            let source = format!("{}:input_type", method.full_name);
            list.add_message(g, f, Some(method.input), &source);
        }
    }
    offsets.push((list.dep_idxs.len(), "method output_type"));
    for service in &f.file.services {
        for method in &service.methods {
            let source = format!("{}:output_type", method.full_name);
            list.add_message(g, f, Some(method.output), &source);
        }
    }
    offsets.push((list.dep_idxs.len(), ""));
    for i in (0..offsets.len() - 1).rev() {
        let (start, name) = offsets[i];
        let (next, _) = offsets[i + 1];
        list.dep_idxs.push(Entry {
            code: start.to_string(),
            comment: format!("// [{start}:{next}] is the sub-list for {name}"),
        });
    }
    list
}

pub(super) fn gen_reflect_file_descriptor(g: &mut GoFile, f: &FileInfo<'_>) -> Result<(), String> {
    let file_descriptor = g.ident(PROTOREFLECT, "FileDescriptor");
    g.w.line(format!(
        "var {} {file_descriptor}",
        f.file.go_descriptor_ident
    ));
    g.w.blank();
    gen_file_descriptor(g, f)?;

    if !f.all_enums.is_empty() {
        let info = g.ident(PROTOIMPL, "EnumInfo");
        g.w.line(format!(
            "var {} = make([]{info}, {})",
            f.var_name("enumTypes"),
            f.all_enums.len()
        ));
    }
    if !f.all_messages.is_empty() {
        let info = g.ident(PROTOIMPL, "MessageInfo");
        g.w.line(format!(
            "var {} = make([]{info}, {})",
            f.var_name("msgTypes"),
            f.all_messages.len()
        ));
    }
    let list = build_type_list(g, f);
    write_commented_list(
        g,
        &format!("var {} = []interface{{}}{{", f.var_name("goTypes")),
        &list.go_types,
    );
    write_commented_list(
        g,
        &format!("var {} = []int32{{", f.var_name("depIdxs")),
        &list.dep_idxs,
    );
    // gofmt puts a blank line between the var and the func declarations.
    g.w.blank();

    let init = f.var_name("init");
    one_line_func(g, "func init()", Some(&format!("{init}()")));
    g.w.open(format!("func {init}() {{"));
    g.w.open(format!("if {} != nil {{", f.file.go_descriptor_ident));
    g.w.line("return");
    g.w.close("}");
    for dependency in &f.file.proto.dependency {
        if let Some(imported) = f.plugin.file_of_path(dependency)
            && imported.go_import_path == f.file.go_import_path
        {
            g.w.line(format!(
                "{}()",
                file_var_name(&imported.go_descriptor_ident, "init")
            ));
        }
    }
    if !f.all_messages.is_empty() {
        gen_exporters(g, f);
        gen_oneof_wrappers(g, f);
    }
    gen_type_builder(g, f);
    g.w.close("}");
    Ok(())
}

/// A `[]T{...}` literal with one element and trailing comment per line.
fn write_commented_list(g: &mut GoFile, open: &str, entries: &[Entry]) {
    g.w.open(open);
    let sizes: Vec<(Option<usize>, bool)> = entries
        .iter()
        .map(|e| (Some(e.code.chars().count()), false))
        .collect();
    for (entry, new_section) in entries.iter().zip(expr_list_breaks(&sizes)) {
        if new_section {
            g.w.section();
        }
        g.w.row(Row {
            cells: vec![Cell::hard(format!("{},", entry.code))],
            last: entry.comment.clone(),
        });
    }
    g.w.close("}");
}

fn gen_file_descriptor(g: &mut GoFile, f: &FileInfo<'_>) -> Result<(), String> {
    let bytes = marshal::go_marshal_file_without_source_info(&f.file.raw)
        .map_err(|err| format!("{}: {err}", f.file.proto.name()))?;
    let raw_desc = f.var_name("rawDesc");
    g.w.open(format!("var {raw_desc} = []byte{{"));
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.chunks(16) {
        let mut line = String::with_capacity(chunk.len() * 6);
        for (i, &b) in chunk.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            line.push_str("0x");
            line.push(HEX[usize::from(b >> 4)] as char);
            line.push(HEX[usize::from(b & 15)] as char);
            line.push(',');
        }
        g.w.line(line);
    }
    g.w.close("}");
    g.w.blank();

    if f.need_raw_desc {
        let once = format!("{raw_desc}Once");
        let data = format!("{raw_desc}Data");
        let sync_once = g.ident(SYNC, "Once");
        g.w.open("var (");
        g.w.row(Row {
            cells: vec![Cell::soft(once.clone())],
            last: sync_once,
        });
        g.w.row(Row {
            cells: vec![Cell::soft(data.clone())],
            last: format!("= {raw_desc}"),
        });
        g.w.close(")");
        g.w.blank();
        let x = g.ident(PROTOIMPL, "X");
        g.w.open(format!("func {raw_desc}GZIP() []byte {{"));
        g.w.open(format!("{once}.Do(func() {{"));
        g.w.line(format!("{data} = {x}.CompressGZIP({data})"));
        g.w.close("})");
        g.w.line(format!("return {data}"));
        g.w.close("}");
        g.w.blank();
    }
    Ok(())
}

fn gen_exporters(g: &mut GoFile, f: &FileInfo<'_>) {
    let unsafe_enabled = g.ident(PROTOIMPL, "UnsafeEnabled");
    g.w.open(format!("if !{unsafe_enabled} {{"));
    let types = f.var_name("msgTypes");
    for &m in &f.all_messages {
        let Some(sf) = f.struct_fields.get(&m) else {
            continue;
        };
        if sf.unexported.is_empty() {
            continue;
        }
        let index = f.message_index[&m];
        let name = g.qualified(&f.message(m).go_ident);
        g.w.open(format!(
            "{types}[{index}].Exporter = func(v interface{{}}, i int) interface{{}} {{"
        ));
        g.w.line(format!("switch v := v.(*{name}); i {{"));
        for (i, field) in &sf.unexported {
            g.w.line(format!("case {i}:"));
            g.w.indent();
            g.w.line(format!("return &v.{field}"));
            g.w.dedent();
        }
        g.w.line("default:");
        g.w.indent();
        g.w.line("return nil");
        g.w.dedent();
        g.w.line("}");
        g.w.close("}");
    }
    g.w.close("}");
}

fn gen_oneof_wrappers(g: &mut GoFile, f: &FileInfo<'_>) {
    let types = f.var_name("msgTypes");
    for &m in &f.all_messages {
        let message = f.message(m);
        if message.oneofs.is_empty() {
            continue;
        }
        let index = f.message_index[&m];
        let wrappers: Vec<usize> = message
            .oneofs
            .iter()
            .filter(|o| !o.synthetic)
            .flat_map(|o| o.fields.iter().copied())
            .collect();
        if wrappers.is_empty() {
            g.w.line(format!(
                "{types}[{index}].OneofWrappers = []interface{{}}{{}}"
            ));
            continue;
        }
        g.w.open(format!(
            "{types}[{index}].OneofWrappers = []interface{{}}{{"
        ));
        for member in wrappers {
            let wrapper = g.qualified(&message.fields[member].go_ident);
            g.w.line(format!("(*{wrapper})(nil),"));
        }
        g.w.close("}");
    }
}

fn gen_type_builder(g: &mut GoFile, f: &FileInfo<'_>) {
    g.w.line("type x struct{}");
    let type_builder = g.ident(PROTOIMPL, "TypeBuilder");
    let desc_builder = g.ident(PROTOIMPL, "DescBuilder");
    let type_of = g.ident(REFLECT, "TypeOf");
    g.w.open(format!("out := {type_builder}{{"));
    let pair = |key: &str, value: String| ListElement::Pair {
        key: format!("{key}:"),
        value: format!("{value},"),
        gap_before: false,
    };
    let descriptor_fields = vec![
        pair("GoPackagePath", format!("{type_of}(x{{}}).PkgPath()")),
        pair("RawDescriptor", f.var_name("rawDesc")),
        pair("NumEnums", f.all_enums.len().to_string()),
        pair("NumMessages", f.all_messages.len().to_string()),
        pair("NumExtensions", f.all_extensions.len().to_string()),
        pair("NumServices", f.file.services.len().to_string()),
    ];
    let mut elements = vec![ListElement::Multi(Box::new(move |g: &mut GoFile| {
        g.w.open(format!("File: {desc_builder}{{"));
        write_key_value_list(g, descriptor_fields);
        g.w.close("},");
    }))];
    elements.push(pair("GoTypes", f.var_name("goTypes")));
    elements.push(pair("DependencyIndexes", f.var_name("depIdxs")));
    if !f.all_enums.is_empty() {
        elements.push(pair("EnumInfos", f.var_name("enumTypes")));
    }
    if !f.all_messages.is_empty() {
        elements.push(pair("MessageInfos", f.var_name("msgTypes")));
    }
    if !f.all_extensions.is_empty() {
        elements.push(pair("ExtensionInfos", f.var_name("extTypes")));
    }
    write_key_value_list(g, elements);
    g.w.close("}.Build()");
    let descriptor = &f.file.go_descriptor_ident;
    g.w.line(format!("{descriptor} = out.File"));
    for suffix in ["rawDesc", "goTypes", "depIdxs"] {
        g.w.line(format!("{} = nil", f.var_name(suffix)));
    }
}
