//! An indexed, read-only view of an [`Image`](crate::Image): every message,
//! field, enum, value, service and method with its fully-qualified name, its
//! source path and its resolved features. Rules read this view only.

use std::collections::{BTreeMap, HashMap};

use crate::descriptor::{self as pb, FeatureSet};
use crate::features::{self, Features};
use crate::image::Image;
use crate::violation::{Location, Span};

/// Index of a [`File`] in [`Schema::files`].
pub type FileId = usize;
/// Index of a [`Message`] in [`Schema::messages`].
pub type MessageId = usize;
/// Index of a [`Field`] (a message field or an extension) in [`Schema::fields`].
pub type FieldId = usize;
/// Index of a [`Oneof`] in [`Schema::oneofs`].
pub type OneofId = usize;
/// Index of an [`Enum`] in [`Schema::enums`].
pub type EnumId = usize;
/// Index of an [`EnumValue`] in [`Schema::enum_values`].
pub type EnumValueId = usize;
/// Index of a [`Service`] in [`Schema::services`].
pub type ServiceId = usize;
/// Index of a [`Method`] in [`Schema::methods`].
pub type MethodId = usize;

/// `FieldDescriptorProto.Type` values.
#[allow(missing_docs)]
pub mod field_type {
    pub const DOUBLE: i32 = 1;
    pub const FLOAT: i32 = 2;
    pub const INT64: i32 = 3;
    pub const UINT64: i32 = 4;
    pub const INT32: i32 = 5;
    pub const FIXED64: i32 = 6;
    pub const FIXED32: i32 = 7;
    pub const BOOL: i32 = 8;
    pub const STRING: i32 = 9;
    pub const GROUP: i32 = 10;
    pub const MESSAGE: i32 = 11;
    pub const BYTES: i32 = 12;
    pub const UINT32: i32 = 13;
    pub const ENUM: i32 = 14;
    pub const SFIXED32: i32 = 15;
    pub const SFIXED64: i32 = 16;
    pub const SINT32: i32 = 17;
    pub const SINT64: i32 = 18;
}

/// `FieldDescriptorProto.Label` values.
#[allow(missing_docs)]
pub mod label {
    pub const OPTIONAL: i32 = 1;
    pub const REQUIRED: i32 = 2;
    pub const REPEATED: i32 = 3;
}

/// The syntax of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `syntax = "proto2"` or no syntax statement.
    Proto2,
    /// `syntax = "proto3"`.
    Proto3,
    /// `edition = "..."`, with the edition number (1000 for 2023).
    Editions(i32),
}

impl Syntax {
    /// The edition number protobuf uses for feature defaults.
    pub fn edition(self) -> i32 {
        match self {
            Syntax::Proto2 => features::EDITION_PROTO2,
            Syntax::Proto3 => features::EDITION_PROTO3,
            Syntax::Editions(edition) => edition,
        }
    }

    /// The name buf prints for this syntax.
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Proto2 => "proto2",
            Syntax::Proto3 => "proto3",
            Syntax::Editions(_) => "editions",
        }
    }
}

/// The wire kind of a field, as Go's `protoreflect.Kind` (a message field
/// with delimited encoding is a group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Group,
    Message,
    Bytes,
    Uint32,
    Enum,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
}

impl Kind {
    fn from_type(ty: i32) -> Option<Kind> {
        use field_type::*;
        Some(match ty {
            DOUBLE => Kind::Double,
            FLOAT => Kind::Float,
            INT64 => Kind::Int64,
            UINT64 => Kind::Uint64,
            INT32 => Kind::Int32,
            FIXED64 => Kind::Fixed64,
            FIXED32 => Kind::Fixed32,
            BOOL => Kind::Bool,
            STRING => Kind::String,
            GROUP => Kind::Group,
            MESSAGE => Kind::Message,
            BYTES => Kind::Bytes,
            UINT32 => Kind::Uint32,
            ENUM => Kind::Enum,
            SFIXED32 => Kind::Sfixed32,
            SFIXED64 => Kind::Sfixed64,
            SINT32 => Kind::Sint32,
            SINT64 => Kind::Sint64,
            _ => return None,
        })
    }

