//! protoc-gen-go 1.28.1 (`cmd/protoc-gen-go/internal_gengo/main.go`),
//! function for function. Each `gen_*` writes what its Go namesake prints,
//! in gofmt's final layout.

mod defaults;
mod enums;
mod extensions;
mod messages;
mod public;
mod reflect;
mod tags;
mod values;

use std::collections::HashMap;

use prost_types::field_descriptor_proto::{Label, Type};
use protoreg_plugin_sdk::wire::json_name;

use crate::Generate;
use crate::gofile::GoFile;
use crate::gofmt::{Cell, Row, go_quote, go_quote_bytes};
use crate::model::{EnumId, Field, File, Message, MessageId, Plugin};
use values::{Default, escape_c_bytes, format_float_g, parse_float, unescape_c_bytes};

// The submodules are parts of one generator: they reach these imports and
// each other's functions through `use super::*`.
use crate::comments::*;
use crate::layout::*;
use defaults::*;
use enums::*;
use extensions::*;
use messages::*;
use tags::*;

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
