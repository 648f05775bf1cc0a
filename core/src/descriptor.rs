//! Lossless handling of encoded descriptors.
//!
//! Files are kept as the exact bytes of their `FileDescriptorProto`, so that
//! extension options (for example `google.api.http`) survive storing and
//! serving: decoding into `prost_types` would drop them (its option types
//! keep no unknown fields).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use bytes::Bytes;
use prost::Message;
use prost_reflect::DescriptorPool;

use crate::error::{RegistryError, Result};

/// A `FileDescriptorSet` whose files stay encoded.
#[derive(Clone, PartialEq, prost::Message)]
struct RawFileDescriptorSet {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    file: Vec<Bytes>,
}

/// Only the parts of a `FileDescriptorProto` needed to order and index files.
#[derive(Clone, PartialEq, prost::Message)]
struct FileHeader {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    message_type: Vec<Named>,
    #[prost(message, repeated, tag = "5")]
    enum_type: Vec<Named>,
    #[prost(message, repeated, tag = "6")]
    service: Vec<Named>,
}

/// Any descriptor message, read for its `name` (field 1) only.
#[derive(Clone, PartialEq, prost::Message)]
struct Named {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
}

/// Full names of a file's top-level types.
#[derive(Debug, Clone, Default)]
pub struct TopLevelTypes {
    pub messages: Vec<String>,
    pub enums: Vec<String>,
    pub services: Vec<String>,
}

/// The top-level messages, enums and services of an encoded file.
pub fn top_level_types(file: &RawFile) -> Result<TopLevelTypes> {
    let header = FileHeader::decode(file.bytes.clone())
        .map_err(|e| RegistryError::internal("decoding a stored file descriptor", e))?;
    let prefix = match header.package.as_deref() {
        Some(p) if !p.is_empty() => format!("{p}."),
        _ => String::new(),
    };
    let names = |items: Vec<Named>| -> Vec<String> {
        items
            .into_iter()
            .map(|n| format!("{prefix}{}", n.name.unwrap_or_default()))
            .collect()
    };
    Ok(TopLevelTypes {
        messages: names(header.message_type),
        enums: names(header.enum_type),
        services: names(header.service),
    })
}

/// One compiled file: its name, its imports and its exact encoded bytes.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub name: String,
    pub dependencies: Vec<String>,
    pub bytes: Bytes,
}

/// Name and imports only: what ordering files needs.
#[derive(Clone, PartialEq, prost::Message)]
struct FileLinks {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
}

impl RawFile {
    pub fn decode(bytes: Bytes) -> Result<Self> {
        let header = FileLinks::decode(bytes.clone())
            .map_err(|e| RegistryError::internal("decoding a stored file descriptor", e))?;
        Ok(Self {
            name: header.name.unwrap_or_default(),
            dependencies: header.dependency,
            bytes,
        })
    }
}

/// The sorted top-level types of several files.
pub fn collect_types(files: &[RawFile]) -> Result<TopLevelTypes> {
    let mut all = TopLevelTypes::default();
    for file in files {
        let t = top_level_types(file)?;
        all.messages.extend(t.messages);
        all.enums.extend(t.enums);
        all.services.extend(t.services);
    }
    all.messages.sort();
    all.enums.sort();
    all.services.sort();
    Ok(all)
}

/// Splits an encoded `FileDescriptorSet` into its files without re-encoding.
pub fn split_file_descriptor_set(set: Bytes) -> Result<Vec<RawFile>> {
    split_encoded_files(set)?
        .into_iter()
        .map(RawFile::decode)
        .collect()
}

/// The encoded files of a `FileDescriptorSet`, each left unread.
pub fn split_encoded_files(set: Bytes) -> Result<Vec<Bytes>> {
    RawFileDescriptorSet::decode(set)
        .map(|raw| raw.file)
        .map_err(|e| RegistryError::internal("decoding a stored descriptor set", e))
}

/// Encodes files as a `FileDescriptorSet`, in the order given.
pub fn encode_file_descriptor_set<'a>(files: impl IntoIterator<Item = &'a RawFile>) -> Bytes {
    RawFileDescriptorSet {
        file: files.into_iter().map(|f| f.bytes.clone()).collect(),
    }
    .encode_to_vec()
    .into()
}

