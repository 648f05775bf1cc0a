//! protoc-gen-go 1.28.1 (`cmd/protoc-gen-go/internal_gengo/main.go`),
//! function for function. Each `gen_*` writes what its Go namesake prints,
//! in gofmt's final layout.

mod public;
mod reflect;
mod values;

use std::collections::HashMap;

use prost_types::field_descriptor_proto::{Label, Type};

use crate::Generate;
use crate::gofile::GoFile;
use crate::gofmt::{Cell, Row, expr_list_breaks, go_quote, go_quote_bytes};
use crate::model::{EnumId, Field, File, Message, MessageId, Plugin};
use crate::names::json_camel_case;
use values::{Default, escape_c_bytes, format_float_g, parse_float, unescape_c_bytes};

const PROTOIMPL: &str = "google.golang.org/protobuf/runtime/protoimpl";
const PROTOREFLECT: &str = "google.golang.org/protobuf/reflect/protoreflect";
const MATH: &str = "math";
const GEN_VERSION: u32 = 20;
const GRPC_DOC_URL: &str = "https://grpc.io/docs/languages/go/quickstart/#regenerate-grpc-code";

#[derive(Default)]
pub(crate) struct Generator {
    /// The deprecated `plugins=` flag; any value is an error.
    plugins: String,
}

impl Generate for Generator {
    fn set_param(&mut self, name: &str, value: &str) -> Result<(), String> {
        if name == "plugins" {
            self.plugins = value.to_string();
            return Ok(());
        }
        Err(format!("no such flag -{name}"))
    }

    fn generate(&self, plugin: &Plugin) -> Result<Vec<(String, String)>, String> {
        if !self.plugins.is_empty() {
            return Err(format!(
                "protoc-gen-go: plugins are not supported; use 'protoc --go-grpc_out=...' to generate gRPC\n\n\
                 See {GRPC_DOC_URL} for more information."
            ));
        }
        plugin
            .files
            .iter()
            .filter(|f| f.generate)
            .map(|f| generate_file(plugin, f))
            .collect()
    }
}

/// The fields of a message's Go struct, for the `Exporter` in init.
#[derive(Default)]
struct StructFields {
    count: usize,
    unexported: Vec<(usize, String)>,
}

impl StructFields {
    fn append(&mut self, name: &str) {
        if !name.starts_with(|c: char| c.is_uppercase()) {
            self.unexported.push((self.count, name.to_string()));
        }
        self.count += 1;
    }
}

/// `fileInfo`: the file with its declarations in "flattened ordering".
pub(crate) struct FileInfo<'a> {
    plugin: &'a Plugin,
    file: &'a File,
    all_enums: Vec<EnumId>,
    all_messages: Vec<MessageId>,
    all_extensions: Vec<&'a Field>,
    enum_index: HashMap<EnumId, usize>,
    message_index: HashMap<MessageId, usize>,
    struct_fields: HashMap<MessageId, StructFields>,
    need_raw_desc: bool,
}

impl<'a> FileInfo<'a> {
    fn new(plugin: &'a Plugin, file: &'a File) -> Self {
        let mut info = FileInfo {
            plugin,
            file,
            all_enums: file.enums.clone(),
            all_messages: file.messages.clone(),
            all_extensions: file.extensions.iter().collect(),
            enum_index: HashMap::new(),
            message_index: HashMap::new(),
            struct_fields: HashMap::new(),
            need_raw_desc: false,
        };
        info.walk(&file.messages);
        info.enum_index = info
            .all_enums
            .iter()
            .enumerate()
            .map(|(i, &e)| (e, i))
            .collect();
        info.message_index = info
            .all_messages
            .iter()
            .enumerate()
            .map(|(i, &m)| (m, i))
            .collect();
        info
    }

    fn walk(&mut self, messages: &[MessageId]) {
        for &m in messages {
            let message = &self.plugin.messages[m];
            self.all_enums.extend(&message.enums);
            self.all_messages.extend(&message.messages);
            self.all_extensions.extend(message.extensions.iter());
            self.walk(&message.messages);
        }
    }

