//! `X_pb2.pyi`, as protoc's pyi generator (`compiler/python/pyi_generator.cc`)
//! writes it for the open-source runtime.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use protoreg_plugin_sdk::wire::field_type;

use crate::canonical::Node;
use crate::descriptor::{File, LABEL_REPEATED, Pool, number::*};
use crate::names;
use crate::printer::Printer;

const WELL_KNOWN_TYPES: &[&str] = &[
    "google.protobuf.Any",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.ListValue",
    "google.protobuf.Struct",
    "google.protobuf.Timestamp",
];

struct Generator<'g, 'a> {
    file: &'g File,
    pool: &'g Pool<'a>,
    /// Alias each imported file got (a `_1` suffix resolves clashes).
    import_map: RefCell<HashMap<String, String>>,
}

pub fn generate(file: &File, pool: &Pool<'_>) -> String {
    let generator = Generator {
        file,
        pool,
        import_map: RefCell::new(HashMap::new()),
    };
    let mut p = Printer::new(4);
    generator.print_imports(&mut p);
    p.print("DESCRIPTOR: _descriptor.FileDescriptor\n");
    for public in file.public_dependencies() {
        if let Some(public) = pool.file(public) {
            generator.print_extensions(&mut p, public.proto.messages(FILE_EXTENSION));
            for enumeration in public.proto.messages(FILE_ENUM_TYPE) {
                generator.print_enum_values(&mut p, enumeration, &public.name, &[], false);
            }
        }
    }
    for enumeration in file.proto.messages(FILE_ENUM_TYPE) {
        p.print("\n");
        generator.print_enum(&mut p, enumeration, &[]);
    }
    for enumeration in file.proto.messages(FILE_ENUM_TYPE) {
        generator.print_enum_values(&mut p, enumeration, &file.name, &[], false);
    }
    generator.print_extensions(&mut p, file.proto.messages(FILE_EXTENSION));
    for message in file.proto.messages(FILE_MESSAGE_TYPE) {
        generator.print_message(&mut p, message, &[]);
    }
    if file.has_generic_services() {
        for service in file.proto.messages(FILE_SERVICE) {
            let name = service.str_or_empty(SERVICE_NAME);
            p.print(&format!(
                "\nclass {name}(_service.service): ...\n\nclass {name}_Stub({name}): ...\n"
            ));
        }
    }
    p.finish()
}

/// Which helper modules the stub needs (`CheckImportModules`).
#[derive(Default)]
struct ImportModules {
    has_repeated: bool,
    has_iterable: bool,
    has_messages: bool,
    has_enums: bool,
    has_extendable: bool,
    has_mapping: bool,
    has_optional: bool,
    has_union: bool,
    has_well_known_type: bool,
    has_datetime: bool,
}

fn field_type_of(field: &Node) -> i32 {
    field.varint(FIELD_TYPE).unwrap_or_default() as i32
}

fn is_repeated(field: &Node) -> bool {
    field.varint(FIELD_LABEL) == Some(LABEL_REPEATED)
}

fn is_message(field: &Node) -> bool {
    matches!(
        field_type_of(field),
        field_type::MESSAGE | field_type::GROUP
    )
}

fn is_enum(field: &Node) -> bool {
    field_type_of(field) == field_type::ENUM
}

fn type_full_name(field: &Node) -> &str {
    let name = field.str_or_empty(FIELD_TYPE_NAME);
    name.strip_prefix('.').unwrap_or(name)
}

fn is_datetime(full_name: &str) -> bool {
    matches!(
        full_name,
        "google.protobuf.Duration" | "google.protobuf.Timestamp"
    )
}

