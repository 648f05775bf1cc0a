//! protogen's view of a request (`compiler/protogen/protogen.go`): every
//! file, message, enum, field and service with its Go name, import path
//! and comments. Messages and enums live in flat arenas so that fields can
//! refer to types of any file by index.

use std::collections::HashMap;

use prost_types::compiler::Version;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, MethodDescriptorProto, OneofDescriptorProto, ServiceDescriptorProto,
};

use crate::names::{go_camel_case, go_sanitized, package_name_for_import_path, path_base};
use crate::request::Request;

pub(crate) type MessageId = usize;
pub(crate) type EnumId = usize;

const GO_PACKAGE_DOC_URL: &str =
    "https://developers.google.com/protocol-buffers/docs/reference/go-generated#package";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GoIdent {
    pub name: String,
    pub import_path: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Comments {
    pub leading_detached: Vec<String>,
    pub leading: String,
    pub trailing: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathType {
    Import,
    SourceRelative,
}

pub(crate) struct Plugin {
    pub files: Vec<File>,
    pub files_by_path: HashMap<String, usize>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub module: String,
    pub compiler_version: Option<Version>,
    messages_by_name: HashMap<String, MessageId>,
    enums_by_name: HashMap<String, EnumId>,
}

pub(crate) struct File {
    pub proto: FileDescriptorProto,
    /// The file's bytes exactly as in the request.
    pub raw: Vec<u8>,
    pub go_package_name: String,
    pub go_import_path: String,
    pub go_descriptor_ident: String,
    pub generated_filename_prefix: String,
    pub enums: Vec<EnumId>,
    pub messages: Vec<MessageId>,
    pub extensions: Vec<Field>,
    pub services: Vec<Service>,
    pub generate: bool,
    pub proto3: bool,
    locations: HashMap<Vec<i32>, Comments>,
}

pub(crate) struct Enum {
    pub proto: EnumDescriptorProto,
    pub full_name: String,
    /// The proto package of the declaring file.
    pub package: String,
    pub go_ident: GoIdent,
    pub path: Vec<i32>,
    pub comments: Comments,
    pub values: Vec<EnumValue>,
}

pub(crate) struct EnumValue {
    pub proto: EnumValueDescriptorProto,
    pub go_ident: GoIdent,
    pub comments: Comments,
}

pub(crate) struct Message {
    pub proto: DescriptorProto,
    pub full_name: String,
    pub go_ident: GoIdent,
    pub path: Vec<i32>,
    pub comments: Comments,
    pub fields: Vec<Field>,
    pub oneofs: Vec<Oneof>,
    pub enums: Vec<EnumId>,
    pub messages: Vec<MessageId>,
    pub extensions: Vec<Field>,
    pub is_map_entry: bool,
}

pub(crate) struct Field {
    pub proto: FieldDescriptorProto,
    pub full_name: String,
    pub go_name: String,
    pub go_ident: GoIdent,
    /// Index into the parent message's `oneofs`.
    pub oneof: Option<usize>,
    pub extendee: Option<MessageId>,
    pub enum_type: Option<EnumId>,
    pub message_type: Option<MessageId>,
    pub comments: Comments,
    pub is_extension: bool,
    /// The declaring file is proto3.
    pub proto3: bool,
}

pub(crate) struct Oneof {
    pub proto: OneofDescriptorProto,
    pub go_name: String,
    pub go_ident: GoIdent,
    /// Indices into the parent message's `fields`.
    pub fields: Vec<usize>,
    pub comments: Comments,
    pub synthetic: bool,
}

pub(crate) struct Service {
    pub proto: ServiceDescriptorProto,
    pub full_name: String,
    pub go_name: String,
    pub methods: Vec<Method>,
}

pub(crate) struct Method {
    pub proto: MethodDescriptorProto,
    pub full_name: String,
    pub go_name: String,
    pub input: MessageId,
    pub output: MessageId,
    pub comments: Comments,
}

impl Field {
    pub fn kind(&self) -> Type {
        self.proto.r#type()
    }

    pub fn is_repeated(&self) -> bool {
        self.proto.label() == Label::Repeated
    }

    pub fn is_map(&self, plugin: &Plugin) -> bool {
        self.is_repeated()
            && self
                .message_type
                .is_some_and(|m| plugin.messages[m].is_map_entry)
    }

    pub fn is_list(&self, plugin: &Plugin) -> bool {
        self.is_repeated() && !self.is_map(plugin)
    }

    /// `FieldDescriptor.HasPresence`.
    pub fn has_presence(&self) -> bool {
        if self.is_repeated() {
            return false;
        }
        if self.is_extension {
            return true;
        }
        !self.proto3
            || matches!(self.kind(), Type::Message | Type::Group)
            || self.proto.oneof_index.is_some()
    }

    pub fn has_default(&self) -> bool {
        self.proto.default_value.is_some()
            && !self.proto3
            && !self.is_repeated()
            && !matches!(self.kind(), Type::Message | Type::Group)
    }

    /// `FieldDescriptor.IsPacked`.
    pub fn is_packed(&self) -> bool {
        let scalar = !matches!(
            self.kind(),
            Type::String | Type::Bytes | Type::Message | Type::Group
        );
        let explicit = self.proto.options.as_ref().and_then(|o| o.packed);
        // Extensions are packed only when asked to, even in proto3.
        if explicit.is_none() && self.proto3 && !self.is_extension && self.is_repeated() && scalar {
            return true;
        }
        explicit.unwrap_or(false) && self.is_repeated() && scalar
    }

    pub fn is_deprecated(&self) -> bool {
        self.proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
    }

    pub fn is_weak(&self) -> bool {
        self.proto
            .options
            .as_ref()
            .and_then(|o| o.weak)
            .unwrap_or(false)
    }

    /// Whether the field is in a real (not synthetic) oneof of `parent`.
    pub fn real_oneof<'a>(&self, parent: &'a Message) -> Option<&'a Oneof> {
        self.oneof
            .and_then(|i| parent.oneofs.get(i))
            .filter(|oneof| !oneof.synthetic)
    }
}