    fn message(&self, id: MessageId) -> &'a Message {
        &self.plugin.messages[id]
    }

    fn var_name(&self, suffix: &str) -> String {
        file_var_name(&self.file.go_descriptor_ident, suffix)
    }
}

/// `fileVarName`: `File_x_proto` → `file_x_proto_<suffix>`.
pub(crate) fn file_var_name(descriptor_ident: &str, suffix: &str) -> String {
    let mut chars = descriptor_ident.chars();
    let first = chars
        .next()
        .map(|c| c.to_lowercase().to_string())
        .unwrap_or_default();
    format!("{first}{}_{suffix}", chars.as_str())
}

/// `protogen.Comments.String`: `//` before every line.
pub(crate) fn comment_text(raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    raw.strip_suffix('\n')
        .unwrap_or(raw)
        .split('\n')
        .map(|line| format!("//{line}\n"))
        .collect()
}

/// `trailingComment.String`: one line or nothing.
pub(crate) fn trailing_comment(raw: &str) -> String {
    let text = comment_text(raw);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.contains('\n') {
        return String::new();
    }
    text.to_string()
}

/// `appendDeprecationSuffix` on raw comment text.
pub(crate) fn append_deprecation(mut prefix: String, deprecated: bool) -> String {
    if !deprecated {
        return prefix;
    }
    if !prefix.is_empty() {
        prefix.push('\n');
    }
    prefix + " Deprecated: Do not use.\n"
}

/// Well-known types for which protoc-gen-go adds hand-written methods and
/// package documentation (`well_known_types.go`), which this port leaves out.
const EXTENDED_WELL_KNOWN_FILES: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/wrappers.proto",
];

fn generate_file(plugin: &Plugin, file: &File) -> Result<(String, String), String> {
    if EXTENDED_WELL_KNOWN_FILES.contains(&file.proto.name())
        && file.proto.package() == "google.protobuf"
    {
        return Err(format!(
            "{}: generating this well-known type is not supported by protoreg's Go generator; \
             use google.golang.org/protobuf/types/known",
            file.proto.name()
        ));
    }
    let mut f = FileInfo::new(plugin, file);
    let mut g = GoFile::new(&file.go_import_path);
    let header = file_header(plugin, file);

    gen_version_markers(&mut g);
    for (i, dependency) in file.proto.dependency.iter().enumerate() {
        gen_import(plugin, &mut g, file, i as i32, dependency)?;
    }
    for &e in &f.all_enums.clone() {
        gen_enum(&mut g, &mut f, e);
    }
    for &m in &f.all_messages.clone() {
        gen_message(&mut g, &mut f, m);
    }
    gen_extensions(&mut g, &f);
    reflect::gen_reflect_file_descriptor(&mut g, &f)?;

    let imports = g.import_block();
    let body = g.w.finish();
    let mut content = header;
    if !imports.is_empty() {
        content.push_str(&imports);
        content.push('\n');
    }
    content.push_str(body.trim_end_matches('\n'));
    content.push('\n');
    Ok((format!("{}.pb.go", file.generated_filename_prefix), content))
}

/// Everything up to and including the package clause and its blank line.
fn file_header(plugin: &Plugin, file: &File) -> String {
    let mut header = String::new();
    standalone_comments(&mut header, file, 12);
    header.push_str("// Code generated by protoc-gen-go. DO NOT EDIT.\n");
    header.push_str("// versions:\n");
    header.push_str("// \tprotoc-gen-go v1.28.1\n");
    let protoc = match &plugin.compiler_version {
        Some(v) => {
            let mut s = format!("v{}.{}.{}", v.major(), v.minor(), v.patch());
            if !v.suffix().is_empty() {
                s = format!("{s}-{}", v.suffix());
            }
            s
        }
        None => "(unknown)".to_string(),
    };
    header.push_str(&format!("// \tprotoc        {protoc}\n"));
    if file.is_deprecated() {
        header.push_str(&format!("// {} is a deprecated file.\n", file.proto.name()));
    } else {
        header.push_str(&format!("// source: {}\n", file.proto.name()));
    }
    header.push('\n');
    standalone_comments(&mut header, file, 2);
    header.push_str(&format!("package {}\n\n", file.go_package_name));
    header
}