    /// The lower-case name Go prints for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Double => "double",
            Kind::Float => "float",
            Kind::Int64 => "int64",
            Kind::Uint64 => "uint64",
            Kind::Int32 => "int32",
            Kind::Fixed64 => "fixed64",
            Kind::Fixed32 => "fixed32",
            Kind::Bool => "bool",
            Kind::String => "string",
            Kind::Group => "group",
            Kind::Message => "message",
            Kind::Bytes => "bytes",
            Kind::Uint32 => "uint32",
            Kind::Enum => "enum",
            Kind::Sfixed32 => "sfixed32",
            Kind::Sfixed64 => "sfixed64",
            Kind::Sint32 => "sint32",
            Kind::Sint64 => "sint64",
        }
    }
}

/// Source spans of one file, keyed by source path (first location wins, as
/// in Go's `SourceLocations.ByPath`, except that a later location enclosing
/// the first one wins: protox records `json_name = "x"` twice, as the whole
/// option and as its value, in either order, where protoc and buf record the
/// whole option first or only).
#[derive(Debug, Clone, Default)]
pub struct SourceSpans {
    by_path: HashMap<Vec<i32>, Span>,
}

impl SourceSpans {
    fn new(info: Option<&pb::SourceCodeInfo>) -> Self {
        let mut by_path = HashMap::new();
        for location in info.map(|i| i.location.as_slice()).unwrap_or_default() {
            let span = match location.span.as_slice() {
                [line, col, end_col] => Span::from_zero_based(*line, *col, *line, *end_col),
                [line, col, end_line, end_col] => {
                    Span::from_zero_based(*line, *col, *end_line, *end_col)
                }
                _ => continue,
            };
            by_path
                .entry(location.path.clone())
                .and_modify(|first: &mut Span| {
                    if encloses(&span, first) {
                        *first = span;
                    }
                })
                .or_insert(span);
        }
        SourceSpans { by_path }
    }

    /// The span of the element at `path`, if the source info has one.
    pub fn get(&self, path: &[i32]) -> Option<Span> {
        self.by_path.get(path).copied()
    }
}

/// Whether `outer` strictly encloses `inner`.
fn encloses(outer: &Span, inner: &Span) -> bool {
    let start = |s: &Span| (s.start_line, s.start_column);
    let end = |s: &Span| (s.end_line, s.end_column);
    outer != inner && start(outer) <= start(inner) && end(inner) <= end(outer)
}

/// One file of a schema.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub package: String,
    pub syntax: Syntax,
    pub is_import: bool,
    pub options: pb::FileOptions,
    pub spans: SourceSpans,
    /// Top-level messages.
    pub messages: Vec<MessageId>,
    /// Top-level enums.
    pub enums: Vec<EnumId>,
    pub services: Vec<ServiceId>,
    /// Top-level extensions.
    pub extensions: Vec<FieldId>,
    pub features: Features,
}

/// A message.
#[derive(Debug, Clone)]
pub struct Message {
    pub file: FileId,
    pub name: String,
    pub full_name: String,
    /// The name without the package, e.g. `Outer.Inner`.
    pub nested_name: String,
    pub path: Vec<i32>,
    pub parent: Option<MessageId>,
    pub fields: Vec<FieldId>,
    pub extensions: Vec<FieldId>,
    pub oneofs: Vec<OneofId>,
    pub messages: Vec<MessageId>,
    pub enums: Vec<EnumId>,
    /// Inclusive ranges.
    pub reserved_ranges: Vec<(i32, i32)>,
    pub reserved_names: Vec<String>,
    /// Inclusive ranges.
    pub extension_ranges: Vec<(i32, i32)>,
    pub is_map_entry: bool,
    pub message_set_wire_format: bool,
    pub no_standard_descriptor_accessor: bool,
    pub features: Features,
}

/// A field of a message or an extension.
#[derive(Debug, Clone)]
pub struct Field {
    pub file: FileId,
    pub name: String,
    pub full_name: String,
    pub number: i32,
    /// Raw `label` of the descriptor.
    pub label: i32,
    /// Raw `type` of the descriptor.
    pub ty: i32,
    /// Raw `type_name`, e.g. `.pkg.Message`.
    pub type_name: String,
    /// Raw `extendee`; empty for a message field.
    pub extendee: String,
    /// The message declaring the field, or the scope of an extension.
    pub parent: Option<MessageId>,
    pub oneof: Option<OneofId>,
    pub proto3_optional: bool,
    pub json_name: String,
    pub default_value: Option<String>,
    pub ctype: Option<i32>,
    pub jstype: i32,
    pub path: Vec<i32>,
    pub features: Features,
}