impl<'g, 'a> Generator<'g, 'a> {
    fn message_of(&self, field: &Node) -> Option<&'a Node> {
        self.pool
            .type_info(type_full_name(field))
            .and_then(|t| t.message)
    }

    /// The entry message when `field` is a map field.
    fn map_entry(&self, field: &Node) -> Option<&'a Node> {
        if !(is_repeated(field) && field_type_of(field) == field_type::MESSAGE) {
            return None;
        }
        self.message_of(field).filter(|m| Pool::is_map_entry(m))
    }

    fn full_name(&self, nesting: &[&str]) -> String {
        let mut name = self.file.package().to_owned();
        for part in nesting {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
        }
        name
    }

    fn check_import_modules(&self, message: &Node, nesting: &[&str], modules: &mut ImportModules) {
        if message.has(MESSAGE_EXTENSION_RANGE) {
            modules.has_extendable = true;
        }
        if message.has(MESSAGE_ENUM_TYPE) {
            modules.has_enums = true;
        }
        if WELL_KNOWN_TYPES.contains(&self.full_name(nesting).as_str()) {
            modules.has_well_known_type = true;
        }
        for field in message.messages(MESSAGE_FIELD) {
            if names::is_keyword(field.str_or_empty(FIELD_NAME)) {
                continue;
            }
            modules.has_optional = true;
            if is_repeated(field) {
                modules.has_repeated = true;
            }
            if let Some(entry) = self.map_entry(field) {
                modules.has_mapping = true;
                if let Some(value) = entry.messages(MESSAGE_FIELD).nth(1) {
                    if is_message(value) {
                        modules.has_union = true;
                        if is_datetime(type_full_name(value)) {
                            modules.has_datetime = true;
                        }
                    }
                    if is_enum(value) {
                        modules.has_union = true;
                    }
                }
            } else {
                if is_repeated(field) {
                    modules.has_iterable = true;
                }
                if is_message(field) {
                    modules.has_union = true;
                    modules.has_mapping = true;
                    if is_datetime(type_full_name(field)) {
                        modules.has_datetime = true;
                    }
                }
                if is_enum(field) {
                    modules.has_union = true;
                }
            }
        }
        for nested in message.messages(MESSAGE_NESTED_TYPE) {
            let mut nested_nesting = nesting.to_vec();
            nested_nesting.push(nested.str_or_empty(MESSAGE_NAME));
            self.check_import_modules(nested, &nested_nesting, modules);
        }
    }

    fn print_import(
        &self,
        p: &mut Printer,
        file_name: &str,
        seen: &mut HashSet<String>,
        has_importlib: &mut bool,
    ) {
        let module = names::module_name(file_name);
        let last = module.rsplit('.').next().unwrap_or(&module);
        let mut alias = format!("_{last}");
        while seen.contains(&alias) {
            alias.push_str("_1");
        }
        if names::contains_keyword(&module) {
            if !*has_importlib {
                p.print("import importlib\n");
                *has_importlib = true;
            }
            p.print(&format!("{alias} = importlib.import_module('{module}')\n"));
        } else {
            p.print(&format!(
                "{} as {alias}\n",
                names::import_statement(&module)
            ));
            self.import_map
                .borrow_mut()
                .insert(file_name.to_owned(), alias.clone());
            seen.insert(alias);
        }
    }

    fn print_imports(&self, p: &mut Printer) {
        let proto = &self.file.proto;
        let mut modules = ImportModules {
            has_messages: proto.has(FILE_MESSAGE_TYPE),
            has_enums: proto.has(FILE_ENUM_TYPE),
            ..ImportModules::default()
        };
        for message in proto.messages(FILE_MESSAGE_TYPE) {
            self.check_import_modules(message, &[message.str_or_empty(MESSAGE_NAME)], &mut modules);
        }
        if modules.has_datetime {
            p.print("import datetime\n\n");
        }
        let mut seen = HashSet::new();
        let mut has_importlib = false;
        for dependency in self.file.dependencies() {
            self.print_import(p, dependency, &mut seen, &mut has_importlib);
            if let Some(dependency) = self.pool.file(dependency) {
                for public in dependency.public_dependencies() {
                    self.print_import(p, public, &mut seen, &mut has_importlib);
                }
            }
        }
        print_helper_imports(p, &modules, self.file.has_generic_services());
        for public in self.file.public_dependencies() {
            let module = names::module_name(public);
            if let Some(public) = self.pool.file(public) {
                for message in public.proto.messages(FILE_MESSAGE_TYPE) {
                    let name = message.str_or_empty(MESSAGE_NAME);
                    p.print(&format!("from {module} import {name} as {name}\n"));
                }
                for enumeration in public.proto.messages(FILE_ENUM_TYPE) {
                    let name = enumeration.str_or_empty(ENUM_NAME);
                    p.print(&format!("from {module} import {name} as {name}\n"));
                }
            }
        }
        p.print("\n");
    }

    /// `ModuleLevelName`: the dotted Python name of a type, qualified with
    /// its module alias when it lives in another file.
    fn module_level_name(&self, type_file: &str, nesting: &[&str]) -> String {
        let mut name = nested_python_name(nesting);
        if type_file != self.file.name {
            let alias = self
                .import_map
                .borrow()
                .get(type_file)
                .cloned()
                .unwrap_or_else(|| {
                    let module = names::module_name(type_file);
                    format!("_{}", module.rsplit('.').next().unwrap_or(&module))
                });
            name = format!("{alias}.{name}");
        }
        name
    }

    fn type_name_of(&self, field: &Node) -> String {
        match self.pool.type_info(type_full_name(field)) {
            Some(info) => self.module_level_name(info.file, &info.nesting),
            None => type_full_name(field).to_owned(),
        }
    }

    /// `GetFieldType`.
    fn field_type(&self, field: &Node, containing: &[&str]) -> String {
        use field_type::*;
        match field_type_of(field) {
            INT32 | UINT32 | INT64 | UINT64 | SINT32 | SINT64 | FIXED32 | FIXED64 | SFIXED32
            | SFIXED64 => "int".to_owned(),
            DOUBLE | FLOAT => "float".to_owned(),
            BOOL => "bool".to_owned(),
            STRING => "str".to_owned(),
            BYTES => "bytes".to_owned(),
            ENUM => self.type_name_of(field),
            _ => {
                let name = self.type_name_of(field);
                // A nested message's field whose type shares the nested
                // message's name is qualified with the module for clarity.
                if containing.len() > 1 && containing.last() == Some(&name.as_str()) {
                    format!("{}.{name}", names::module_name(&self.file.name))
                } else {
                    name
                }
            }
        }
    }

    fn print_enum(&self, p: &mut Printer, enumeration: &Node, parents: &[&str]) {
        let name = enumeration.str_or_empty(ENUM_NAME);
        p.print(&format!(
            "class {name}(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):\n    __slots__ = ()\n"
        ));
        p.indent();
        self.print_enum_values(p, enumeration, &self.file.name, parents, true);
        p.outdent();
    }

    fn print_enum_values(
        &self,
        p: &mut Printer,
        enumeration: &Node,
        file: &str,
        parents: &[&str],
        classvar: bool,
    ) {
        let mut nesting = parents.to_vec();
        nesting.push(enumeration.str_or_empty(ENUM_NAME));
        let enum_name = self.module_level_name(file, &nesting);
        for value in enumeration.messages(ENUM_VALUE) {
            let name = value.str_or_empty(ENUM_VALUE_NAME);
            if classvar {
                p.print(&format!("{name}: _ClassVar[{enum_name}]\n"));
            } else {
                p.print(&format!("{name}: {enum_name}\n"));
            }
        }
    }

    fn print_extensions<'n>(&self, p: &mut Printer, extensions: impl Iterator<Item = &'n Node>) {
        for extension in extensions {
            let name = extension.str_or_empty(FIELD_NAME);
            p.print(&format!(
                "{}_FIELD_NUMBER: _ClassVar[int]\n{name}: _descriptor.FieldDescriptor\n",
                name.to_ascii_uppercase()
            ));
        }
    }

    fn print_message(&self, p: &mut Printer, message: &Node, parents: &[&str]) {
        if parents.is_empty() {
            p.print("\n");
        }
        let class_name = message.str_or_empty(MESSAGE_NAME);
        let mut nesting = parents.to_vec();
        nesting.push(class_name);
        let full_name = self.full_name(&nesting);
        let extra_base = if WELL_KNOWN_TYPES.contains(&full_name.as_str()) {
            format!(", _well_known_types.{class_name}")
        } else {
            String::new()
        };
        p.print(&format!(
            "class {class_name}(_message.Message{extra_base}):\n"
        ));
        p.indent();
        let fields: Vec<&Node> = message.messages(MESSAGE_FIELD).collect();
        let named: Vec<&str> = fields
            .iter()
            .map(|f| f.str_or_empty(FIELD_NAME))
            .filter(|n| !names::is_keyword(n))
            .collect();
        let slots: Vec<String> = named.iter().map(|n| format!("\"{n}\"")).collect();
        let close = if slots.len() == 1 { ",)" } else { ")" };
        p.print(&format!("__slots__ = ({}{close}\n", slots.join(", ")));
        if message.has(MESSAGE_EXTENSION_RANGE) {
            p.print("Extensions: _python_message._ExtensionDict\n");
        }
        for enumeration in message.messages(MESSAGE_ENUM_TYPE) {
            self.print_enum(p, enumeration, &nesting);
            self.print_enum_values(p, enumeration, &self.file.name, &nesting, false);
        }
        for nested in message.messages(MESSAGE_NESTED_TYPE) {
            self.print_message(p, nested, &nesting);
        }
        self.print_extensions(p, message.messages(MESSAGE_EXTENSION));
        for field in &fields {
            p.print(&format!(
                "{}_FIELD_NUMBER: _ClassVar[int]\n",
                field.str_or_empty(FIELD_NAME).to_ascii_uppercase()
            ));
        }
        for field in &fields {
            let name = field.str_or_empty(FIELD_NAME);
            if names::is_keyword(name) {
                continue;
            }
            p.print(&format!(
                "{name}: {}\n",
                self.attribute_type(field, &nesting)
            ));
        }
        self.print_init(p, &fields, &nesting);
        p.outdent();
    }

    fn attribute_type(&self, field: &Node, nesting: &[&str]) -> String {
        if let Some(entry) = self.map_entry(field) {
            let mut entry_fields = entry.messages(MESSAGE_FIELD);
            let (Some(key), Some(value)) = (entry_fields.next(), entry_fields.next()) else {
                return String::new();
            };
            let container = if is_message(value) {
                "_containers.MessageMap["
            } else {
                "_containers.ScalarMap["
            };
            return format!(
                "{container}{}, {}]",
                self.field_type(key, nesting),
                self.field_type(value, nesting)
            );
        }
        let element = self.field_type(field, nesting);
        if !is_repeated(field) {
            element
        } else if is_message(field) {
            format!("_containers.RepeatedCompositeFieldContainer[{element}]")
        } else {
            format!("_containers.RepeatedScalarFieldContainer[{element}]")
        }
    }

    fn init_type(&self, field: &Node, nesting: &[&str]) -> String {
        if let Some(entry) = self.map_entry(field) {
            let mut entry_fields = entry.messages(MESSAGE_FIELD);
            let (Some(key), Some(value)) = (entry_fields.next(), entry_fields.next()) else {
                return String::new();
            };
            return format!(
                "_Mapping[{}, {}]",
                self.field_type(key, nesting),
                self.field_type(value, nesting)
            );
        }
        let element = if is_message(field) {
            let extra = match type_full_name(field) {
                "google.protobuf.Timestamp" => "datetime.datetime, ",
                "google.protobuf.Duration" => "datetime.timedelta, ",
                _ => "",
            };
            format!(
                "_Union[{extra}{}, _Mapping]",
                self.field_type(field, nesting)
            )
        } else if is_enum(field) {
            format!("_Union[{}, str]", self.type_name_of(field))
        } else {
            self.field_type(field, nesting)
        };
        if is_repeated(field) {
            format!("_Iterable[{element}]")
        } else {
            element
        }
    }

    fn print_init(&self, p: &mut Printer, fields: &[&Node], nesting: &[&str]) {
        // A field called `self` may be passed as a keyword; the positional
        // self parameter gets underscores until the names differ.
        let mut self_name = "self".to_owned();
        while fields
            .iter()
            .any(|f| f.str_or_empty(FIELD_NAME) == self_name)
        {
            self_name.push('_');
        }
        let mut line = format!("def __init__({self_name}");
        let mut has_keywords = false;
        for field in fields {
            let name = field.str_or_empty(FIELD_NAME);
            if names::is_keyword(name) {
                has_keywords = true;
                continue;
            }
            line.push_str(&format!(
                ", {name}: _Optional[{}] = ...",
                self.init_type(field, nesting)
            ));
        }
        if has_keywords {
            line.push_str(", **kwargs");
        }
        line.push_str(") -> None: ...\n");
        p.print(&line);
    }
}