/// `genStandaloneComments`: the comments on the `syntax` (12) or
/// `package` (2) statement, each followed by a blank line.
fn standalone_comments(out: &mut String, file: &File, field: i32) {
    let comments = file.comments(&[field]);
    let blocks = comments
        .leading_detached
        .iter()
        .chain(std::iter::once(&comments.leading))
        .filter(|c| !c.is_empty());
    for block in blocks {
        for line in comment_text(block).lines() {
            out.push_str(line.trim_end_matches([' ', '\t']));
            out.push('\n');
        }
        out.push('\n');
    }
}

fn gen_version_markers(g: &mut GoFile) {
    let enforce = g.ident(PROTOIMPL, "EnforceVersion");
    let min = g.ident(PROTOIMPL, "MinVersion");
    let max = g.ident(PROTOIMPL, "MaxVersion");
    g.w.open("const (");
    g.w.doc_comment("// Verify that this generated code is sufficiently up-to-date.\n");
    g.w.row(Row {
        cells: vec![Cell::soft("_")],
        last: format!("= {enforce}({GEN_VERSION} - {min})"),
    });
    g.w.doc_comment("// Verify that runtime/protoimpl is sufficiently up-to-date.\n");
    g.w.row(Row {
        cells: vec![Cell::soft("_")],
        last: format!("= {enforce}({max} - {GEN_VERSION})"),
    });
    g.w.close(")");
    g.w.blank();
}

fn gen_import(
    plugin: &Plugin,
    g: &mut GoFile,
    file: &File,
    index: i32,
    dependency: &str,
) -> Result<(), String> {
    let Some(imported) = plugin.file_of_path(dependency) else {
        return Ok(());
    };
    if imported.go_import_path == file.go_import_path {
        return Ok(());
    }
    if !file.proto.weak_dependency.contains(&index) {
        g.import(&imported.go_import_path);
    }
    if !file.proto.public_dependency.contains(&index) {
        return Ok(());
    }
    let (_, imported_source) = generate_file(plugin, imported)?;
    g.w.plain_comment(&format!(
        "// Symbols defined in public import of {dependency}.\n"
    ));
    g.w.blank();
    let mut previous_token = None;
    for decl in public::top_level_decls(&imported_source) {
        let exported = decl.name.starts_with(|c: char| c.is_uppercase());
        if !exported || decl.name == imported.go_descriptor_ident || decl.is_selector {
            continue;
        }
        // gofmt separates top-level declarations of different kinds.
        if previous_token.is_some_and(|t| t != decl.token) {
            g.w.blank();
        }
        previous_token = Some(decl.token);
        let target = g.ident(&imported.go_import_path, &decl.name);
        g.w.line(format!("{} {} = {target}", decl.token, decl.name));
    }
    g.w.blank();
    Ok(())
}

