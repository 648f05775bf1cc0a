//! Random proto2/proto3 schemas and random changes to them, for the
//! differential fuzzer (`fuzz.rs`).
//!
//! A schema is generated as a small model (files, messages, enums, services,
//! extensions), mutated, then *repaired* so that both sides compile with
//! protox and buf: dangling type references become scalars, import cycles are
//! cut, numbers and names stay unique, syntax constraints hold. Every name
//! comes from one counter, so names never collide (also after a rename or a
//! move) and JSON names never conflict.
//!
//! Rendering avoids the known differences between protox's source info and
//! buf's (see `tests/compat/*/known-difference.txt`): no tabs and no field
//! defaults. Type references are always fully qualified (`.pkg.Msg`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use protoreg_compat::model::json_camel_case;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

const SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
];
const MAP_KEYS: &[&str] = &[
    "int32", "int64", "uint32", "sint64", "fixed32", "bool", "string",
];
/// Groups of scalars that share a wire type: changes within a group are what
/// the WIRE rules accept (and some of them what WIRE_JSON accepts).
const WIRE_GROUPS: &[&[&str]] = &[
    &["int32", "int64", "uint32", "uint64", "bool"],
    &["sint32", "sint64"],
    &["fixed32", "sfixed32"],
    &["fixed64", "sfixed64"],
    &["string", "bytes"],
];
/// Prefix of a `check` query in `repair_references`: may this type be a map
/// value?
const MAP_VALUE: &str = "map-value:";
const PACKAGES: &[&str] = &["pa.v1", "pa.v1", "pb.v1", "pc.v1beta1", "pa.v2", ""];
const DIRS: &[&str] = &["", "pa/v1/", "pb/", "x/y/"];

#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    /// No label: proto3 implicit presence, `optional` in proto2.
    Implicit,
    Optional,
    Required,
    Repeated,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    Scalar(&'static str),
    /// A message or enum by full name (no leading dot).
    Named(String),
    Map(&'static str, Box<FieldType>),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub number: u32,
    pub label: Label,
    pub ty: FieldType,
    pub oneof: Option<String>,
    pub json_name: Option<String>,
    pub jstype: Option<&'static str>,
    pub ctype: Option<&'static str>,
    pub deprecated: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Message {
    pub name: String,
    pub fields: Vec<Field>,
    pub oneofs: Vec<String>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub reserved_ranges: Vec<(u32, u32)>,
    pub reserved_names: Vec<String>,
    pub extension_ranges: Vec<(u32, u32)>,
    pub no_standard_descriptor_accessor: Option<bool>,
    pub deprecated: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Enum {
    pub name: String,
    pub values: Vec<(String, i32)>,
    pub reserved_ranges: Vec<(i32, i32)>,
    pub reserved_names: Vec<String>,
    pub deprecated: bool,
}

#[derive(Clone, Debug)]
pub struct Rpc {
    pub name: String,
    pub input: String,
    pub output: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub idempotency: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub rpcs: Vec<Rpc>,
}

#[derive(Clone, Debug)]
pub struct Extension {
    pub extendee: String,
    pub field: Field,
}

#[derive(Clone, Debug)]
pub struct ProtoFile {
    pub name: String,
    pub proto3: bool,
    pub package: String,
    pub options: BTreeMap<&'static str, String>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub services: Vec<Service>,
    pub extensions: Vec<Extension>,
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub files: Vec<ProtoFile>,
}

/// The random source and the name counter shared by both sides of a pair.
pub struct Gen {
    pub rng: StdRng,
    counter: u32,
}

impl Gen {
    pub fn new(rng: StdRng) -> Self {
        Gen { rng, counter: 0 }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("non-empty choice")
    }
}

// ------------------------------------------------------------------ paths

/// A message: its file and the indexes down the nesting.
#[derive(Clone, Debug)]
struct MsgPath {
    file: usize,
    path: Vec<usize>,
}

/// An enum: its file, the message path holding it (empty: top level), index.
#[derive(Clone, Debug)]
struct EnumPath {
    file: usize,
    parent: Vec<usize>,
    index: usize,
}

fn message_paths(schema: &Schema) -> Vec<MsgPath> {
    fn walk(messages: &[Message], file: usize, prefix: &mut Vec<usize>, out: &mut Vec<MsgPath>) {
        for (i, m) in messages.iter().enumerate() {
            prefix.push(i);
            out.push(MsgPath {
                file,
                path: prefix.clone(),
            });
            walk(&m.messages, file, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    for (f, file) in schema.files.iter().enumerate() {
        walk(&file.messages, f, &mut Vec::new(), &mut out);
    }
    out
}

fn enum_paths(schema: &Schema) -> Vec<EnumPath> {
    let mut out = Vec::new();
    for (f, file) in schema.files.iter().enumerate() {
        for index in 0..file.enums.len() {
            out.push(EnumPath {
                file: f,
                parent: Vec::new(),
                index,
            });
        }
    }
    for p in message_paths(schema) {
        for index in 0..message(schema, &p).enums.len() {
            out.push(EnumPath {
                file: p.file,
                parent: p.path.clone(),
                index,
            });
        }
    }
    out
}

fn message<'a>(schema: &'a Schema, p: &MsgPath) -> &'a Message {
    let mut m = &schema.files[p.file].messages[p.path[0]];
    for &i in &p.path[1..] {
        m = &m.messages[i];
    }
    m
}

fn message_mut<'a>(schema: &'a mut Schema, p: &MsgPath) -> &'a mut Message {
    let mut m = &mut schema.files[p.file].messages[p.path[0]];
    for &i in &p.path[1..] {
        m = &mut m.messages[i];
    }
    m
}

fn enum_list_mut<'a>(schema: &'a mut Schema, file: usize, parent: &[usize]) -> &'a mut Vec<Enum> {
    if parent.is_empty() {
        &mut schema.files[file].enums
    } else {
        let p = MsgPath {
            file,
            path: parent.to_vec(),
        };
        &mut message_mut(schema, &p).enums
    }
}

fn enum_mut<'a>(schema: &'a mut Schema, p: &EnumPath) -> &'a mut Enum {
    &mut enum_list_mut(schema, p.file, &p.parent)[p.index]
}

fn full_name(package: &str, names: &[&str]) -> String {
    let mut out = package.to_owned();
    for n in names {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(n);
    }
    out
}

fn message_full_name(schema: &Schema, p: &MsgPath) -> String {
    let file = &schema.files[p.file];
    let mut names = Vec::new();
    let mut m = &file.messages[p.path[0]];
    names.push(m.name.as_str());
    for &i in &p.path[1..] {
        m = &m.messages[i];
        names.push(m.name.as_str());
    }
    full_name(&file.package, &names)
}