impl Field {
    /// Whether this is an extension.
    pub fn is_extension(&self) -> bool {
        !self.extendee.is_empty()
    }
}

/// A oneof.
#[derive(Debug, Clone)]
pub struct Oneof {
    pub message: MessageId,
    pub name: String,
    pub path: Vec<i32>,
    pub fields: Vec<FieldId>,
    /// A proto3 `optional` oneof.
    pub synthetic: bool,
}

/// An enum.
#[derive(Debug, Clone)]
pub struct Enum {
    pub file: FileId,
    pub name: String,
    pub full_name: String,
    pub nested_name: String,
    pub path: Vec<i32>,
    pub values: Vec<EnumValueId>,
    /// Inclusive ranges.
    pub reserved_ranges: Vec<(i32, i32)>,
    pub reserved_names: Vec<String>,
    pub features: Features,
}

/// An enum value.
#[derive(Debug, Clone)]
pub struct EnumValue {
    pub enum_id: EnumId,
    pub name: String,
    pub number: i32,
    pub path: Vec<i32>,
}

/// A service.
#[derive(Debug, Clone)]
pub struct Service {
    pub file: FileId,
    pub name: String,
    pub full_name: String,
    pub path: Vec<i32>,
    pub methods: Vec<MethodId>,
}

/// A method of a service.
#[derive(Debug, Clone)]
pub struct Method {
    pub service: ServiceId,
    pub name: String,
    pub input_type: String,
    pub output_type: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub idempotency_level: i32,
    pub path: Vec<i32>,
}

/// The indexed view of one image.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub files: Vec<File>,
    pub messages: Vec<Message>,
    pub fields: Vec<Field>,
    pub oneofs: Vec<Oneof>,
    pub enums: Vec<Enum>,
    pub enum_values: Vec<EnumValue>,
    pub services: Vec<Service>,
    pub methods: Vec<Method>,
    message_by_name: HashMap<String, MessageId>,
    enum_by_name: HashMap<String, EnumId>,
    /// Source path of a synthetic map entry message → path of its map
    /// field's type (where buf reports elements of the entry).
    map_entry_type_paths: HashMap<(FileId, Vec<i32>), Vec<i32>>,
}

impl Schema {
    /// Indexes every file of `image`.
    pub fn new(image: &Image) -> Self {
        let mut schema = Schema::default();
        for file in image.files() {
            Builder {
                schema: &mut schema,
            }
            .add_file(&file.descriptor, file.is_import);
        }
        schema.message_by_name = schema
            .messages
            .iter()
            .enumerate()
            .map(|(id, m)| (m.full_name.clone(), id))
            .collect();
        schema.enum_by_name = schema
            .enums
            .iter()
            .enumerate()
            .map(|(id, e)| (e.full_name.clone(), id))
            .collect();
        for field in 0..schema.fields.len() {
            if let Some(entry) = schema.field_message(field).filter(|_| schema.is_map(field)) {
                let f = &schema.fields[field];
                let entry = &schema.messages[entry];
                if entry.file == f.file {
                    let mut type_path = f.path.clone();
                    type_path.push(6);
                    schema
                        .map_entry_type_paths
                        .insert((f.file, entry.path.clone()), type_path);
                }
            }
        }
        schema
    }

    /// The message with this fully-qualified name (no leading dot).
    pub fn message_by_name(&self, full_name: &str) -> Option<MessageId> {
        self.message_by_name.get(full_name).copied()
    }

    /// The enum with this fully-qualified name (no leading dot).
    pub fn enum_by_name(&self, full_name: &str) -> Option<EnumId> {
        self.enum_by_name.get(full_name).copied()
    }