impl Message {
    pub fn is_deprecated(&self) -> bool {
        self.proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
    }
}

impl Enum {
    pub fn is_deprecated(&self) -> bool {
        self.proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
    }
}

/// `splitImportPathAndPackageName`.
fn split_import_path_and_package_name(s: &str) -> (String, String) {
    match s.split_once(';') {
        Some((path, name)) => (path.to_string(), name.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// Options read from the request parameter by protogen itself.
struct Params {
    path_type: PathType,
    module: String,
    package_names: HashMap<String, String>,
    import_paths: HashMap<String, String>,
}

/// Splits the parameter like `protogen.Options.New`; parameters protogen
/// does not know go to `param_func` (the plugin's flags).
fn parse_params(
    parameter: &str,
    param_func: &mut dyn FnMut(&str, &str) -> Result<(), String>,
) -> Result<Params, String> {
    let mut params = Params {
        path_type: PathType::Import,
        module: String::new(),
        package_names: HashMap::new(),
        import_paths: HashMap::new(),
    };
    for param in parameter.split(',') {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name {
            "" => {}
            "module" => params.module = value.to_string(),
            "paths" => {
                params.path_type = match value {
                    "import" => PathType::Import,
                    "source_relative" => PathType::SourceRelative,
                    _ => {
                        return Err(format!(
                            "unknown path type {}: want \"import\" or \"source_relative\"",
                            crate::gofmt::go_quote(value)
                        ));
                    }
                }
            }
            "annotate_code" => {
                return Err("annotate_code is not supported by protoreg's Go generator".into());
            }
            _ if name.starts_with('M') => {
                let (import_path, package_name) = split_import_path_and_package_name(value);
                if !package_name.is_empty() {
                    params
                        .package_names
                        .insert(name[1..].to_string(), package_name);
                }
                if !import_path.is_empty() {
                    params
                        .import_paths
                        .insert(name[1..].to_string(), import_path);
                }
            }
            _ => param_func(name, value)?,
        }
    }
    if !params.module.is_empty() && params.path_type == PathType::SourceRelative {
        return Err("cannot use module= with paths=source_relative".into());
    }
    Ok(params)
}

impl Plugin {
    /// `protogen.Options.New`.
    pub fn new(
        request: Request,
        param_func: &mut dyn FnMut(&str, &str) -> Result<(), String>,
    ) -> Result<Plugin, String> {
        let mut params = parse_params(request.parameter.as_deref().unwrap_or(""), param_func)?;
        resolve_go_packages(&request, &mut params)?;

        let mut plugin = Plugin {
            files: Vec::new(),
            files_by_path: HashMap::new(),
            messages: Vec::new(),
            enums: Vec::new(),
            module: params.module.clone(),
            compiler_version: request.compiler_version.clone(),
            messages_by_name: HashMap::new(),
            enums_by_name: HashMap::new(),
        };
        for (proto, raw) in request.proto_files.into_iter().zip(request.raw_files) {
            let name = proto.name().to_string();
            if plugin.files_by_path.contains_key(&name) {
                return Err(format!(
                    "duplicate file name: {}",
                    crate::gofmt::go_quote(&name)
                ));
            }
            let package_name = params.package_names.get(&name).cloned().unwrap_or_default();
            let import_path = params.import_paths.get(&name).cloned().unwrap_or_default();
            let file = plugin.new_file(proto, raw, package_name, import_path, params.path_type)?;
            plugin.files_by_path.insert(name, plugin.files.len());
            plugin.files.push(file);
        }
        for name in &request.file_to_generate {
            let Some(&index) = plugin.files_by_path.get(name) else {
                return Err(format!("no descriptor for generated file: {name}"));
            };
            plugin.files[index].generate = true;
        }
        Ok(plugin)
    }

    fn new_file(
        &mut self,
        proto: FileDescriptorProto,
        raw: Vec<u8>,
        go_package_name: String,
        go_import_path: String,
        path_type: PathType,
    ) -> Result<File, String> {
        let name = proto.name().to_string();
        reject_legacy_features(&proto).map_err(|err| {
            format!(
                "invalid FileDescriptorProto {}: proto: {err}",
                crate::gofmt::go_quote(&name)
            )
        })?;
        let mut prefix = name.clone();
        for ext in [".proto", ".protodevel"] {
            if extension_of(&prefix) == ext {
                prefix.truncate(prefix.len() - ext.len());
            }
        }
        if path_type == PathType::Import {
            prefix = path_join(&go_import_path, path_base(&prefix));
        }
        let mut file = File {
            proto3: proto.syntax() == "proto3",
            locations: collect_locations(&proto),
            proto,
            raw,
            go_package_name,
            go_descriptor_ident: format!("File_{}", go_sanitized(&name)),
            go_import_path,
            generated_filename_prefix: prefix,
            enums: Vec::new(),
            messages: Vec::new(),
            extensions: Vec::new(),
            services: Vec::new(),
            generate: false,
        };
        let package = file.proto.package().to_string();
        let scope = |name: &str| {
            if package.is_empty() {
                name.to_string()
            } else {
                format!("{package}.{name}")
            }
        };
        for (i, e) in file.proto.enum_type.clone().into_iter().enumerate() {
            let full_name = scope(e.name());
            let id = self.new_enum(&file, None, e, full_name, vec![5, i as i32]);
            file.enums.push(id);
        }
        for (i, m) in file.proto.message_type.clone().into_iter().enumerate() {
            let full_name = scope(m.name());
            let id = self.new_message(&file, m, full_name, vec![4, i as i32]);
            file.messages.push(id);
        }
        for (i, x) in file.proto.extension.clone().into_iter().enumerate() {
            let full_name = scope(x.name());
            let field = new_field(&file, None, x, full_name, vec![7, i as i32], true);
            file.extensions.push(field);
        }
        for (i, s) in file.proto.service.clone().into_iter().enumerate() {
            let full_name = scope(s.name());
            file.services
                .push(self.new_service(&file, s, full_name, vec![6, i as i32])?);
        }
        for &m in &file.messages.clone() {
            self.resolve_message(m)?;
        }
        for x in &mut file.extensions {
            resolve_field(x, &self.messages_by_name, &self.enums_by_name)?;
        }
        Ok(file)
    }

    fn new_enum(
        &mut self,
        file: &File,
        parent: Option<&GoIdent>,
        proto: EnumDescriptorProto,
        full_name: String,
        path: Vec<i32>,
    ) -> EnumId {
        let go_ident = new_go_ident(file, &full_name);
        let value_parent = parent.unwrap_or(&go_ident).name.clone();
        let values = proto
            .value
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut value_path = path.clone();
                value_path.extend([2, i as i32]);
                EnumValue {
                    go_ident: GoIdent {
                        name: format!("{value_parent}_{}", v.name()),
                        import_path: file.go_import_path.clone(),
                    },
                    comments: file.comments(&value_path),
                    proto: v.clone(),
                }
            })
            .collect();
        let id = self.enums.len();
        self.enums_by_name.insert(full_name.clone(), id);
        self.enums.push(Enum {
            package: file.proto.package().to_string(),
            comments: file.comments(&path),
            proto,
            full_name,
            go_ident,
            path,
            values,
        });
        id
    }

    fn new_message(
        &mut self,
        file: &File,
        proto: DescriptorProto,
        full_name: String,
        path: Vec<i32>,
    ) -> MessageId {
        let go_ident = new_go_ident(file, &full_name);
        let id = self.messages.len();
        self.messages_by_name.insert(full_name.clone(), id);
        self.messages.push(Message {
            is_map_entry: proto
                .options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false),
            comments: file.comments(&path),
            proto: proto.clone(),
            full_name: full_name.clone(),
            go_ident: go_ident.clone(),
            path: path.clone(),
            fields: Vec::new(),
            oneofs: Vec::new(),
            enums: Vec::new(),
            messages: Vec::new(),
            extensions: Vec::new(),
        });
        let child = |kind: i32, i: usize| {
            let mut p = path.clone();
            p.extend([kind, i as i32]);
            p
        };
        let mut enums = Vec::new();
        for (i, e) in proto.enum_type.iter().enumerate() {
            let name = format!("{full_name}.{}", e.name());
            enums.push(self.new_enum(file, Some(&go_ident), e.clone(), name, child(4, i)));
        }
        let mut messages = Vec::new();
        for (i, m) in proto.nested_type.iter().enumerate() {
            let name = format!("{full_name}.{}", m.name());
            messages.push(self.new_message(file, m.clone(), name, child(3, i)));
        }
        let mut fields: Vec<Field> = proto
            .field
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = format!("{full_name}.{}", f.name());
                new_field(file, Some(&go_ident), f.clone(), name, child(2, i), false)
            })
            .collect();
        let mut oneofs: Vec<Oneof> = proto
            .oneof_decl
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let go_name = go_camel_case(o.name());
                Oneof {
                    go_ident: GoIdent {
                        name: format!("{}_{go_name}", go_ident.name),
                        import_path: file.go_import_path.clone(),
                    },
                    go_name,
                    proto: o.clone(),
                    fields: Vec::new(),
                    comments: file.comments(&child(8, i)),
                    synthetic: false,
                }
            })
            .collect();
        let extensions = proto
            .extension
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let name = format!("{full_name}.{}", x.name());
                new_field(file, Some(&go_ident), x.clone(), name, child(6, i), true)
            })
            .collect();
        for (i, field) in fields.iter_mut().enumerate() {
            if let Some(index) = field.proto.oneof_index {
                let index = index as usize;
                field.oneof = Some(index);
                if let Some(oneof) = oneofs.get_mut(index) {
                    oneof.fields.push(i);
                }
            }
        }
        for oneof in &mut oneofs {
            oneof.synthetic = oneof.fields.len() == 1
                && fields[oneof.fields[0]]
                    .proto
                    .proto3_optional
                    .unwrap_or(false);
        }
        make_field_names_unique(&go_ident, &mut fields, &mut oneofs);
        let nested_idents: Vec<GoIdent> = messages
            .iter()
            .map(|&m| self.messages[m].go_ident.clone())
            .chain(enums.iter().map(|&e| self.enums[e].go_ident.clone()))
            .collect();
        avoid_oneof_wrapper_conflicts(&mut fields, &nested_idents);

        let message = &mut self.messages[id];
        message.fields = fields;
        message.oneofs = oneofs;
        message.enums = enums;
        message.messages = messages;
        message.extensions = extensions;
        id
    }

    fn new_service(
        &self,
        file: &File,
        proto: ServiceDescriptorProto,
        full_name: String,
        path: Vec<i32>,
    ) -> Result<Service, String> {
        let mut methods = Vec::new();
        for (i, m) in proto.method.iter().enumerate() {
            let mut method_path = path.clone();
            method_path.extend([2, i as i32]);
            let method_name = format!("{full_name}.{}", m.name());
            let lookup = |type_name: &str| {
                let name = type_name.trim_start_matches('.');
                self.messages_by_name
                    .get(name)
                    .copied()
                    .ok_or_else(|| format!("method {method_name}: no descriptor for type {name}"))
            };
            methods.push(Method {
                input: lookup(m.input_type())?,
                output: lookup(m.output_type())?,
                go_name: go_camel_case(m.name()),
                comments: file.comments(&method_path),
                full_name: method_name.clone(),
                proto: m.clone(),
            });
        }
        Ok(Service {
            go_name: go_camel_case(proto.name()),
            full_name,
            methods,
            proto,
        })
    }

    fn resolve_message(&mut self, id: MessageId) -> Result<(), String> {
        let mut fields = std::mem::take(&mut self.messages[id].fields);
        let mut extensions = std::mem::take(&mut self.messages[id].extensions);
        let result = fields
            .iter_mut()
            .chain(extensions.iter_mut())
            .try_for_each(|f| resolve_field(f, &self.messages_by_name, &self.enums_by_name));
        self.messages[id].fields = fields;
        self.messages[id].extensions = extensions;
        result?;
        for nested in self.messages[id].messages.clone() {
            self.resolve_message(nested)?;
        }
        Ok(())
    }

    pub fn file_of_path(&self, path: &str) -> Option<&File> {
        self.files_by_path.get(path).map(|&i| &self.files[i])
    }
}