/// Every type by full name: (file index, is enum).
fn type_index(schema: &Schema) -> BTreeMap<String, (usize, bool)> {
    let mut out = BTreeMap::new();
    for p in message_paths(schema) {
        out.insert(message_full_name(schema, &p), (p.file, false));
    }
    for e in enum_paths(schema) {
        let parent = if e.parent.is_empty() {
            schema.files[e.file].package.clone()
        } else {
            message_full_name(
                schema,
                &MsgPath {
                    file: e.file,
                    path: e.parent.clone(),
                },
            )
        };
        let name = &schema.files[e.file].enums_at(&e.parent)[e.index].name;
        out.insert(full_name(&parent, &[name]), (e.file, true));
    }
    out
}

impl ProtoFile {
    fn enums_at(&self, parent: &[usize]) -> &[Enum] {
        if parent.is_empty() {
            &self.enums
        } else {
            let mut m = &self.messages[parent[0]];
            for &i in &parent[1..] {
                m = &m.messages[i];
            }
            &m.enums
        }
    }
}

/// Rewrites every reference to `old` (or a type nested in it) to `new`.
fn rename_refs(schema: &mut Schema, old: &str, new: &str) {
    let rewrite = |name: &mut String| {
        if name == old {
            *name = new.to_owned();
        } else if let Some(rest) = name.strip_prefix(old).filter(|r| r.starts_with('.')) {
            *name = format!("{new}{rest}");
        }
    };
    fn rewrite_type(ty: &mut FieldType, rewrite: &dyn Fn(&mut String)) {
        match ty {
            FieldType::Named(n) => rewrite(n),
            FieldType::Map(_, v) => rewrite_type(v, rewrite),
            FieldType::Scalar(_) => {}
        }
    }
    fn walk(m: &mut Message, rewrite: &dyn Fn(&mut String)) {
        for f in &mut m.fields {
            rewrite_type(&mut f.ty, rewrite);
        }
        for n in &mut m.messages {
            walk(n, rewrite);
        }
    }
    for file in &mut schema.files {
        for m in &mut file.messages {
            walk(m, &rewrite);
        }
        for s in &mut file.services {
            for r in &mut s.rpcs {
                rewrite(&mut r.input);
                rewrite(&mut r.output);
            }
        }
        for e in &mut file.extensions {
            rewrite(&mut e.extendee);
            rewrite_type(&mut e.field.ty, &rewrite);
        }
    }
}

// ------------------------------------------------------------- generation

pub fn generate(g: &mut Gen) -> Schema {
    let mut schema = Schema::default();
    let files = 1 + g.below(3);
    for _ in 0..files {
        let file = new_file(g, &schema);
        schema.files.push(file);
    }
    repair(&mut schema);
    schema
}

fn new_file(g: &mut Gen, schema: &Schema) -> ProtoFile {
    let proto3 = g.chance(0.65);
    let package = g.pick(PACKAGES).to_owned();
    let dir = g.pick(DIRS);
    let name = format!("{dir}{}.proto", g.fresh("file_"));
    let mut file = ProtoFile {
        name,
        proto3,
        package,
        options: BTreeMap::new(),
        messages: Vec::new(),
        enums: Vec::new(),
        services: Vec::new(),
        extensions: Vec::new(),
    };
    for _ in 0..g.below(3) {
        set_random_file_option(g, &mut file);
    }
    // Types first (without references), then fields that may refer to
    // types of this file and of earlier files.
    for _ in 0..1 + g.below(3) {
        let m = new_message(g, proto3, 0);
        file.messages.push(m);
    }
    for _ in 0..g.below(3) {
        let e = new_enum(g);
        file.enums.push(e);
    }
    let mut with_file = schema.clone();
    with_file.files.push(file);
    let index = type_index(&with_file);
    let names: Vec<(String, bool)> = index.iter().map(|(n, (_, e))| (n.clone(), *e)).collect();
    let file_index = with_file.files.len() - 1;
    for p in message_paths(&with_file)
        .into_iter()
        .filter(|p| p.file == file_index)
    {
        let count = g.below(6);
        for _ in 0..count {
            let field = new_field(g, &names, proto3);
            message_mut(&mut with_file, &p).fields.push(field);
        }
        let m = message_mut(&mut with_file, &p);
        if g.chance(0.3) && !m.fields.is_empty() {
            let oneof = g.fresh("oneof_");
            for f in m.fields.iter_mut().rev().take(2) {
                if !matches!(f.ty, FieldType::Map(..)) {
                    f.oneof = Some(oneof.clone());
                    f.label = Label::Implicit;
                }
            }
            m.oneofs.push(oneof);
        }
    }
    let mut file = with_file.files.pop().expect("the new file");
    let messages: Vec<String> = names
        .iter()
        .filter(|(_, e)| !e)
        .map(|(n, _)| n.clone())
        .collect();
    if !messages.is_empty() && g.chance(0.5) {
        let mut service = Service {
            name: g.fresh("Svc"),
            rpcs: Vec::new(),
        };
        for _ in 0..1 + g.below(3) {
            service.rpcs.push(new_rpc(g, &messages));
        }
        file.services.push(service);
    }
    if !proto3 {
        let extendable: Vec<String> = extendable_messages(&with_file, &file);
        for _ in 0..g.below(3) {
            if let Some(extendee) = extendable.choose(&mut g.rng).cloned() {
                let mut field = new_field(g, &names, false);
                if matches!(field.ty, FieldType::Map(..)) {
                    field.ty = FieldType::Scalar("int32");
                }
                field.number = 100 + g.below(100) as u32;
                field.json_name = None;
                file.extensions.push(Extension { extendee, field });
            }
        }
    }
    file
}

/// Full names of proto2 messages with extension ranges, in `schema` and `file`.
fn extendable_messages(schema: &Schema, file: &ProtoFile) -> Vec<String> {
    let mut all = schema.clone();
    all.files.push(file.clone());
    message_paths(&all)
        .into_iter()
        .filter(|p| !all.files[p.file].proto3 && !message(&all, p).extension_ranges.is_empty())
        .map(|p| message_full_name(&all, &p))
        .collect()
}

fn new_message(g: &mut Gen, proto3: bool, depth: usize) -> Message {
    let mut m = Message {
        name: g.fresh("Msg"),
        ..Message::default()
    };
    if depth < 2 {
        for _ in 0..g.below(2) {
            if g.chance(0.5) {
                let nested = new_message(g, proto3, depth + 1);
                m.messages.push(nested);
            } else {
                let nested = new_enum(g);
                m.enums.push(nested);
            }
        }
    }
    if g.chance(0.25) {
        let start = 70 + g.below(10) as u32;
        m.reserved_ranges.push((start, start + g.below(3) as u32));
    }
    if g.chance(0.2) {
        let name = g.fresh("gone_");
        m.reserved_names.push(name);
    }
    if !proto3 && g.chance(0.4) {
        m.extension_ranges.push((100, 199));
    }
    if g.chance(0.1) {
        m.no_standard_descriptor_accessor = Some(g.chance(0.5));
    }
    m
}