fn gen_enum(g: &mut GoFile, f: &mut FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let name = g.qualified(&e.go_ident);
    let leading = append_deprecation(e.comments.leading.clone(), e.is_deprecated());
    g.w.doc_comment(&comment_text(&leading));
    g.w.line(format!("type {name} int32"));
    g.w.blank();

    gen_enum_constants(g, f, id);
    gen_enum_maps(g, f, id);

    let protoimpl_x = g.ident(PROTOIMPL, "X");
    let enum_number = g.ident(PROTOREFLECT, "EnumNumber");
    g.w.open(format!("func (x {name}) Enum() *{name} {{"));
    g.w.line(format!("p := new({name})"));
    g.w.line("*p = x");
    g.w.line("return p");
    g.w.close("}");
    g.w.blank();
    g.w.open(format!("func (x {name}) String() string {{"));
    g.w.line(format!(
        "return {protoimpl_x}.EnumStringOf(x.Descriptor(), {enum_number}(x))"
    ));
    g.w.close("}");
    g.w.blank();

    reflect::gen_enum_reflect_methods(g, f, id);

    if !f.file.proto3 {
        let x = g.ident(PROTOIMPL, "X");
        g.w.doc_comment("// Deprecated: Do not use.\n");
        g.w.open(format!("func (x *{name}) UnmarshalJSON(b []byte) error {{"));
        g.w.line(format!(
            "num, err := {x}.UnmarshalJSONEnum(x.Descriptor(), b)"
        ));
        g.w.open("if err != nil {");
        g.w.line("return err");
        g.w.close("}");
        g.w.line(format!("*x = {name}(num)"));
        g.w.line("return nil");
        g.w.close("}");
        g.w.blank();
    }

    let indexes: Vec<String> = e
        .path
        .iter()
        .skip(1)
        .step_by(2)
        .map(i32::to_string)
        .collect();
    g.w.doc_comment(&format!("// Deprecated: Use {name}.Descriptor instead.\n"));
    g.w.open(format!("func ({name}) EnumDescriptor() ([]byte, []int) {{"));
    g.w.line(format!(
        "return {}GZIP(), []int{{{}}}",
        f.var_name("rawDesc"),
        indexes.join(", ")
    ));
    g.w.close("}");
    g.w.blank();
    f.need_raw_desc = true;
}

fn gen_enum_constants(g: &mut GoFile, f: &FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let type_name = g.qualified(&e.go_ident);
    g.w.open("const (");
    let single = e.values.len() == 1;
    for value in &e.values {
        let deprecated = value
            .proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false);
        let leading = append_deprecation(value.comments.leading.clone(), deprecated);
        g.w.doc_comment(&comment_text(&leading));
        let name = g.qualified(&value.go_ident);
        let number = value.proto.number();
        let trailing = trailing_comment(&value.comments.trailing);
        if single {
            g.w.line_with_comment(format!("{name} {type_name} = {number}"), &trailing);
        } else if trailing.is_empty() {
            g.w.row(Row {
                cells: vec![Cell::soft(name), Cell::soft(type_name.clone())],
                last: format!("= {number}"),
            });
        } else {
            g.w.row(Row {
                cells: vec![
                    Cell::soft(name),
                    Cell::soft(type_name.clone()),
                    Cell::soft(format!("= {number}")),
                ],
                last: trailing,
            });
        }
    }
    g.w.close(")");
    g.w.blank();
}

fn gen_enum_maps(g: &mut GoFile, f: &FileInfo<'_>, id: EnumId) {
    let e = &f.plugin.enums[id];
    let type_name = g.qualified(&e.go_ident);
    g.w.doc_comment(&format!("// Enum value maps for {type_name}.\n"));
    g.w.open("var (");

    g.w.row(Row {
        cells: vec![Cell::soft(format!("{}_name", e.go_ident.name))],
        last: "= map[int32]string{".into(),
    });
    g.w.indent();
    let mut first_by_number: HashMap<i32, usize> = HashMap::new();
    for (i, value) in e.values.iter().enumerate() {
        first_by_number.entry(value.proto.number()).or_insert(i);
    }
    // Duplicates are written as comments, which are not list elements.
    let mut elements = Vec::new();
    let mut gap_before = false;
    for (i, value) in e.values.iter().enumerate() {
        let number = value.proto.number();
        let entry = format!("{number}: {},", go_quote(value.proto.name()));
        if first_by_number[&number] != i {
            elements.push(ListElement::Comment(format!("// Duplicate value: {entry}")));
            gap_before = true;
            continue;
        }
        elements.push(ListElement::Pair {
            key: format!("{number}:"),
            value: format!("{},", go_quote(value.proto.name())),
            gap_before,
        });
        gap_before = false;
    }
    write_key_value_list(g, elements);
    g.w.close("}");
    g.w.section();

    g.w.row(Row {
        cells: vec![Cell::soft(format!("{}_value", e.go_ident.name))],
        last: "= map[string]int32{".into(),
    });
    g.w.indent();
    let elements = e
        .values
        .iter()
        .map(|value| ListElement::Pair {
            key: format!("{}:", go_quote(value.proto.name())),
            value: format!("{},", value.proto.number()),
            gap_before: false,
        })
        .collect();
    write_key_value_list(g, elements);
    g.w.close("}");
    g.w.close(")");
    g.w.blank();
}