/// Finds each file's Go import path and package name, with protogen's
/// errors for files that have none.
fn resolve_go_packages(request: &Request, params: &mut Params) -> Result<(), String> {
    for file in &request.proto_files {
        let filename = file.name().to_string();
        let go_package = file
            .options
            .as_ref()
            .and_then(|o| o.go_package.clone())
            .unwrap_or_default();
        let (mut import_path, package_name) = split_import_path_and_package_name(&go_package);
        if params
            .import_paths
            .get(&filename)
            .is_none_or(String::is_empty)
            && !import_path.is_empty()
        {
            params
                .import_paths
                .insert(filename.clone(), import_path.clone());
        }
        if params
            .package_names
            .get(&filename)
            .is_none_or(String::is_empty)
            && !package_name.is_empty()
        {
            params.package_names.insert(filename.clone(), package_name);
        }
        let resolved = params
            .import_paths
            .get(&filename)
            .cloned()
            .unwrap_or_default();
        if resolved.is_empty() {
            return Err(format!(
                "unable to determine Go import path for {}\n\n\
                 Please specify either:\n\
                 \t• a \"go_package\" option in the .proto source file, or\n\
                 \t• a \"M\" argument on the command line.\n\n\
                 See {GO_PACKAGE_DOC_URL} for more information.\n",
                crate::gofmt::go_quote(&filename)
            ));
        }
        if !resolved.contains('.') && !resolved.contains('/') {
            return Err(format!(
                "invalid Go import path {} for {}\n\n\
                 The import path must contain at least one period ('.') or forward slash ('/') character.\n\n\
                 See {GO_PACKAGE_DOC_URL} for more information.\n",
                crate::gofmt::go_quote(&resolved),
                crate::gofmt::go_quote(&filename)
            ));
        }
        if params
            .package_names
            .get(&filename)
            .is_none_or(String::is_empty)
        {
            if import_path.is_empty() {
                import_path = resolved;
            }
            params
                .package_names
                .insert(filename, package_name_for_import_path(&import_path));
        }
    }
    check_consistent_package_names(request, params)
}