fn new_enum(g: &mut Gen) -> Enum {
    let name = g.fresh("Enum");
    let mut e = Enum {
        name,
        ..Enum::default()
    };
    let prefix = e.name.to_uppercase();
    let mut numbers: BTreeSet<i32> = BTreeSet::from([0]);
    e.values.push((g.fresh(&format!("{prefix}_V")), 0));
    for _ in 0..g.below(4) {
        let n = g.rng.random_range(1..20);
        if numbers.insert(n) {
            let value = g.fresh(&format!("{prefix}_V"));
            e.values.push((value, n));
        }
    }
    if g.chance(0.25) {
        let start = 30 + g.below(5) as i32;
        e.reserved_ranges.push((start, start + g.below(3) as i32));
    }
    if g.chance(0.2) {
        let name = g.fresh(&format!("{prefix}_GONE"));
        e.reserved_names.push(name);
    }
    e
}

fn random_type(g: &mut Gen, names: &[(String, bool)]) -> FieldType {
    if !names.is_empty() && g.chance(0.3) {
        return FieldType::Named(names[g.below(names.len())].0.clone());
    }
    if g.chance(0.1) {
        let value = if !names.is_empty() && g.chance(0.4) {
            FieldType::Named(names[g.below(names.len())].0.clone())
        } else {
            FieldType::Scalar(g.pick(SCALARS))
        };
        return FieldType::Map(g.pick(MAP_KEYS), Box::new(value));
    }
    FieldType::Scalar(g.pick(SCALARS))
}

fn random_label(g: &mut Gen, proto3: bool) -> Label {
    match g.below(10) {
        0..=4 => Label::Implicit,
        5 | 6 => Label::Optional,
        7 | 8 => Label::Repeated,
        _ if proto3 => Label::Optional,
        _ => Label::Required,
    }
}

fn new_field(g: &mut Gen, names: &[(String, bool)], proto3: bool) -> Field {
    let ty = random_type(g, names);
    let label = if matches!(ty, FieldType::Map(..)) {
        Label::Implicit
    } else {
        random_label(g, proto3)
    };
    let mut field = Field {
        name: g.fresh("field_"),
        number: 1 + g.below(40) as u32,
        label,
        ty,
        oneof: None,
        json_name: None,
        jstype: None,
        ctype: None,
        deprecated: false,
    };
    if g.chance(0.1) {
        field.json_name = Some(g.fresh("jn"));
    }
    if g.chance(0.15) {
        set_random_field_option(g, &mut field);
    }
    field
}

fn new_rpc(g: &mut Gen, messages: &[String]) -> Rpc {
    Rpc {
        name: g.fresh("Rpc"),
        input: messages[g.below(messages.len())].clone(),
        output: messages[g.below(messages.len())].clone(),
        client_streaming: g.chance(0.2),
        server_streaming: g.chance(0.2),
        idempotency: g
            .chance(0.15)
            .then(|| g.pick(&["NO_SIDE_EFFECTS", "IDEMPOTENT", "IDEMPOTENCY_UNKNOWN"])),
    }
}

fn set_random_file_option(g: &mut Gen, file: &mut ProtoFile) {
    let quoted = |s: &str| format!("\"{s}\"");
    let (name, value) = match g.below(16) {
        0 => (
            "go_package",
            quoted(g.pick(&["example.com/a", "example.com/b;b"])),
        ),
        1 => ("java_package", quoted(g.pick(&["com.a", "com.b"]))),
        2 => ("java_multiple_files", g.pick(&["true", "false"]).to_owned()),
        3 => ("java_outer_classname", quoted(g.pick(&["Outer", "Other"]))),
        4 => ("csharp_namespace", quoted(g.pick(&["A.B", "C"]))),
        5 => ("objc_class_prefix", quoted(g.pick(&["ABC", "XYZ"]))),
        6 => ("php_namespace", quoted(g.pick(&["A\\\\B", "C"]))),
        7 => ("optimize_for", g.pick(&["SPEED", "CODE_SIZE"]).to_owned()),
        8 => ("cc_enable_arenas", g.pick(&["true", "false"]).to_owned()),
        9 => ("ruby_package", quoted(g.pick(&["A::B", "C"]))),
        10 => ("swift_prefix", quoted(g.pick(&["AB", "CD"]))),
        11 => ("php_class_prefix", quoted(g.pick(&["P", "Q"]))),
        12 => ("php_metadata_namespace", quoted(g.pick(&["M", "N"]))),
        13 => (
            "java_string_check_utf8",
            g.pick(&["true", "false"]).to_owned(),
        ),
        14 => ("cc_generic_services", g.pick(&["true", "false"]).to_owned()),
        _ => (
            g.pick(&["java_generic_services", "py_generic_services"]),
            g.pick(&["true", "false"]).to_owned(),
        ),
    };
    file.options.insert(name, value);
}

fn set_random_field_option(g: &mut Gen, field: &mut Field) {
    match g.below(4) {
        0 => field.jstype = Some(g.pick(&["JS_STRING", "JS_NUMBER", "JS_NORMAL"])),
        1 => field.ctype = Some(g.pick(&["CORD", "STRING", "STRING_PIECE"])),
        2 => field.deprecated = !field.deprecated,
        _ => {
            field.jstype = None;
            field.ctype = None;
        }
    }
}

// --------------------------------------------------------------- mutation

/// What a mutation did, for the failure report.
pub fn mutate(g: &mut Gen, schema: &mut Schema) -> Vec<String> {
    let count = 1 + g.below(4);
    let mut applied = Vec::new();
    for _ in 0..count {
        if let Some(what) = mutate_once(g, schema) {
            applied.push(what);
        }
    }
    repair(schema);
    applied
}

fn all_type_names(schema: &Schema) -> Vec<(String, bool)> {
    type_index(schema)
        .into_iter()
        .map(|(n, (_, e))| (n, e))
        .collect()
}

