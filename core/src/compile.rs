//! Compiling a schema's sources with protox, inside the import scope of its
//! namespace.
//!
//! Imports resolve only to (in this order): the schema's own sources, files
//! of the namespace's other schemas and of `__builtins__` (given as compiled
//! descriptors, so nothing is compiled twice), and the well-known types.
//! Nothing else is reachable: there is no file system access.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use miette::Diagnostic;
use protox::file::{File, FileResolver};

use crate::bounds;
use crate::descriptor::{self, RawFile, TopLevelTypes};
use crate::error::{CompileError, RegistryError, Result};
use crate::position::line_column;

/// A file another schema owns, importable by the schema being compiled.
#[derive(Debug, Clone)]
pub struct ScopeFile {
    pub file: RawFile,
    /// The stored version (`schema_versions.id`) the file belongs to.
    pub version_id: i64,
}

/// Everything a schema may import besides its own files and the WKT.
#[derive(Debug, Clone, Default)]
pub struct ImportScope {
    pub files: HashMap<String, ScopeFile>,
}

impl ImportScope {
    /// Makes the files of stored version `version_id` importable.
    pub fn add(&mut self, files: &[RawFile], version_id: i64) {
        for file in files {
            self.files.insert(
                file.name.clone(),
                ScopeFile {
                    file: file.clone(),
                    version_id,
                },
            );
        }
    }
}

/// Where one import of one file resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub file_path: String,
    pub import_path: String,
    /// `None` for a well-known type.
    pub version_id: Option<i64>,
}

/// The result of a successful compile.
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    /// Own files and every transitive import, dependencies first, exactly
    /// as served for the version.
    pub descriptor_set: Bytes,
    /// The schema's own files, in dependency order.
    pub files: Vec<RawFile>,
    pub dependencies: Vec<Dependency>,
    pub types: TopLevelTypes,
}

struct ScopedResolver {
    sources: Arc<BTreeMap<String, String>>,
    scope: Arc<ImportScope>,
}

impl FileResolver for ScopedResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let Some(text) = self.sources.get(name) {
            return File::from_source(name, text);
        }
        if let Some(found) = self.scope.files.get(name) {
            return File::decode_file_descriptor_proto(found.file.bytes.clone())
                .map_err(protox::Error::new);
        }
        if let Some(wkt) = descriptor::well_known_file(name) {
            return File::decode_file_descriptor_proto(wkt.bytes.clone())
                .map_err(protox::Error::new);
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// Stack of a compile thread ([`compile_on_own_thread`]). protox parses
/// recursively; [`bounds::MAX_NESTING`] levels use a small part of this
/// (about 1,000 levels fit in 2 MiB), and the memory is only reserved.
pub const COMPILE_STACK_BYTES: usize = 16 << 20;

/// How many compiles run at once, process-wide: one per core. Compiling
/// is CPU bound, and its memory is a large multiple of the source's size
/// (protox peaks near 200 bytes per byte of a large file), so without a
/// bound, concurrent large publishes multiply the peak. Others wait their
/// turn.
fn compile_permits() -> Arc<tokio::sync::Semaphore> {
    static PERMITS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Arc::new(tokio::sync::Semaphore::new(cores))
        })
        .clone()
}

/// [`compile_schema`] on a thread of its own with a stack of
/// [`COMPILE_STACK_BYTES`] (so that the depth the compiler can reach does
/// not depend on which pool's thread happens to run it), at most one per
/// core at a time.
pub async fn compile_on_own_thread(
    sources: Arc<BTreeMap<String, String>>,
    scope: Arc<ImportScope>,
) -> Result<CompiledSchema> {
    // Held by the thread: a request that goes away does not free the slot
    // of a compile that still runs.
    let permit = compile_permits()
        .acquire_owned()
        .await
        .map_err(|err| RegistryError::internal("waiting for a compile slot", err))?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("protoreg-compile".into())
        .stack_size(COMPILE_STACK_BYTES)
        .spawn(move || {
            let compiled = compile_schema(sources, scope);
            drop(permit);
            // The receiver is gone only when the request was dropped.
            let _ = sender.send(compiled);
        })
        .map_err(|err| RegistryError::internal("starting a compile thread", err))?;
    receiver
        .await
        .map_err(|_| RegistryError::Internal("the compile thread ended without a result".into()))?
}