    /// The file by name.
    pub fn file_by_name(&self, name: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.name == name)
    }

    /// The location of the element at `path` in `file`, or `None` when the
    /// source info has no such element (buf then reports no location).
    ///
    /// Elements of a synthetic map entry (which has no source of its own) are
    /// located at the map field's type, as buf does.
    pub fn location(&self, file: FileId, path: &[i32]) -> Option<Location> {
        let f = &self.files[file];
        let span = f.spans.get(path).or_else(|| {
            (2..=path.len()).rev().find_map(|len| {
                self.map_entry_type_paths
                    .get(&(file, path[..len].to_vec()))
                    .and_then(|type_path| f.spans.get(type_path))
            })
        })?;
        Some(Location {
            file: f.name.clone(),
            span: Some(span),
        })
    }

    /// The first of `paths` that has a location in `file`.
    pub fn location_with_backup(&self, file: FileId, paths: &[&[i32]]) -> Option<Location> {
        paths.iter().find_map(|path| self.location(file, path))
    }

    /// A location naming `file` without a span.
    pub fn file_location(&self, file: FileId) -> Location {
        Location {
            file: self.files[file].name.clone(),
            span: None,
        }
    }

    /// Messages of `file` (nested included) by nested name.
    pub fn file_messages(&self, file: FileId) -> BTreeMap<String, MessageId> {
        let mut out = BTreeMap::new();
        let mut stack: Vec<MessageId> = self.files[file].messages.clone();
        while let Some(id) = stack.pop() {
            out.insert(self.messages[id].nested_name.clone(), id);
            stack.extend(self.messages[id].messages.iter().copied());
        }
        out
    }

    /// Enums of `file` (nested included) by nested name.
    pub fn file_enums(&self, file: FileId) -> BTreeMap<String, EnumId> {
        self.enums
            .iter()
            .enumerate()
            .filter(|(_, e)| e.file == file)
            .map(|(id, e)| (e.nested_name.clone(), id))
            .collect()
    }

    /// Extensions of `file` (nested included) by nested name.
    pub fn file_extensions(&self, file: FileId) -> BTreeMap<String, FieldId> {
        let package = &self.files[file].package;
        self.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.file == file && f.is_extension())
            .map(|(id, f)| (strip_package(&f.full_name, package).to_string(), id))
            .collect()
    }

    /// Services of `file` by name.
    pub fn file_services(&self, file: FileId) -> BTreeMap<String, ServiceId> {
        self.files[file]
            .services
            .iter()
            .map(|id| (self.services[*id].name.clone(), *id))
            .collect()
    }

    /// The resolved kind of a field (message fields with delimited encoding
    /// are groups).
    pub fn kind(&self, field: FieldId) -> Option<Kind> {
        let f = &self.fields[field];
        let kind = Kind::from_type(f.ty)?;
        if kind == Kind::Message
            && f.features.message_encoding == features::message_encoding::DELIMITED
            && !self.is_map(field)
        {
            return Some(Kind::Group);
        }
        Some(kind)
    }

    /// The message type of a message or group field.
    pub fn field_message(&self, field: FieldId) -> Option<MessageId> {
        let f = &self.fields[field];
        if f.ty != field_type::MESSAGE && f.ty != field_type::GROUP {
            return None;
        }
        self.message_by_name(f.type_name.trim_start_matches('.'))
    }

    /// Whether a field is a map.
    pub fn is_map(&self, field: FieldId) -> bool {
        let f = &self.fields[field];
        f.label == label::REPEATED
            && self
                .field_message(field)
                .is_some_and(|m| self.messages[m].is_map_entry)
    }

    /// The message a field belongs to (the extendee for extensions).
    pub fn containing_message(&self, field: FieldId) -> Option<MessageId> {
        let f = &self.fields[field];
        if f.is_extension() {
            self.message_by_name(f.extendee.trim_start_matches('.'))
        } else {
            f.parent
        }
    }

    /// Whether a field is required (label or `LEGACY_REQUIRED` presence).
    pub fn is_required(&self, field: FieldId) -> bool {
        let f = &self.fields[field];
        f.label == label::REQUIRED
            || (matches!(self.files[f.file].syntax, Syntax::Editions(_))
                && f.label != label::REPEATED
                && f.features.field_presence == features::presence::LEGACY_REQUIRED)
    }

    /// Whether a field tracks presence, as Go's `HasPresence`.
    pub fn has_presence(&self, field: FieldId) -> bool {
        let f = &self.fields[field];
        if f.label == label::REPEATED {
            return false;
        }
        if f.is_extension() {
            return true;
        }
        let is_message = matches!(f.ty, field_type::MESSAGE | field_type::GROUP);
        match self.files[f.file].syntax {
            Syntax::Proto2 => true,
            Syntax::Proto3 => is_message || f.oneof.is_some(),
            Syntax::Editions(_) => {
                is_message
                    || f.oneof.is_some()
                    || f.features.field_presence != features::presence::IMPLICIT
            }
        }
    }

    /// The non-synthetic oneof of a field.
    pub fn real_oneof(&self, field: FieldId) -> Option<OneofId> {
        self.fields[field]
            .oneof
            .filter(|o| !self.oneofs[*o].synthetic)
    }

    /// Whether an enum is closed.
    pub fn enum_is_closed(&self, id: EnumId) -> bool {
        self.enums[id].features.enum_type == features::enum_type::CLOSED
    }
}