/// The well-known types, as bundled with the compiler.
static WELL_KNOWN: LazyLock<BTreeMap<String, RawFile>> = LazyLock::new(|| {
    DescriptorPool::global()
        .files()
        .map(|f| {
            let file = RawFile {
                name: f.name().to_owned(),
                dependencies: f.dependencies().map(|d| d.name().to_owned()).collect(),
                bytes: f.encode_to_vec().into(),
            };
            (file.name.clone(), file)
        })
        .collect()
});

pub fn well_known_file(name: &str) -> Option<&'static RawFile> {
    WELL_KNOWN.get(name)
}

/// `roots` plus every file they import transitively, dependencies first
/// (the order `protoc --include_imports` uses). `lookup` finds imported
/// files; an import it cannot find is an error naming the importer.
pub fn with_imports<'a>(
    roots: impl IntoIterator<Item = &'a RawFile>,
    lookup: impl Fn(&str) -> Option<&'a RawFile>,
) -> Result<Vec<&'a RawFile>, String> {
    let mut ordered = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    let mut in_progress: HashSet<&str> = HashSet::new();
    // Depth-first post-order with an explicit stack, so deep import chains
    // cannot overflow the thread stack.
    for root in roots {
        let mut stack: Vec<(&'a RawFile, usize)> = vec![(root, 0)];
        while let Some((file, next_dep)) = stack.pop() {
            if next_dep == 0 {
                if done.contains(file.name.as_str()) {
                    continue;
                }
                in_progress.insert(file.name.as_str());
            }
            if let Some(dep_name) = file.dependencies.get(next_dep) {
                stack.push((file, next_dep + 1));
                if done.contains(dep_name.as_str()) {
                    continue;
                }
                if in_progress.contains(dep_name.as_str()) {
                    return Err(format!("import cycle through {dep_name:?}"));
                }
                let dep = lookup(dep_name)
                    .ok_or_else(|| format!("{}: import {dep_name:?} not found", file.name))?;
                stack.push((dep, 0));
            } else {
                in_progress.remove(file.name.as_str());
                if done.insert(file.name.as_str()) {
                    ordered.push(file);
                }
            }
        }
    }
    Ok(ordered)
}

/// `roots` plus their transitive imports, dependencies first. An import
/// resolves to a root, else to the first of `layers` that has it, else to a
/// well-known type.
pub fn with_imports_in_layers<'a>(
    roots: &[&'a RawFile],
    layers: &[&'a [RawFile]],
) -> Result<Vec<&'a RawFile>, String> {
    let root_index = index_by_name(roots.iter().copied());
    let layer_indexes: Vec<HashMap<&str, &RawFile>> =
        layers.iter().map(|l| index_by_name(l.iter())).collect();
    with_imports(roots.iter().copied(), |name| {
        root_index
            .get(name)
            .or_else(|| layer_indexes.iter().find_map(|index| index.get(name)))
            .copied()
            .or_else(|| well_known_file(name))
    })
}

/// Index of files by name.
pub fn index_by_name<'a>(
    files: impl IntoIterator<Item = &'a RawFile>,
) -> HashMap<&'a str, &'a RawFile> {
    files.into_iter().map(|f| (f.name.as_str(), f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, deps: &[&str]) -> RawFile {
        RawFile {
            name: name.into(),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            bytes: Bytes::new(),
        }
    }

    #[test]
    fn imports_come_before_importers() {
        let files = [file("a", &["b", "c"]), file("b", &["c"]), file("c", &[])];
        let index = index_by_name(&files);
        let order = with_imports([&files[0]], |n| index.get(n).copied()).unwrap();
        let names: Vec<_> = order.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["c", "b", "a"]);
    }

    #[test]
    fn cycles_and_missing_imports_are_errors() {
        let files = [file("a", &["b"]), file("b", &["a"])];
        let index = index_by_name(&files);
        assert!(with_imports([&files[0]], |n| index.get(n).copied()).is_err());
        let lone = [file("a", &["zzz"])];
        let err = with_imports([&lone[0]], |_| None).unwrap_err();
        assert!(err.contains("zzz"), "{err}");
    }

    #[test]
    fn raw_sets_round_trip_byte_for_byte() {
        let ts = well_known_file("google/protobuf/timestamp.proto").unwrap();
        let set = encode_file_descriptor_set([ts]);
        let back = split_file_descriptor_set(set).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].bytes, ts.bytes);
        assert_eq!(back[0].name, "google/protobuf/timestamp.proto");
    }
}
