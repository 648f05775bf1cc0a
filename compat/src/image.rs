//! Images: the compiled files of one side of a comparison.

use std::collections::BTreeSet;

use prost::Message as _;

use crate::descriptor::{FileDescriptorProto, FileDescriptorSet};
use crate::error::CompatError;

/// One compiled file of an image.
#[derive(Debug, Clone)]
pub struct ImageFile {
    /// The file, as far as the checker reads it (options with features,
    /// `(pb.cpp)`/`(pb.java)` feature extensions and source info included).
    pub descriptor: FileDescriptorProto,
    /// Imports (well-known types, dependencies) are used to resolve types but
    /// are not checked themselves, like `buf breaking --exclude-imports`.
    pub is_import: bool,
}

impl ImageFile {
    /// The file's path, e.g. `foo/v1/foo.proto`.
    pub fn name(&self) -> &str {
        self.descriptor.name.as_deref().unwrap_or_default()
    }
}

/// A set of compiled files with source info, each a target or an import.
#[derive(Debug, Clone, Default)]
pub struct Image {
    files: Vec<ImageFile>,
    /// The encoded set, built once when first asked for (every plugin rule
    /// of a check sends both images).
    encoded: std::sync::OnceLock<Vec<u8>>,
}

impl Image {
    /// Decodes an encoded `FileDescriptorSet` (e.g. protox's
    /// `Compiler::encode_file_descriptor_set()`, or a buf image). A file is a
    /// target when `is_target(name)` holds, an import otherwise.
    pub fn from_file_descriptor_set_bytes(
        bytes: &[u8],
        is_target: impl Fn(&str) -> bool,
    ) -> Result<Self, CompatError> {
        let set = FileDescriptorSet::decode(bytes)?;
        Self::from_descriptors(set.file.into_iter().map(|file| {
            let is_import = !is_target(file.name.as_deref().unwrap_or_default());
            (file, is_import)
        }))
    }

    /// Like [`Image::from_file_descriptor_set_bytes`] with an explicit set of
    /// target file names.
    pub fn from_file_descriptor_set_bytes_with_targets(
        bytes: &[u8],
        targets: &BTreeSet<String>,
    ) -> Result<Self, CompatError> {
        Self::from_file_descriptor_set_bytes(bytes, |name| targets.contains(name))
    }

    /// From `prost-types` descriptors (e.g. protox's `file_descriptor_set()`).
    /// `prost-types` cannot hold editions features or extension options, so
    /// prefer the bytes constructor for editions files.
    pub fn from_prost_files(
        files: impl IntoIterator<Item = prost_types::FileDescriptorProto>,
        is_target: impl Fn(&str) -> bool,
    ) -> Result<Self, CompatError> {
        let set = prost_types::FileDescriptorSet {
            file: files.into_iter().collect(),
        };
        Self::from_file_descriptor_set_bytes(&set.encode_to_vec(), is_target)
    }

    /// From already decoded files, each with its import flag.
    pub fn from_descriptors(
        files: impl IntoIterator<Item = (FileDescriptorProto, bool)>,
    ) -> Result<Self, CompatError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (descriptor, is_import) in files {
            let name = descriptor.name.clone().unwrap_or_default();
            if name.is_empty() {
                return Err(CompatError::InvalidImage("a file has no name".into()));
            }
            if !seen.insert(name.clone()) {
                return Err(CompatError::InvalidImage(format!(
                    "duplicate file {name:?}"
                )));
            }
            out.push(ImageFile {
                descriptor,
                is_import,
            });
        }
        Ok(Image {
            files: out,
            encoded: std::sync::OnceLock::new(),
        })
    }

    /// The files, targets and imports, in input order.
    pub fn files(&self) -> &[ImageFile] {
        &self.files
    }

    /// The image as an encoded `FileDescriptorSet`, in input order.
    pub fn encode_file_descriptor_set(&self) -> &[u8] {
        self.encoded.get_or_init(|| {
            let set = FileDescriptorSet {
                file: self.files.iter().map(|f| f.descriptor.clone()).collect(),
            };
            set.encode_to_vec()
        })
    }
}