/// The part of `full_name` after `package.`.
pub fn strip_package<'a>(full_name: &'a str, package: &str) -> &'a str {
    if package.is_empty() {
        full_name
    } else {
        full_name
            .strip_prefix(package)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(full_name)
    }
}

struct Builder<'a> {
    schema: &'a mut Schema,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn with(path: &[i32], tail: &[i32]) -> Vec<i32> {
    let mut out = path.to_vec();
    out.extend_from_slice(tail);
    out
}

impl Builder<'_> {
    fn add_file(&mut self, proto: &pb::FileDescriptorProto, is_import: bool) {
        let syntax = match proto.syntax.as_deref() {
            Some("proto3") => Syntax::Proto3,
            Some("editions") => Syntax::Editions(proto.edition.unwrap_or(features::EDITION_2023)),
            _ => Syntax::Proto2,
        };
        let options = proto.options.clone().unwrap_or_default();
        let file_features = Features::defaults(syntax.edition()).merge(options.features.as_ref());
        let file_id = self.schema.files.len();
        let package = proto.package.clone().unwrap_or_default();
        self.schema.files.push(File {
            name: proto.name.clone().unwrap_or_default(),
            package: package.clone(),
            syntax,
            is_import,
            options,
            spans: SourceSpans::new(proto.source_code_info.as_ref()),
            messages: Vec::new(),
            enums: Vec::new(),
            services: Vec::new(),
            extensions: Vec::new(),
            features: file_features,
        });
        let ctx = Scope {
            file: file_id,
            package: &package,
            prefix: package.clone(),
            parent: None,
            features: file_features,
        };
        for (i, message) in proto.message_type.iter().enumerate() {
            let id = self.add_message(&ctx, message, vec![4, i as i32]);
            self.schema.files[file_id].messages.push(id);
        }
        for (i, e) in proto.enum_type.iter().enumerate() {
            let id = self.add_enum(&ctx, e, vec![5, i as i32]);
            self.schema.files[file_id].enums.push(id);
        }
        for (i, field) in proto.extension.iter().enumerate() {
            let id = self.add_field(&ctx, field, vec![7, i as i32], None);
            self.schema.files[file_id].extensions.push(id);
        }
        for (i, service) in proto.service.iter().enumerate() {
            let id = self.add_service(&ctx, service, vec![6, i as i32]);
            self.schema.files[file_id].services.push(id);
        }
    }

    fn add_message(
        &mut self,
        scope: &Scope<'_>,
        proto: &pb::DescriptorProto,
        path: Vec<i32>,
    ) -> MessageId {
        let name = proto.name.clone().unwrap_or_default();
        let full_name = join(&scope.prefix, &name);
        let options = proto.options.clone().unwrap_or_default();
        let message_features = scope.features.merge(options.features.as_ref());
        let id = self.schema.messages.len();
        self.schema.messages.push(Message {
            file: scope.file,
            name: name.clone(),
            nested_name: strip_package(&full_name, scope.package).to_string(),
            full_name: full_name.clone(),
            path: path.clone(),
            parent: scope.parent,
            fields: Vec::new(),
            extensions: Vec::new(),
            oneofs: Vec::new(),
            messages: Vec::new(),
            enums: Vec::new(),
            reserved_ranges: exclusive_ranges(&proto.reserved_range),
            reserved_names: proto.reserved_name.clone(),
            extension_ranges: exclusive_ranges(&proto.extension_range),
            is_map_entry: options.map_entry.unwrap_or(false),
            message_set_wire_format: options.message_set_wire_format.unwrap_or(false),
            no_standard_descriptor_accessor: options
                .no_standard_descriptor_accessor
                .unwrap_or(false),
            features: message_features,
        });
        let inner = Scope {
            file: scope.file,
            package: scope.package,
            prefix: full_name,
            parent: Some(id),
            features: message_features,
        };
        let mut oneof_ids = Vec::new();
        for (i, oneof) in proto.oneof_decl.iter().enumerate() {
            let oneof_id = self.schema.oneofs.len();
            self.schema.oneofs.push(Oneof {
                message: id,
                name: oneof.name.clone().unwrap_or_default(),
                path: with(&path, &[8, i as i32]),
                fields: Vec::new(),
                synthetic: false,
            });
            oneof_ids.push((
                oneof_id,
                oneof.options.as_ref().and_then(|o| o.features.clone()),
            ));
        }
        for (i, field) in proto.field.iter().enumerate() {
            let oneof = field
                .oneof_index
                .and_then(|index| oneof_ids.get(index as usize).cloned());
            let field_id =
                self.add_field(&inner, field, with(&path, &[2, i as i32]), oneof.clone());
            self.schema.messages[id].fields.push(field_id);
            if let Some((oneof_id, _)) = oneof {
                self.schema.oneofs[oneof_id].fields.push(field_id);
                if field.proto3_optional.unwrap_or(false) {
                    self.schema.oneofs[oneof_id].synthetic = true;
                }
            }
        }
        self.schema.messages[id].oneofs = oneof_ids.iter().map(|(o, _)| *o).collect();
        for (i, field) in proto.extension.iter().enumerate() {
            let field_id = self.add_field(&inner, field, with(&path, &[6, i as i32]), None);
            self.schema.messages[id].extensions.push(field_id);
        }
        for (i, nested) in proto.nested_type.iter().enumerate() {
            let nested_id = self.add_message(&inner, nested, with(&path, &[3, i as i32]));
            self.schema.messages[id].messages.push(nested_id);
        }
        for (i, e) in proto.enum_type.iter().enumerate() {
            let enum_id = self.add_enum(&inner, e, with(&path, &[4, i as i32]));
            self.schema.messages[id].enums.push(enum_id);
        }
        id
    }

    fn add_field(
        &mut self,
        scope: &Scope<'_>,
        proto: &pb::FieldDescriptorProto,
        path: Vec<i32>,
        oneof: Option<(OneofId, Option<FeatureSet>)>,
    ) -> FieldId {
        let name = proto.name.clone().unwrap_or_default();
        let options = proto.options.clone().unwrap_or_default();
        let mut field_features = scope.features;
        if let Some((_, oneof_features)) = &oneof {
            field_features = field_features.merge(oneof_features.as_ref());
        }
        field_features = field_features.merge(options.features.as_ref());
        let id = self.schema.fields.len();
        self.schema.fields.push(Field {
            file: scope.file,
            full_name: join(&scope.prefix, &name),
            json_name: proto
                .json_name
                .clone()
                .unwrap_or_else(|| json_camel_case(&name)),
            name,
            number: proto.number.unwrap_or_default(),
            label: proto.label.unwrap_or(label::OPTIONAL),
            ty: proto.r#type.unwrap_or_default(),
            type_name: proto.type_name.clone().unwrap_or_default(),
            extendee: proto.extendee.clone().unwrap_or_default(),
            parent: scope.parent,
            oneof: oneof.map(|(o, _)| o),
            proto3_optional: proto.proto3_optional.unwrap_or(false),
            default_value: proto.default_value.clone(),
            ctype: options.ctype,
            jstype: options.jstype.unwrap_or(0),
            path,
            features: field_features,
        });
        id
    }

    fn add_enum(
        &mut self,
        scope: &Scope<'_>,
        proto: &pb::EnumDescriptorProto,
        path: Vec<i32>,
    ) -> EnumId {
        let name = proto.name.clone().unwrap_or_default();
        let full_name = join(&scope.prefix, &name);
        let id = self.schema.enums.len();
        let enum_features = scope
            .features
            .merge(proto.options.as_ref().and_then(|o| o.features.as_ref()));
        self.schema.enums.push(Enum {
            file: scope.file,
            name,
            nested_name: strip_package(&full_name, scope.package).to_string(),
            full_name,
            path: path.clone(),
            values: Vec::new(),
            reserved_ranges: proto
                .reserved_range
                .iter()
                .map(|r| (r.start.unwrap_or_default(), r.end.unwrap_or_default()))
                .collect(),
            reserved_names: proto.reserved_name.clone(),
            features: enum_features,
        });
        for (i, value) in proto.value.iter().enumerate() {
            let value_id = self.schema.enum_values.len();
            self.schema.enum_values.push(EnumValue {
                enum_id: id,
                name: value.name.clone().unwrap_or_default(),
                number: value.number.unwrap_or_default(),
                path: with(&path, &[2, i as i32]),
            });
            self.schema.enums[id].values.push(value_id);
        }
        id
    }

    fn add_service(
        &mut self,
        scope: &Scope<'_>,
        proto: &pb::ServiceDescriptorProto,
        path: Vec<i32>,
    ) -> ServiceId {
        let name = proto.name.clone().unwrap_or_default();
        let id = self.schema.services.len();
        self.schema.services.push(Service {
            file: scope.file,
            full_name: join(&scope.prefix, &name),
            name,
            path: path.clone(),
            methods: Vec::new(),
        });
        for (i, method) in proto.method.iter().enumerate() {
            let method_id = self.schema.methods.len();
            self.schema.methods.push(Method {
                service: id,
                name: method.name.clone().unwrap_or_default(),
                input_type: method.input_type.clone().unwrap_or_default(),
                output_type: method.output_type.clone().unwrap_or_default(),
                client_streaming: method.client_streaming.unwrap_or(false),
                server_streaming: method.server_streaming.unwrap_or(false),
                idempotency_level: method
                    .options
                    .as_ref()
                    .and_then(|o| o.idempotency_level)
                    .unwrap_or(0),
                path: with(&path, &[2, i as i32]),
            });
            self.schema.services[id].methods.push(method_id);
        }
        id
    }
}