fn mutate_once(g: &mut Gen, schema: &mut Schema) -> Option<String> {
    let messages = message_paths(schema);
    let enums = enum_paths(schema);
    let kind = g.below(30);
    match kind {
        0..=13 => {
            let p = messages.choose(&mut g.rng)?.clone();
            mutate_message(g, schema, &p, kind)
        }
        14..=17 => {
            let p = enums.choose(&mut g.rng)?.clone();
            mutate_enum(g, schema, &p)
        }
        18..=20 => mutate_service(g, schema),
        21 | 22 => mutate_file(g, schema),
        23 => {
            // Delete a message or an enum anywhere.
            if g.chance(0.5) {
                let p = messages.choose(&mut g.rng)?.clone();
                let (last, parent) = p.path.split_last()?;
                if parent.is_empty() {
                    schema.files[p.file].messages.remove(*last);
                } else {
                    let parent = MsgPath {
                        file: p.file,
                        path: parent.to_vec(),
                    };
                    message_mut(schema, &parent).messages.remove(*last);
                }
                Some("delete message".into())
            } else {
                let p = enums.choose(&mut g.rng)?.clone();
                enum_list_mut(schema, p.file, &p.parent).remove(p.index);
                Some("delete enum".into())
            }
        }
        24 | 25 => move_type(g, schema),
        26 => {
            // Rename a message or enum, updating references.
            let p = messages.choose(&mut g.rng)?.clone();
            let old = message_full_name(schema, &p);
            let name = g.fresh("Msg");
            message_mut(schema, &p).name = name;
            let new = message_full_name(schema, &p);
            rename_refs(schema, &old, &new);
            Some(format!("rename message {old} to {new}"))
        }
        27 => {
            let file = g.below(schema.files.len().max(1));
            let f = schema.files.get_mut(file)?;
            let ext = f.extensions.len();
            if ext == 0 {
                return None;
            }
            let i = g.below(ext);
            if g.chance(0.5) {
                f.extensions.remove(i);
                Some("delete extension".into())
            } else {
                f.extensions[i].field.ty = FieldType::Scalar(g.pick(SCALARS));
                Some("change extension type".into())
            }
        }
        _ => {
            // Change the syntax of a file.
            let file = g.below(schema.files.len().max(1));
            let f = schema.files.get_mut(file)?;
            f.proto3 = !f.proto3;
            Some(format!("syntax of {} to proto3={}", f.name, f.proto3))
        }
    }
}

fn mutate_message(g: &mut Gen, schema: &mut Schema, p: &MsgPath, kind: usize) -> Option<String> {
    let names = all_type_names(schema);
    let proto3 = schema.files[p.file].proto3;
    let m = message_mut(schema, p);
    let name = m.name.clone();
    let field_count = m.fields.len();
    let fi = if field_count > 0 {
        Some(g.below(field_count))
    } else {
        None
    };
    match (kind, fi) {
        (0, Some(i)) => {
            let f = m.fields.remove(i);
            if g.chance(0.4) {
                m.reserved_ranges.push((f.number, f.number));
            }
            if g.chance(0.4) {
                m.reserved_names.push(f.name.clone());
            }
            Some(format!("delete field {name}.{}", f.name))
        }
        (1, Some(i)) => {
            m.fields[i].name = g.fresh("field_");
            Some(format!("rename field {name}.{}", m.fields[i].number))
        }
        (2, Some(i)) => {
            m.fields[i].number = 1 + g.below(45) as u32;
            Some(format!("renumber field {name}.{}", m.fields[i].name))
        }
        (3 | 4, Some(i)) => {
            let f = &mut m.fields[i];
            f.ty = match (&f.ty, g.below(3)) {
                (FieldType::Scalar(s), 0) => {
                    let group = WIRE_GROUPS.iter().find(|grp| grp.contains(s));
                    FieldType::Scalar(g.pick(group.copied().unwrap_or(SCALARS)))
                }
                (FieldType::Map(_, v), 1) => FieldType::Map(g.pick(MAP_KEYS), v.clone()),
                (FieldType::Named(_), 1) if g.chance(0.5) => FieldType::Scalar("int32"),
                _ => random_type(g, &names),
            };
            Some(format!("change type of {name}.{}", f.name))
        }
        (5, Some(i)) => {
            m.fields[i].label = random_label(g, proto3);
            Some(format!("change label of {name}.{}", m.fields[i].name))
        }
        (6, Some(i)) => {
            if m.fields[i].oneof.is_some() {
                m.fields[i].oneof = None;
                Some(format!("move {name}.{} out of its oneof", m.fields[i].name))
            } else {
                let oneof = match m.oneofs.choose(&mut g.rng) {
                    Some(o) if g.chance(0.6) => o.clone(),
                    _ => {
                        let o = g.fresh("oneof_");
                        m.oneofs.push(o.clone());
                        o
                    }
                };
                m.fields[i].oneof = Some(oneof);
                m.fields[i].label = Label::Implicit;
                Some(format!("move {name}.{} into a oneof", m.fields[i].name))
            }
        }
        (7, Some(i)) => {
            let f = &mut m.fields[i];
            f.json_name = match g.below(3) {
                0 => None,
                1 => Some(g.fresh("jn")),
                _ => Some(json_camel_case(&f.name)),
            };
            Some(format!("json_name of {name}.{}", f.name))
        }
        (8, Some(i)) => {
            set_random_field_option(g, &mut m.fields[i]);
            Some(format!("options of {name}.{}", m.fields[i].name))
        }
        (9, _) => {
            let f = new_field(g, &names, proto3);
            m.fields.push(f);
            Some(format!("add field to {name}"))
        }
        (10, _) => {
            match g.below(5) {
                0 => {
                    let n = 1 + g.below(45) as u32;
                    m.reserved_ranges.push((n, n + g.below(2) as u32));
                }
                1 => {
                    let n = match fi {
                        Some(i) if g.chance(0.5) => m.fields[i].name.clone(),
                        _ => g.fresh("gone_"),
                    };
                    m.reserved_names.push(n);
                }
                2 if !m.reserved_ranges.is_empty() => {
                    let i = g.below(m.reserved_ranges.len());
                    m.reserved_ranges.remove(i);
                }
                3 if !m.reserved_names.is_empty() => {
                    let i = g.below(m.reserved_names.len());
                    m.reserved_names.remove(i);
                }
                _ => {
                    if m.extension_ranges.is_empty() {
                        m.extension_ranges.push((100, 199));
                    } else {
                        let (s, e) = m.extension_ranges.remove(0);
                        if g.chance(0.5) {
                            m.extension_ranges.push((s, e - 50));
                        }
                    }
                }
            }
            Some(format!("reserved/extension ranges of {name}"))
        }
        (11, _) => {
            m.no_standard_descriptor_accessor = match g.below(3) {
                0 => None,
                1 => Some(true),
                _ => Some(false),
            };
            m.deprecated = g.chance(0.3);
            Some(format!("options of {name}"))
        }
        (12, _) if !m.oneofs.is_empty() => {
            let i = g.below(m.oneofs.len());
            let oneof = m.oneofs[i].clone();
            if g.chance(0.5) {
                m.oneofs.remove(i);
                for f in &mut m.fields {
                    if f.oneof.as_ref() == Some(&oneof) {
                        f.oneof = None;
                    }
                }
                Some(format!("delete oneof {name}.{oneof}"))
            } else {
                let new = g.fresh("oneof_");
                m.oneofs[i] = new.clone();
                for f in &mut m.fields {
                    if f.oneof.as_ref() == Some(&oneof) {
                        f.oneof = Some(new.clone());
                    }
                }
                Some(format!("rename oneof {name}.{oneof}"))
            }
        }
        (13, _) => {
            if g.chance(0.5) {
                let nested = new_message(g, proto3, p.path.len());
                m.messages.push(nested);
            } else {
                let nested = new_enum(g);
                m.enums.push(nested);
            }
            Some(format!("add nested type to {name}"))
        }
        _ => None,
    }
}