/// `Outer.Inner` with keyword-named parts made reachable
/// (`NamePrefixedWithNestedTypes(descriptor, ".")`).
fn nested_python_name(nesting: &[&str]) -> String {
    let mut name = String::new();
    for (i, part) in nesting.iter().enumerate() {
        if i == 0 {
            name = if nesting.len() == 1 {
                names::resolve_keyword(part)
            } else {
                (*part).to_owned()
            };
        } else if names::is_keyword(part) {
            name = format!("getattr({name}, '{part}')");
        } else {
            name = format!("{name}.{part}");
        }
    }
    name
}

fn print_helper_imports(p: &mut Printer, modules: &ImportModules, generic_services: bool) {
    if modules.has_repeated {
        p.print("from google.protobuf.internal import containers as _containers\n");
    }
    if modules.has_enums {
        p.print("from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper\n");
    }
    if modules.has_extendable {
        p.print("from google.protobuf.internal import python_message as _python_message\n");
    }
    if modules.has_well_known_type {
        p.print("from google.protobuf.internal import well_known_types as _well_known_types\n");
    }
    p.print("from google.protobuf import descriptor as _descriptor\n");
    if modules.has_messages {
        p.print("from google.protobuf import message as _message\n");
    }
    if generic_services {
        p.print("from google.protobuf import service as _service\n");
    }
    if modules.has_iterable || modules.has_mapping {
        let mut parts = Vec::new();
        if modules.has_iterable {
            parts.push("Iterable as _Iterable");
        }
        if modules.has_mapping {
            parts.push("Mapping as _Mapping");
        }
        p.print(&format!(
            "from collections.abc import {}\n",
            parts.join(", ")
        ));
    }
    let mut typing = String::from("from typing import ClassVar as _ClassVar");
    if modules.has_optional {
        typing.push_str(", Optional as _Optional");
    }
    if modules.has_union {
        typing.push_str(", Union as _Union");
    }
    typing.push('\n');
    p.print(&typing);
}