/// Every file with the same Go import path must have the same package name.
fn check_consistent_package_names(request: &Request, params: &Params) -> Result<(), String> {
    let mut first_by_path: HashMap<&str, &str> = HashMap::new();
    for file in &request.proto_files {
        let filename = file.name();
        let (Some(path), Some(name)) = (
            params.import_paths.get(filename),
            params.package_names.get(filename),
        ) else {
            continue;
        };
        match first_by_path.get(path.as_str()) {
            None => {
                first_by_path.insert(path, filename);
            }
            Some(&first) => {
                let first_name = &params.package_names[first];
                if first_name != name {
                    return Err(format!(
                        "Go package {} has inconsistent names {first_name} ({first}) and {name} ({filename})",
                        crate::gofmt::go_quote(path)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The proto1 features protodesc rejects (`desc_validate.go`), checked in
/// its order: MessageSet before the message's fields, then nested types.
/// Other validation is left to the compiler that produced the request.
fn reject_legacy_features(file: &FileDescriptorProto) -> Result<(), String> {
    let package = file.package();
    let prefix = if package.is_empty() {
        String::new()
    } else {
        format!("{package}.")
    };
    file.message_type
        .iter()
        .try_for_each(|m| reject_legacy_in_message(m, &format!("{prefix}{}", m.name())))
}

fn reject_legacy_in_message(message: &DescriptorProto, full_name: &str) -> Result<(), String> {
    let options = message.options.as_ref();
    if options
        .and_then(|o| o.message_set_wire_format)
        .unwrap_or(false)
    {
        return Err(format!(
            "message {} is a MessageSet, which is a legacy proto1 feature that is no longer supported",
            crate::gofmt::go_quote(full_name)
        ));
    }
    for field in &message.field {
        if field.options.as_ref().and_then(|o| o.weak).unwrap_or(false) {
            return Err(format!(
                "message field {} is a weak field, which is a legacy proto1 feature that is no longer supported",
                crate::gofmt::go_quote(&format!("{full_name}.{}", field.name()))
            ));
        }
    }
    message
        .nested_type
        .iter()
        .try_for_each(|m| reject_legacy_in_message(m, &format!("{full_name}.{}", m.name())))
}

fn new_go_ident(file: &File, full_name: &str) -> GoIdent {
    let package = file.proto.package();
    let name = if package.is_empty() {
        full_name
    } else {
        full_name
            .strip_prefix(&format!("{package}."))
            .unwrap_or(full_name)
    };
    GoIdent {
        name: go_camel_case(name),
        import_path: file.go_import_path.clone(),
    }
}

fn new_field(
    file: &File,
    parent: Option<&GoIdent>,
    proto: FieldDescriptorProto,
    full_name: String,
    path: Vec<i32>,
    is_extension: bool,
) -> Field {
    let camel = go_camel_case(proto.name());
    let prefix = parent.map(|p| format!("{}_", p.name)).unwrap_or_default();
    Field {
        go_ident: GoIdent {
            name: format!("{prefix}{camel}"),
            import_path: file.go_import_path.clone(),
        },
        go_name: camel,
        comments: file.comments(&path),
        proto,
        full_name,
        oneof: None,
        extendee: None,
        enum_type: None,
        message_type: None,
        is_extension,
        proto3: file.proto3,
    }
}

fn resolve_field(
    field: &mut Field,
    messages: &HashMap<String, MessageId>,
    enums: &HashMap<String, EnumId>,
) -> Result<(), String> {
    let type_name = field.proto.type_name().trim_start_matches('.').to_string();
    match field.kind() {
        Type::Enum => {
            field.enum_type = Some(*enums.get(&type_name).ok_or_else(|| {
                format!(
                    "field {}: no descriptor for enum {type_name}",
                    field.full_name
                )
            })?);
        }
        Type::Message | Type::Group => {
            field.message_type = Some(*messages.get(&type_name).ok_or_else(|| {
                format!(
                    "field {}: no descriptor for type {type_name}",
                    field.full_name
                )
            })?);
        }
        _ => {}
    }
    if field.is_extension {
        let extendee = field.proto.extendee().trim_start_matches('.').to_string();
        field.extendee = Some(*messages.get(&extendee).ok_or_else(|| {
            format!(
                "field {}: no descriptor for type {extendee}",
                field.full_name
            )
        })?);
    }
    Ok(())
}

/// protogen's field name conflict resolution: `_` is appended until the
/// name clashes with no method of the generated type.
fn make_field_names_unique(message: &GoIdent, fields: &mut [Field], oneofs: &mut [Oneof]) {
    let mut used: HashMap<String, bool> = [
        "Reset",
        "String",
        "ProtoMessage",
        "Marshal",
        "Unmarshal",
        "ExtensionRangeArray",
        "ExtensionMap",
        "Descriptor",
    ]
    .into_iter()
    .map(|n| (n.to_string(), true))
    .collect();
    let mut make_unique = |name: &str, has_getter: bool| {
        let mut name = name.to_string();
        while used.get(&name).copied().unwrap_or(false)
            || (has_getter && used.get(&format!("Get{name}")).copied().unwrap_or(false))
        {
            name.push('_');
        }
        used.insert(name.clone(), true);
        used.insert(format!("Get{name}"), has_getter);
        name
    };
    for (i, field) in fields.iter_mut().enumerate() {
        field.go_name = make_unique(&field.go_name, true);
        field.go_ident.name = format!("{}_{}", message.name, field.go_name);
        if let Some(o) = field.oneof
            && oneofs
                .get(o)
                .is_some_and(|oneof| oneof.fields.first() == Some(&i))
        {
            oneofs[o].go_name = make_unique(&oneofs[o].go_name, false);
            oneofs[o].go_ident.name = format!("{}_{}", message.name, oneofs[o].go_name);
        }
    }
}

/// Oneof wrapper types must not collide with nested types.
fn avoid_oneof_wrapper_conflicts(fields: &mut [Field], nested: &[GoIdent]) {
    for field in fields.iter_mut().filter(|f| f.oneof.is_some()) {
        while nested.contains(&field.go_ident) {
            field.go_ident.name.push('_');
        }
    }
}

fn collect_locations(proto: &FileDescriptorProto) -> HashMap<Vec<i32>, Comments> {
    let mut locations = HashMap::new();
    let Some(info) = &proto.source_code_info else {
        return locations;
    };
    for location in &info.location {
        // The first location for a path wins, as in protodesc.
        locations
            .entry(location.path.clone())
            .or_insert_with(|| Comments {
                leading_detached: location.leading_detached_comments.clone(),
                leading: location.leading_comments().to_string(),
                trailing: location.trailing_comments().to_string(),
            });
    }
    locations
}

impl File {
    pub fn comments(&self, path: &[i32]) -> Comments {
        self.locations.get(path).cloned().unwrap_or_default()
    }

    pub fn is_deprecated(&self) -> bool {
        self.proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
    }
}

/// `path.Ext`.
fn extension_of(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(i) => &path[name_start + i..],
        None => "",
    }
}

/// `path.Join` (joins, then cleans).
fn path_join(a: &str, b: &str) -> String {
    let joined = match (a.is_empty(), b.is_empty()) {
        (true, true) => return String::new(),
        (true, false) => b.to_string(),
        (false, true) => a.to_string(),
        (false, false) => format!("{a}/{b}"),
    };
    path_clean(&joined)
}

/// `path.Clean`.
fn path_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_helpers_match_go() {
        assert_eq!(extension_of("a/b.c/d.proto"), ".proto");
        assert_eq!(extension_of("a.b/c"), "");
        assert_eq!(path_join("example.com/x/", "y"), "example.com/x/y");
        assert_eq!(path_clean("a/./b/../c"), "a/c");
    }
}