fn mutate_enum(g: &mut Gen, schema: &mut Schema, p: &EnumPath) -> Option<String> {
    let e = enum_mut(schema, p);
    let name = e.name.clone();
    let prefix = name.to_uppercase();
    let i = g.below(e.values.len().max(1));
    match g.below(7) {
        0 if !e.values.is_empty() => {
            let (value, number) = e.values.remove(i);
            if g.chance(0.4) {
                e.reserved_ranges.push((number, number));
            }
            if g.chance(0.4) {
                e.reserved_names.push(value.clone());
            }
            Some(format!("delete enum value {value}"))
        }
        1 if !e.values.is_empty() => {
            e.values[i].0 = g.fresh(&format!("{prefix}_V"));
            Some(format!("rename enum value {name}.{}", e.values[i].1))
        }
        2 if !e.values.is_empty() => {
            e.values[i].1 = g.rng.random_range(0..25);
            Some(format!("renumber enum value {}", e.values[i].0))
        }
        3 => {
            let value = g.fresh(&format!("{prefix}_V"));
            e.values.push((value, g.rng.random_range(1..25)));
            Some(format!("add value to {name}"))
        }
        4 => {
            let n = g.rng.random_range(0..25);
            e.reserved_ranges.push((n, n + g.below(2) as i32));
            Some(format!("reserve numbers in {name}"))
        }
        5 => {
            if !e.reserved_ranges.is_empty() && g.chance(0.5) {
                e.reserved_ranges.pop();
            } else if !e.reserved_names.is_empty() && g.chance(0.5) {
                e.reserved_names.pop();
            } else {
                let n = g.fresh(&format!("{prefix}_GONE"));
                e.reserved_names.push(n);
            }
            Some(format!("reserved of {name}"))
        }
        _ => {
            e.deprecated = !e.deprecated;
            Some(format!("deprecate {name}"))
        }
    }
}

fn mutate_service(g: &mut Gen, schema: &mut Schema) -> Option<String> {
    let messages: Vec<String> = message_paths(schema)
        .iter()
        .map(|p| message_full_name(schema, p))
        .collect();
    let file = g.below(schema.files.len().max(1));
    let f = schema.files.get_mut(file)?;
    if f.services.is_empty() || g.chance(0.1) {
        if messages.is_empty() {
            return None;
        }
        let mut service = Service {
            name: g.fresh("Svc"),
            rpcs: Vec::new(),
        };
        service.rpcs.push(new_rpc(g, &messages));
        f.services.push(service);
        return Some(format!("add service to {}", f.name));
    }
    let si = g.below(f.services.len());
    let s = &mut f.services[si];
    if s.rpcs.is_empty() || g.chance(0.1) {
        if g.chance(0.5) || messages.is_empty() {
            let name = f.services.remove(si).name;
            return Some(format!("delete service {name}"));
        }
        s.rpcs.push(new_rpc(g, &messages));
        return Some(format!("add rpc to {}", s.name));
    }
    let ri = g.below(s.rpcs.len());
    let r = &mut s.rpcs[ri];
    let what = match g.below(7) {
        0 if !messages.is_empty() => {
            r.input = messages[g.below(messages.len())].clone();
            "request type"
        }
        1 if !messages.is_empty() => {
            r.output = messages[g.below(messages.len())].clone();
            "response type"
        }
        2 => {
            r.client_streaming = !r.client_streaming;
            "client streaming"
        }
        3 => {
            r.server_streaming = !r.server_streaming;
            "server streaming"
        }
        4 => {
            r.idempotency = match g.below(4) {
                0 => None,
                1 => Some("NO_SIDE_EFFECTS"),
                2 => Some("IDEMPOTENT"),
                _ => Some("IDEMPOTENCY_UNKNOWN"),
            };
            "idempotency"
        }
        5 => {
            r.name = g.fresh("Rpc");
            "name"
        }
        _ => {
            s.rpcs.remove(ri);
            "deleted"
        }
    };
    Some(format!("rpc {what}"))
}

fn mutate_file(g: &mut Gen, schema: &mut Schema) -> Option<String> {
    let i = g.below(schema.files.len().max(1));
    schema.files.get(i)?;
    match g.below(6) {
        0 => {
            let f = &mut schema.files[i];
            if !f.options.is_empty() && g.chance(0.4) {
                let key = *f.options.keys().next().expect("an option");
                f.options.remove(key);
            } else {
                set_random_file_option(g, f);
            }
            Some(format!("options of {}", f.name))
        }
        1 => {
            // Change the package: every type of the file gets a new full name.
            let old_package = schema.files[i].package.clone();
            let new_package = g.pick(PACKAGES).to_owned();
            let top: Vec<String> = schema.files[i]
                .messages
                .iter()
                .map(|m| m.name.clone())
                .chain(schema.files[i].enums.iter().map(|e| e.name.clone()))
                .collect();
            schema.files[i].package = new_package.clone();
            for name in top {
                rename_refs(
                    schema,
                    &full_name(&old_package, &[&name]),
                    &full_name(&new_package, &[&name]),
                );
            }
            Some(format!(
                "package of file {i}: {old_package} -> {new_package}"
            ))
        }
        2 if schema.files.len() > 1 => {
            // buf refuses a module without files: keep one.
            let f = schema.files.remove(i);
            Some(format!("delete file {}", f.name))
        }
        3 => {
            let dir = g.pick(DIRS);
            let name = format!("{dir}{}.proto", g.fresh("file_"));
            let f = &mut schema.files[i];
            let old = std::mem::replace(&mut f.name, name);
            Some(format!("rename file {old} to {}", f.name))
        }
        4 => {
            let file = new_file(g, schema);
            let name = file.name.clone();
            schema.files.push(file);
            Some(format!("add file {name}"))
        }
        _ => {
            let f = &mut schema.files[i];
            if f.extensions.is_empty() {
                return None;
            }
            f.extensions.pop();
            Some(format!("delete an extension of {}", f.name))
        }
    }
}