/// Compiles `sources` (already validated) against `scope`, after checking
/// each file against [`bounds`]. Blocking and CPU bound: call it through
/// [`compile_on_own_thread`].
pub fn compile_schema(
    sources: Arc<BTreeMap<String, String>>,
    scope: Arc<ImportScope>,
) -> Result<CompiledSchema> {
    for (path, text) in sources.iter() {
        bounds::check_source(path, text)?;
    }
    let resolver = ScopedResolver {
        sources: sources.clone(),
        scope: scope.clone(),
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_source_info(true).include_imports(true);
    compiler
        .open_files(sources.keys())
        .map_err(|err| compile_failed(&err, &sources))?;

    let descriptor_set: Bytes = compiler.encode_file_descriptor_set().into();
    let all = descriptor::split_file_descriptor_set(descriptor_set.clone())?;
    let files: Vec<RawFile> = all
        .into_iter()
        .filter(|f| sources.contains_key(&f.name))
        .collect();

    let mut dependencies = Vec::new();
    for file in &files {
        for import in file
            .dependencies
            .iter()
            .filter(|i| !sources.contains_key(*i))
        {
            dependencies.push(Dependency {
                file_path: file.name.clone(),
                import_path: import.clone(),
                version_id: scope.files.get(import).map(|f| f.version_id),
            });
        }
    }

    let types = descriptor::collect_types(&files)?;

    Ok(CompiledSchema {
        descriptor_set,
        files,
        dependencies,
        types,
    })
}

/// Turns a protox error into `compile_failed` with every diagnostic it
/// carries (a parse error lists all syntax errors of its file).
fn compile_failed(err: &protox::Error, sources: &BTreeMap<String, String>) -> RegistryError {
    let file = err.file().unwrap_or_default().to_owned();
    let text = sources.get(&file).map(String::as_str);
    let mut errors = vec![diagnostic_error(&file, text, err)];
    if let Some(related) = err.related() {
        errors.extend(related.map(|d| diagnostic_error(&file, text, d)));
    }
    RegistryError::compile_failed(errors)
}

fn diagnostic_error(file: &str, text: Option<&str>, diag: &dyn Diagnostic) -> CompileError {
    let offset = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let (line, column) = match (text, offset) {
        (Some(text), Some(offset)) => line_column(text, offset),
        _ => (0, 0),
    };
    CompileError {
        file: file.to_owned(),
        line,
        column,
        message: diag.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> Arc<BTreeMap<String, String>> {
        Arc::new(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
    }

    fn no_scope() -> Arc<ImportScope> {
        Arc::new(ImportScope::default())
    }

    #[test]
    fn compiles_with_wkt_and_records_types() {
        let src = sources(&[(
            "acme/a.proto",
            "syntax = \"proto3\";\npackage acme;\nimport \"google/protobuf/timestamp.proto\";\n\
             message A { google.protobuf.Timestamp at = 1; }\nenum E { E_UNSPECIFIED = 0; }\n\
             service S { rpc Get(A) returns (A); }\n",
        )]);
        let out = compile_schema(src, no_scope()).unwrap();
        assert_eq!(out.types.messages, ["acme.A"]);
        assert_eq!(out.types.enums, ["acme.E"]);
        assert_eq!(out.types.services, ["acme.S"]);
        assert_eq!(out.files.len(), 1);
        assert_eq!(
            out.dependencies,
            [Dependency {
                file_path: "acme/a.proto".into(),
                import_path: "google/protobuf/timestamp.proto".into(),
                version_id: None,
            }]
        );
        let set = descriptor::split_file_descriptor_set(out.descriptor_set).unwrap();
        let names: Vec<_> = set.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["google/protobuf/timestamp.proto", "acme/a.proto"]);
    }

    #[test]
    fn imports_outside_the_scope_do_not_resolve() {
        let src = sources(&[(
            "a.proto",
            "syntax = \"proto3\";\nimport \"other/b.proto\";\n",
        )]);
        let err = compile_schema(src, no_scope()).unwrap_err();
        let RegistryError::CompileFailed { errors, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(errors[0].file, "a.proto");
        // protox labels the whole import statement, which starts at column 1.
        assert_eq!((errors[0].line, errors[0].column), (2, 1));
        assert!(
            errors[0].message.contains("other/b.proto"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn scope_files_resolve_and_are_recorded() {
        let dep = compile_schema(
            sources(&[(
                "common/money.proto",
                "syntax = \"proto3\";\npackage common;\nmessage Money { int64 units = 1; }\n",
            )]),
            no_scope(),
        )
        .unwrap();
        let mut scope = ImportScope::default();
        scope.files.insert(
            "common/money.proto".into(),
            ScopeFile {
                file: dep.files[0].clone(),
                version_id: 7,
            },
        );
        let out = compile_schema(
            sources(&[("billing/invoice.proto", "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nmessage Invoice { common.Money total = 1; }\n")]),
            Arc::new(scope),
        )
        .unwrap();
        assert_eq!(out.dependencies[0].version_id, Some(7));
        assert_eq!(out.files.len(), 1);
        let set = descriptor::split_file_descriptor_set(out.descriptor_set).unwrap();
        assert_eq!(
            set[0].bytes, dep.files[0].bytes,
            "imports are served byte for byte"
        );
    }

    #[test]
    fn every_syntax_error_is_reported_with_position() {
        let src = sources(&[(
            "bad.proto",
            "syntax = \"proto3\";\nmessage A { int32 = 1; }\nmessage B { string x = ; }\n",
        )]);
        let RegistryError::CompileFailed { errors, .. } =
            compile_schema(src, no_scope()).unwrap_err()
        else {
            panic!("expected compile failure")
        };
        assert!(errors.len() >= 2, "{errors:?}");
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[1].line, 3);
        assert!(errors.iter().all(|e| e.file == "bad.proto" && e.column > 0));
    }
}