/// An element of a multi-line composite literal.
pub(crate) enum ListElement {
    /// `key: value,` on one line (`key` includes the colon).
    Pair {
        key: String,
        value: String,
        /// The source had a line (a comment) before this element.
        gap_before: bool,
    },
    /// An element spanning several lines, written by the closure.
    Multi(Box<dyn FnOnce(&mut GoFile)>),
    /// A full-line comment between elements.
    Comment(String),
}

/// Writes key-value elements with go/printer's alignment: a column for
/// the keys, broken where `exprList` would use a form feed.
pub(crate) fn write_key_value_list(g: &mut GoFile, elements: Vec<ListElement>) {
    let sizes: Vec<(Option<usize>, bool)> = elements
        .iter()
        .filter_map(|e| match e {
            ListElement::Pair {
                key, gap_before, ..
            } => Some((Some(key.trim_end_matches(':').chars().count()), *gap_before)),
            ListElement::Multi(_) => Some((None, false)),
            ListElement::Comment(_) => None,
        })
        .collect();
    let count = sizes.len();
    let breaks = expr_list_breaks(&sizes);
    let mut index = 0;
    for element in elements {
        match element {
            ListElement::Comment(text) => g.w.doc_comment(&format!("{text}\n")),
            ListElement::Pair { key, value, .. } => {
                if breaks[index] {
                    g.w.section();
                }
                index += 1;
                if count > 1 {
                    g.w.row(Row {
                        cells: vec![Cell::soft(key)],
                        last: value,
                    });
                } else {
                    g.w.line(format!("{key} {value}"));
                }
            }
            ListElement::Multi(write) => {
                g.w.section();
                index += 1;
                write(g);
                g.w.section();
            }
        }
    }
}