/// Moves a top-level message or enum to another (maybe new) file.
fn move_type(g: &mut Gen, schema: &mut Schema) -> Option<String> {
    let from = g.below(schema.files.len().max(1));
    let f = schema.files.get(from)?;
    let is_enum = f.messages.is_empty() || (!f.enums.is_empty() && g.chance(0.4));
    let count = if is_enum {
        f.enums.len()
    } else {
        f.messages.len()
    };
    if count == 0 {
        return None;
    }
    let to = if schema.files.len() == 1 || g.chance(0.2) {
        let mut file = new_file(g, schema);
        file.messages.clear();
        file.enums.clear();
        file.services.clear();
        file.extensions.clear();
        if g.chance(0.5) {
            file.package = schema.files[from].package.clone();
            file.proto3 = schema.files[from].proto3;
        }
        schema.files.push(file);
        schema.files.len() - 1
    } else {
        let mut to = g.below(schema.files.len() - 1);
        if to >= from {
            to += 1;
        }
        to
    };
    let i = g.below(count);
    let (old_pkg, new_pkg) = (
        schema.files[from].package.clone(),
        schema.files[to].package.clone(),
    );
    let name = if is_enum {
        let e = schema.files[from].enums.remove(i);
        let name = e.name.clone();
        schema.files[to].enums.push(e);
        name
    } else {
        let m = schema.files[from].messages.remove(i);
        let name = m.name.clone();
        schema.files[to].messages.push(m);
        name
    };
    rename_refs(
        schema,
        &full_name(&old_pkg, &[&name]),
        &full_name(&new_pkg, &[&name]),
    );
    Some(format!("move {name} from file {from} to file {to}"))
}

// ----------------------------------------------------------------- repair

/// Makes the schema valid for protox and buf (see the module docs).
pub fn repair(schema: &mut Schema) {
    // Unique file names.
    let mut seen = BTreeSet::new();
    schema.files.retain(|f| seen.insert(f.name.clone()));
    for file in &mut schema.files {
        let proto3 = file.proto3;
        if proto3 {
            file.extensions.clear();
        }
        for m in &mut file.messages {
            repair_message_shape(m, proto3);
        }
        for e in &mut file.enums {
            repair_enum(e, proto3);
        }
    }
    repair_references(schema);
    repair_extensions(schema);
    for file in &mut schema.files {
        for s in &mut file.services {
            let mut names = BTreeSet::new();
            s.rpcs.retain(|r| names.insert(r.name.clone()));
        }
    }
}

fn repair_message_shape(m: &mut Message, proto3: bool) {
    if proto3 {
        m.extension_ranges.clear();
    }
    // Reserved ranges that overlap each other or extension ranges go.
    let mut taken: Vec<(u32, u32)> = m.extension_ranges.clone();
    m.reserved_ranges.retain(|&(s, e)| {
        let free = taken.iter().all(|&(ts, te)| e < ts || s > te);
        if free {
            taken.push((s, e));
        }
        free
    });
    let mut names = BTreeSet::new();
    m.reserved_names.retain(|n| names.insert(n.clone()));
    let reserved_names: BTreeSet<String> = m.reserved_names.iter().cloned().collect();
    let blocked = |n: u32, used: &BTreeSet<u32>| {
        used.contains(&n) || taken.iter().any(|&(s, e)| s <= n && n <= e)
    };
    let mut used = BTreeSet::new();
    let mut field_names = BTreeSet::new();
    for f in &mut m.fields {
        if let Some(o) = &f.oneof
            && !m.oneofs.contains(o)
        {
            f.oneof = None;
        }
        if f.oneof.is_some() {
            f.label = Label::Implicit;
            if matches!(f.ty, FieldType::Map(..)) {
                f.ty = FieldType::Scalar("string");
            }
        }
        if matches!(f.ty, FieldType::Map(..)) {
            f.label = Label::Implicit;
        }
        if proto3 && f.label == Label::Required {
            f.label = Label::Optional;
        }
        if blocked(f.number, &used) {
            f.number = (1..).find(|&n| !blocked(n, &used)).expect("a free number");
        }
        used.insert(f.number);
        while reserved_names.contains(&f.name) || field_names.contains(&f.name) {
            f.name.push_str("_x");
        }
        field_names.insert(f.name.clone());
        let is_64 = matches!(
            f.ty,
            FieldType::Scalar("int64" | "uint64" | "sint64" | "fixed64" | "sfixed64")
        );
        if !is_64 {
            f.jstype = None;
        }
        if !matches!(f.ty, FieldType::Scalar("string" | "bytes")) {
            f.ctype = None;
        }
    }
    let used_oneofs: BTreeSet<String> = m.fields.iter().filter_map(|f| f.oneof.clone()).collect();
    m.oneofs.retain(|o| used_oneofs.contains(o));
    for nested in &mut m.messages {
        repair_message_shape(nested, proto3);
    }
    for e in &mut m.enums {
        repair_enum(e, proto3);
    }
}

fn repair_enum(e: &mut Enum, proto3: bool) {
    let mut taken: Vec<(i32, i32)> = Vec::new();
    e.reserved_ranges.retain(|&(s, end)| {
        let free = taken.iter().all(|&(ts, te)| end < ts || s > te);
        if free {
            taken.push((s, end));
        }
        free
    });
    let mut names = BTreeSet::new();
    e.reserved_names.retain(|n| names.insert(n.clone()));
    let reserved = |n: i32| taken.iter().any(|&(s, end)| s <= n && n <= end);
    let mut used = BTreeSet::new();
    let mut value_names = BTreeSet::new();
    for (name, number) in &mut e.values {
        if reserved(*number) || used.contains(number) {
            *number = (1..)
                .find(|n| !reserved(*n) && !used.contains(n))
                .expect("free");
        }
        used.insert(*number);
        while names.contains(name) || value_names.contains(name) {
            name.push_str("_X");
        }
        value_names.insert(name.clone());
    }
    let needs_zero = if proto3 {
        e.values.first().is_none_or(|v| v.1 != 0)
    } else {
        e.values.is_empty()
    };
    if needs_zero {
        if let Some(zero) = e.values.iter().position(|v| v.1 == 0) {
            let v = e.values.remove(zero);
            e.values.insert(0, v);
        } else {
            e.reserved_ranges.retain(|&(s, end)| !(s <= 0 && 0 <= end));
            let mut name = format!("{}_ZERO", e.name.to_uppercase());
            while names.contains(&name) || value_names.contains(&name) {
                name.push_str("_X");
            }
            e.values.insert(0, (name, 0));
        }
    }
}

/// Import edges between files, kept acyclic.
struct Imports {
    edges: BTreeSet<(usize, usize)>,
}

impl Imports {
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                stack.extend(self.edges.iter().filter(|e| e.0 == n).map(|e| e.1));
            }
        }
        false
    }

    /// Whether `from` may use a type of `to` (adding the import if needed).
    fn allow(&mut self, from: usize, to: usize) -> bool {
        if from == to || self.edges.contains(&(from, to)) {
            return true;
        }
        if self.reaches(to, from) {
            return false;
        }
        self.edges.insert((from, to));
        true
    }
}