struct Scope<'a> {
    file: FileId,
    package: &'a str,
    prefix: String,
    parent: Option<MessageId>,
    features: Features,
}

fn exclusive_ranges(ranges: &[pb::Range]) -> Vec<(i32, i32)> {
    ranges
        .iter()
        .map(|r| (r.start.unwrap_or_default(), r.end.unwrap_or_default() - 1))
        .collect()
}

/// protoc's default JSON name: drop underscores, upper-case the letter after each.
///
/// The plugins have the same rule as `protoreg_plugin_sdk::wire::json_name`;
/// compat keeps its own because it must not depend on the plugin SDK, and
/// prost-reflect computes the name only inside a `DescriptorPool`.
pub fn json_camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;
    for c in name.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_camel_case_matches_protoc() {
        assert_eq!(json_camel_case("foo_bar_baz"), "fooBarBaz");
        assert_eq!(json_camel_case("foo__bar"), "fooBar");
        assert_eq!(json_camel_case("Foo"), "Foo");
        assert_eq!(json_camel_case("foo_"), "foo");
    }

    #[test]
    fn an_enclosing_location_of_the_same_path_wins() {
        let location = |span: Vec<i32>| pb::SourceLocation {
            path: vec![4, 0, 2, 0, 10],
            span,
        };
        // protox: `json_name = "jn"` (whole option) and `"jn"` (value), in
        // either order; buf reports the whole option.
        for order in [
            [vec![3, 24, 42], vec![3, 36, 42]],
            [vec![3, 36, 42], vec![3, 24, 42]],
        ] {
            let info = pb::SourceCodeInfo {
                location: order.into_iter().map(location).collect(),
            };
            let span = SourceSpans::new(Some(&info)).get(&[4, 0, 2, 0, 10]);
            assert_eq!(span, Some(Span::from_zero_based(3, 24, 3, 42)));
        }
        // Disjoint locations of one path (two `extend` blocks): the first.
        let info = pb::SourceCodeInfo {
            location: vec![location(vec![1, 0, 10]), location(vec![5, 0, 10])],
        };
        let span = SourceSpans::new(Some(&info)).get(&[4, 0, 2, 0, 10]);
        assert_eq!(span, Some(Span::from_zero_based(1, 0, 1, 10)));
    }

    #[test]
    fn strip_package_only_strips_whole_components() {
        assert_eq!(strip_package("foo.v1.A.B", "foo.v1"), "A.B");
        assert_eq!(strip_package("A", ""), "A");
        assert_eq!(strip_package("foo.v10.A", "foo.v1"), "foo.v10.A");
    }
}