fn gen_message(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
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

fn gen_message_fields(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
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

fn gen_message_field(
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
fn struct_tags(tags: &[(&str, String)]) -> String {
    let parts: Vec<String> = tags
        .iter()
        .map(|(key, value)| format!("{key}:{}", go_quote(value).replace('`', "\\x60")))
        .collect();
    format!("`{}`", parts.join(" "))
}

/// `fieldGoType`: the Go type and whether the struct field is a pointer.
fn field_go_type(g: &mut GoFile, f: &FileInfo<'_>, field: &Field) -> (String, bool) {
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

/// `tag.Marshal`: the `protobuf:"..."` struct tag value.
pub(crate) fn field_protobuf_tag_value(plugin: &Plugin, field: &Field) -> String {
    let mut tag: Vec<String> = Vec::new();
    let wire = match field.kind() {
        Type::Bool | Type::Enum | Type::Int32 | Type::Uint32 | Type::Int64 | Type::Uint64 => {
            "varint"
        }
        Type::Sint32 => "zigzag32",
        Type::Sint64 => "zigzag64",
        Type::Sfixed32 | Type::Fixed32 | Type::Float => "fixed32",
        Type::Sfixed64 | Type::Fixed64 | Type::Double => "fixed64",
        Type::String | Type::Bytes | Type::Message => "bytes",
        Type::Group => "group",
    };
    tag.push(wire.into());
    tag.push(field.proto.number().to_string());
    tag.push(
        match field.proto.label() {
            Label::Optional => "opt",
            Label::Required => "req",
            Label::Repeated => "rep",
        }
        .into(),
    );
    if field.is_packed() {
        tag.push("packed".into());
    }
    let mut name = field.proto.name().to_string();
    if field.kind() == Type::Group {
        name = plugin.messages[field.message_type.unwrap_or_default()]
            .proto
            .name()
            .to_string();
    }
    tag.push(format!("name={name}"));
    let json_name = field
        .proto
        .json_name
        .clone()
        .unwrap_or_else(|| json_camel_case(field.proto.name()));
    if !json_name.is_empty() && json_name != name && !field.is_extension {
        tag.push(format!("json={json_name}"));
    }
    if field.proto3 && !field.is_extension {
        tag.push("proto3".into());
    }
    if field.kind() == Type::Enum {
        tag.push(format!("enum={}", legacy_enum_name(plugin, field)));
    }
    if field.proto.oneof_index.is_some() {
        tag.push("oneof".into());
    }
    if field.has_default()
        && let Some(default) = parse_default(plugin, field)
    {
        tag.push(format!(
            "def={}",
            default_tag_value(&default, plugin, field)
        ));
    }
    tag.join(",")
}

/// `LegacyEnumName`: `pkg.Outer_Inner`.
fn legacy_enum_name(plugin: &Plugin, field: &Field) -> String {
    let e = &plugin.enums[field.enum_type.unwrap_or_default()];
    let package = &e.package;
    let name = e
        .full_name
        .strip_prefix(&format!("{package}."))
        .filter(|_| !package.is_empty())
        .unwrap_or(&e.full_name);
    let camel = crate::names::go_camel_case(name);
    if package.is_empty() {
        camel
    } else {
        format!("{package}.{camel}")
    }
}

fn parse_default(plugin: &Plugin, field: &Field) -> Option<Default> {
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

/// `defval.Marshal(..., GoTag)`.
fn default_tag_value(default: &Default, plugin: &Plugin, field: &Field) -> String {
    match default {
        Default::Bool(b) => if *b { "1" } else { "0" }.into(),
        Default::Int(i) => i.to_string(),
        Default::Uint(u) => u.to_string(),
        Default::Float(v) if v.is_nan() => "nan".into(),
        Default::Float(v) if v.is_infinite() => if *v > 0.0 { "inf" } else { "-inf" }.into(),
        Default::Float(v) => format_float_g(*v, if field.kind() == Type::Float { 32 } else { 64 }),
        Default::String(s) => s.clone(),
        Default::Bytes(b) => escape_c_bytes(b),
        Default::Enum(name) => plugin.enums[field.enum_type.unwrap_or_default()]
            .values
            .iter()
            .find(|v| v.proto.name() == name)
            .map(|v| v.proto.number().to_string())
            .unwrap_or_default(),
    }
}

/// `genMessageDefaultDecls`.
fn gen_message_default_decls(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
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
fn write_default_block(
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

fn gen_message_base_methods(g: &mut GoFile, f: &mut FileInfo<'_>, id: MessageId) {
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

/// A function whose source body is on one line: go/printer keeps it there
/// when header and body fit in 100 columns (`funcBody`).
pub(crate) fn one_line_func(g: &mut GoFile, header: &str, statement: Option<&str>) {
    const MAX_SIZE: usize = 100;
    let body_size = statement.map_or(0, |s| s.chars().count());
    // go/printer measures the header from one column before `func` (the
    // blank after the keyword is still buffered when it takes the start).
    let header_size = header.chars().count() + 1;
    if header_size + body_size <= MAX_SIZE {
        match statement {
            Some(s) => g.w.line(format!("{header} {{ {s} }}")),
            None => g.w.line(format!("{header} {{}}")),
        }
        return;
    }
    g.w.open(format!("{header} {{"));
    if let Some(s) = statement {
        g.w.line(s);
    }
    g.w.close("}");
}

fn gen_message_getter_methods(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
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
fn field_default_value(g: &mut GoFile, f: &FileInfo<'_>, m: &Message, field: &Field) -> String {
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

fn gen_message_oneof_wrapper_types(g: &mut GoFile, f: &FileInfo<'_>, id: MessageId) {
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

fn gen_extensions(g: &mut GoFile, f: &FileInfo<'_>) {
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

fn cardinality(field: &Field) -> &'static str {
    match field.proto.label() {
        Label::Optional => "optional",
        Label::Required => "required",
        Label::Repeated => "repeated",
    }
}

/// `Kind.String()`, or the full name of an enum or message type.
fn extension_type_name(f: &FileInfo<'_>, field: &Field) -> String {
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