fn repair_references(schema: &mut Schema) {
    let index = type_index(schema);
    let syntax: Vec<bool> = schema.files.iter().map(|f| f.proto3).collect();
    let mut imports = Imports {
        edges: BTreeSet::new(),
    };
    let nonzero_first: BTreeSet<String> = enum_paths(schema)
        .iter()
        .filter_map(|p| {
            let file = &schema.files[p.file];
            let e = &file.enums_at(&p.parent)[p.index];
            let parent = if p.parent.is_empty() {
                file.package.clone()
            } else {
                message_full_name(
                    schema,
                    &MsgPath {
                        file: p.file,
                        path: p.parent.clone(),
                    },
                )
            };
            (e.values.first().is_some_and(|v| v.1 != 0)).then(|| full_name(&parent, &[&e.name]))
        })
        .collect();
    let ok = |imports: &mut Imports, file: usize, name: &str, want_message: bool| -> bool {
        if let Some(map_value) = name.strip_prefix(MAP_VALUE) {
            return !nonzero_first.contains(map_value);
        }
        match index.get(name) {
            Some(&(target, is_enum)) => {
                if want_message && is_enum {
                    return false;
                }
                // Open/closed enums only within one syntax.
                if is_enum && syntax[target] != syntax[file] {
                    return false;
                }
                imports.allow(file, target)
            }
            None => false,
        }
    };
    fn fix_type(ty: &mut FieldType, check: &mut dyn FnMut(&str) -> bool) {
        match ty {
            FieldType::Named(n) => {
                if !check(n) {
                    *ty = FieldType::Scalar("int32");
                }
            }
            FieldType::Map(_, v) => {
                if matches!(**v, FieldType::Map(..)) {
                    **v = FieldType::Scalar("string");
                }
                // protobuf-go (buf) rejects a map whose enum value type
                // does not start with 0.
                if let FieldType::Named(n) = &**v
                    && !check(&format!("{MAP_VALUE}{n}"))
                {
                    **v = FieldType::Scalar("int32");
                }
                fix_type(v, check);
            }
            FieldType::Scalar(_) => {}
        }
    }
    fn walk(m: &mut Message, check: &mut dyn FnMut(&str) -> bool) {
        for f in &mut m.fields {
            fix_type(&mut f.ty, check);
            if !matches!(
                f.ty,
                FieldType::Scalar("int64" | "uint64" | "sint64" | "fixed64" | "sfixed64")
            ) {
                f.jstype = None;
            }
        }
        for n in &mut m.messages {
            walk(n, check);
        }
    }
    let first_message: BTreeMap<usize, String> = {
        let mut out = BTreeMap::new();
        for p in message_paths(schema) {
            out.entry(p.file)
                .or_insert_with(|| message_full_name(schema, &p));
        }
        out
    };
    for (i, file) in schema.files.iter_mut().enumerate() {
        for m in &mut file.messages {
            walk(m, &mut |n| ok(&mut imports, i, n, false));
        }
        for e in &mut file.extensions {
            fix_type(&mut e.field.ty, &mut |n| ok(&mut imports, i, n, false));
        }
        for s in &mut file.services {
            for r in &mut s.rpcs {
                for t in [&mut r.input, &mut r.output] {
                    if !ok(&mut imports, i, t, true) {
                        t.clear();
                    }
                }
            }
            // A dangling request/response type: the file's first message, if any.
            let fallback = first_message.get(&i).cloned();
            s.rpcs.retain_mut(|r| {
                for t in [&mut r.input, &mut r.output] {
                    if t.is_empty() {
                        match &fallback {
                            Some(f) => *t = f.clone(),
                            None => return false,
                        }
                    }
                }
                true
            });
        }
    }
}

/// A message's file index, whether that file is proto3, its extension ranges.
type ExtendeeInfo = (usize, bool, Vec<(u32, u32)>);

fn repair_extensions(schema: &mut Schema) {
    let mut ranges: BTreeMap<String, ExtendeeInfo> = BTreeMap::new();
    for p in message_paths(schema) {
        let m = message(schema, &p);
        ranges.insert(
            message_full_name(schema, &p),
            (
                p.file,
                schema.files[p.file].proto3,
                m.extension_ranges.clone(),
            ),
        );
    }
    // Extension imports must not create cycles either: only extend messages
    // of the same file or of a file that this file already may import
    // (an earlier file that does not import this one).
    let deps = file_dependencies(schema);
    let mut used: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (i, file) in schema.files.iter_mut().enumerate() {
        let package = file.package.clone();
        file.extensions.retain_mut(|e| {
            let Some((target, target_proto3, r)) = ranges.get(&e.extendee) else {
                return false;
            };
            let reachable_back = *target != i && depends_on(&deps, *target, i);
            if *target_proto3 || reachable_back {
                return false;
            }
            if !r
                .iter()
                .any(|&(s, end)| s <= e.field.number && e.field.number <= end)
            {
                return false;
            }
            if !used.insert((e.extendee.clone(), e.field.number)) {
                return false;
            }
            if !names.insert(full_name(&package, &[&e.field.name])) {
                return false;
            }
            if matches!(e.field.label, Label::Implicit | Label::Required) {
                e.field.label = Label::Optional;
            }
            e.field.json_name = None;
            e.field.oneof = None;
            if !matches!(
                e.field.ty,
                FieldType::Scalar("int64" | "uint64" | "sint64" | "fixed64" | "sfixed64")
            ) {
                e.field.jstype = None;
            }
            if !matches!(e.field.ty, FieldType::Scalar("string" | "bytes")) {
                e.field.ctype = None;
            }
            if matches!(e.field.ty, FieldType::Map(..)) {
                e.field.ty = FieldType::Scalar("int32");
            }
            true
        });
    }
}

/// Which files each file imports (from its references).
fn file_dependencies(schema: &Schema) -> Vec<BTreeSet<usize>> {
    let index = type_index(schema);
    schema
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            referenced_types(f)
                .iter()
                .filter_map(|n| index.get(n).map(|t| t.0))
                .filter(|&t| t != i)
                .collect()
        })
        .collect()
}

fn depends_on(deps: &[BTreeSet<usize>], from: usize, to: usize) -> bool {
    let mut stack = vec![from];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n) {
            stack.extend(deps[n].iter().copied());
        }
    }
    false
}

fn referenced_types(file: &ProtoFile) -> BTreeSet<String> {
    fn of_type(ty: &FieldType, out: &mut BTreeSet<String>) {
        match ty {
            FieldType::Named(n) => {
                out.insert(n.clone());
            }
            FieldType::Map(_, v) => of_type(v, out),
            FieldType::Scalar(_) => {}
        }
    }
    fn walk(m: &Message, out: &mut BTreeSet<String>) {
        for f in &m.fields {
            of_type(&f.ty, out);
        }
        for n in &m.messages {
            walk(n, out);
        }
    }
    let mut out = BTreeSet::new();
    for m in &file.messages {
        walk(m, &mut out);
    }
    for s in &file.services {
        for r in &s.rpcs {
            out.insert(r.input.clone());
            out.insert(r.output.clone());
        }
    }
    for e in &file.extensions {
        out.insert(e.extendee.clone());
        of_type(&e.field.ty, &mut out);
    }
    out
}

// ---------------------------------------------------------------- render

/// The files of the schema: (path, text).
pub fn render(schema: &Schema) -> Vec<(String, String)> {
    let index = type_index(schema);
    schema
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let imports: BTreeSet<&str> = referenced_types(file)
                .iter()
                .filter_map(|n| index.get(n))
                .filter(|t| t.0 != i)
                .map(|t| schema.files[t.0].name.as_str())
                .collect();
            (file.name.clone(), render_file(file, &imports))
        })
        .collect()
}

fn render_file(file: &ProtoFile, imports: &BTreeSet<&str>) -> String {
    let mut out = String::new();
    let syntax = if file.proto3 { "proto3" } else { "proto2" };
    let _ = writeln!(out, "syntax = \"{syntax}\";\n");
    if !file.package.is_empty() {
        let _ = writeln!(out, "package {};\n", file.package);
    }
    for import in imports {
        let _ = writeln!(out, "import \"{import}\";");
    }
    if !imports.is_empty() {
        out.push('\n');
    }
    for (name, value) in &file.options {
        let _ = writeln!(out, "option {name} = {value};");
    }
    if !file.options.is_empty() {
        out.push('\n');
    }
    for m in &file.messages {
        render_message(&mut out, m, file.proto3, 0);
        out.push('\n');
    }
    for e in &file.enums {
        render_enum(&mut out, e, 0);
        out.push('\n');
    }
    for s in &file.services {
        let _ = writeln!(out, "service {} {{", s.name);
        for r in &s.rpcs {
            let stream = |b: bool| if b { "stream " } else { "" };
            let _ = write!(
                out,
                "  rpc {}({}.{}) returns ({}.{})",
                r.name,
                stream(r.client_streaming),
                r.input,
                stream(r.server_streaming),
                r.output
            );
            match r.idempotency {
                Some(level) => {
                    let _ = writeln!(out, " {{\n    option idempotency_level = {level};\n  }}");
                }
                None => out.push_str(";\n"),
            }
        }
        out.push_str("}\n\n");
    }
    let mut extendees: Vec<&str> = Vec::new();
    for e in &file.extensions {
        if !extendees.contains(&e.extendee.as_str()) {
            extendees.push(&e.extendee);
        }
    }
    for extendee in extendees {
        let _ = writeln!(out, "extend .{extendee} {{");
        for e in file.extensions.iter().filter(|e| e.extendee == extendee) {
            render_field(&mut out, &e.field, false, 1);
        }
        out.push_str("}\n\n");
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn render_type(ty: &FieldType) -> String {
    match ty {
        FieldType::Scalar(s) => (*s).to_owned(),
        FieldType::Named(n) => format!(".{n}"),
        FieldType::Map(k, v) => format!("map<{k}, {}>", render_type(v)),
    }
}

fn render_field(out: &mut String, f: &Field, proto3: bool, depth: usize) {
    indent(out, depth);
    let label = match (&f.label, &f.ty) {
        (_, FieldType::Map(..)) => "",
        _ if f.oneof.is_some() => "",
        (Label::Implicit, _) if proto3 => "",
        (Label::Implicit | Label::Optional, _) => "optional ",
        (Label::Required, _) => "required ",
        (Label::Repeated, _) => "repeated ",
    };
    let _ = write!(
        out,
        "{label}{} {} = {}",
        render_type(&f.ty),
        f.name,
        f.number
    );
    let mut options = Vec::new();
    if let Some(j) = &f.json_name {
        options.push(format!("json_name = \"{j}\""));
    }
    if let Some(j) = f.jstype {
        options.push(format!("jstype = {j}"));
    }
    if let Some(c) = f.ctype {
        options.push(format!("ctype = {c}"));
    }
    if f.deprecated {
        options.push("deprecated = true".into());
    }
    if !options.is_empty() {
        let _ = write!(out, " [{}]", options.join(", "));
    }
    out.push_str(";\n");
}

fn render_ranges<T: std::fmt::Display + PartialEq>(ranges: &[(T, T)]) -> String {
    ranges
        .iter()
        .map(|(s, e)| {
            if s == e {
                s.to_string()
            } else {
                format!("{s} to {e}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_names(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_message(out: &mut String, m: &Message, proto3: bool, depth: usize) {
    indent(out, depth);
    let _ = writeln!(out, "message {} {{", m.name);
    if let Some(v) = m.no_standard_descriptor_accessor {
        indent(out, depth + 1);
        let _ = writeln!(out, "option no_standard_descriptor_accessor = {v};");
    }
    if m.deprecated {
        indent(out, depth + 1);
        out.push_str("option deprecated = true;\n");
    }
    if !m.reserved_ranges.is_empty() {
        indent(out, depth + 1);
        let _ = writeln!(out, "reserved {};", render_ranges(&m.reserved_ranges));
    }
    if !m.reserved_names.is_empty() {
        indent(out, depth + 1);
        let _ = writeln!(out, "reserved {};", render_names(&m.reserved_names));
    }
    if !m.extension_ranges.is_empty() {
        indent(out, depth + 1);
        let _ = writeln!(out, "extensions {};", render_ranges(&m.extension_ranges));
    }
    for f in m.fields.iter().filter(|f| f.oneof.is_none()) {
        render_field(out, f, proto3, depth + 1);
    }
    for o in &m.oneofs {
        indent(out, depth + 1);
        let _ = writeln!(out, "oneof {o} {{");
        for f in m.fields.iter().filter(|f| f.oneof.as_ref() == Some(o)) {
            render_field(out, f, proto3, depth + 2);
        }
        indent(out, depth + 1);
        out.push_str("}\n");
    }
    for n in &m.messages {
        render_message(out, n, proto3, depth + 1);
    }
    for e in &m.enums {
        render_enum(out, e, depth + 1);
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn render_enum(out: &mut String, e: &Enum, depth: usize) {
    indent(out, depth);
    let _ = writeln!(out, "enum {} {{", e.name);
    if e.deprecated {
        indent(out, depth + 1);
        out.push_str("option deprecated = true;\n");
    }
    if !e.reserved_ranges.is_empty() {
        indent(out, depth + 1);
        let _ = writeln!(out, "reserved {};", render_ranges(&e.reserved_ranges));
    }
    if !e.reserved_names.is_empty() {
        indent(out, depth + 1);
        let _ = writeln!(out, "reserved {};", render_names(&e.reserved_names));
    }
    for (name, number) in &e.values {
        indent(out, depth + 1);
        let _ = writeln!(out, "{name} = {number};");
    }
    indent(out, depth);
    out.push_str("}\n");
}
