//! Shared helpers of the protoreg benchmarks (`benches/publish.rs`,
//! `benches/restore.rs`, `benches/compat.rs`): the googleapis corpus, the
//! synthetic restore data set, running registry code inside an actix
//! `System`, and the large compatibility-check pair (compiling a directory
//! with protox and checking one side against the other).
//!
//! See `docs/PERFORMANCE.md` for what is measured and how to run it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protoreg_compat::{Image, Policy, Violation};
use protoreg_core::compile::{self, ImportScope, ScopeFile};
use protoreg_core::{NamespaceId, PublishRequest, Registry, RegistryConfig, SchemaId, StoreConfig};
use sha2::{Digest, Sha256};

/// Environment variable naming the corpus directory (the one holding `google/`).
pub const CORPUS_ENV: &str = "PROTOREG_BENCH_CORPUS";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the benches crate lives inside the workspace")
        .to_path_buf()
}

/// `true` when criterion runs real measurements (`cargo bench` passes
/// `--bench`); `false` in test mode (`cargo bench -- --test`, `cargo test`),
/// where the benchmarks use small inputs so that they finish quickly.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// Where the googleapis-common-protos corpus is: `$PROTOREG_BENCH_CORPUS`,
/// else `target/bench-corpus/googleapis-common-protos` under the workspace.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os(CORPUS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target/bench-corpus/googleapis-common-protos"),
    }
}

/// Reads every `.proto` file under `dir`, keyed by its `/`-separated path
/// relative to `dir`. An error says how to fetch the corpus.
pub fn load_corpus(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let hint = format!(
        "the benchmark corpus is missing at {}: run `benches/fetch-corpus` first \
         (or set {CORPUS_ENV} to a directory holding the googleapis-common-protos .proto files)",
        dir.display()
    );
    if !dir.is_dir() {
        return Err(hint);
    }
    let mut files = BTreeMap::new();
    for relative in proto_paths(dir)? {
        let path = dir.join(&relative);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        files.insert(relative, text);
    }
    if files.is_empty() {
        return Err(hint);
    }
    Ok(files)
}

/// Total number of lines of a set of sources.
pub fn line_count(sources: &BTreeMap<String, String>) -> usize {
    sources.values().map(|t| t.lines().count()).sum()
}

/// A registry configuration on a SQLite file.
pub fn sqlite_config(db: &Path) -> RegistryConfig {
    let mut store = StoreConfig::new(format!("sqlite://{}", db.display()));
    // The data set builders publish from many tasks at once into one
    // SQLite file; on a loaded machine a writer can wait longer for the
    // lock than the server's default (5 s, then 503). What is measured
    // never waits on a lock.
    store.busy_timeout = std::time::Duration::from_secs(60);
    RegistryConfig::new(store)
}

/// A publish request with the given sources.
pub fn publish_request(schema: &str, sources: BTreeMap<String, String>) -> PublishRequest {
    PublishRequest {
        schema: SchemaId::parse(schema).expect("valid schema id"),
        sources,
        created_by: "protoreg-benches".into(),
        metadata: serde_json::Map::new(),
        force: false,
    }
}

/// The synthetic data set of the restore benchmark: `namespaces` namespaces,
/// each with one `common` schema and `schemas_per_namespace - 1` service
/// schemas (every other one importing `common`), each published `versions`
/// times (a field added per version). Promoted after versions 3, 6 and 9
/// (when that many exist): with 10 versions every schema ends with version 9
/// current and version 10 staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    pub namespaces: usize,
    pub schemas_per_namespace: usize,
    pub versions: u32,
}

/// Bump when the generated sources or the build procedure change: the
/// cached database is keyed by it.
pub const DATASET_FORMAT: u32 = 2;

/// Versions after which the build promotes every namespace.
pub const PROMOTE_AFTER: [u32; 3] = [3, 6, 9];

impl Dataset {
    /// The benchmark data set: 1,000 schemas × 10 versions.
    pub const FULL: Dataset = Dataset {
        namespaces: 10,
        schemas_per_namespace: 100,
        versions: 10,
    };
    /// The test-mode data set: small enough to build in a few seconds.
    pub const SMALL: Dataset = Dataset {
        namespaces: 2,
        schemas_per_namespace: 5,
        versions: 4,
    };

    pub fn schemas(&self) -> usize {
        self.namespaces * self.schemas_per_namespace
    }

    pub fn namespace_name(&self, ns: usize) -> String {
        format!("bench-ns-{ns:02}")
    }

    /// Schema 0 is `common`; the others are `svc-NNN`.
    pub fn schema_name(&self, schema: usize) -> String {
        if schema == 0 {
            "common".to_owned()
        } else {
            format!("svc-{schema:03}")
        }
    }

    /// Whether service schema `schema` imports the namespace's `common`.
    pub fn imports_common(schema: usize) -> bool {
        schema != 0 && schema.is_multiple_of(2)
    }

    /// The version that is current once the build is done, if any.
    pub fn current_version(&self) -> Option<u32> {
        PROMOTE_AFTER
            .iter()
            .copied()
            .filter(|v| *v <= self.versions)
            .max()
    }

    /// The version that is staged once the build is done, if any.
    pub fn staged_version(&self) -> Option<u32> {
        (self.current_version() != Some(self.versions)).then_some(self.versions)
    }

    /// A cache key for the built database: the data set, its format and the
    /// SQLite migrations (a schema change invalidates the cache).
    pub fn cache_key(&self) -> String {
        let mut hasher = Sha256::new();
        let migrations = workspace_root().join("migrations/sqlite");
        let mut paths = Vec::new();
        collect_files(&migrations, &mut paths);
        paths.sort();
        for path in paths {
            hasher.update(
                path.strip_prefix(&migrations)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hasher.update(std::fs::read(&path).unwrap_or_default());
        }
        let digest = hex::encode(hasher.finalize());
        format!(
            "v{DATASET_FORMAT}-{}ns-{}s-{}v-{}",
            self.namespaces,
            self.schemas_per_namespace,
            self.versions,
            &digest[..12]
        )
    }

    /// The sources of one version of one schema.
    pub fn sources(&self, ns: usize, schema: usize, version: u32) -> BTreeMap<String, String> {
        if schema == 0 {
            common_sources(ns, version)
        } else {
            service_sources(ns, schema, version)
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
}

fn common_sources(ns: usize, version: u32) -> BTreeMap<String, String> {
    let package = format!("bench.ns{ns:02}.common.v1");
    let mut text = format!(
        "syntax = \"proto3\";\n\n\
         package {package};\n\n\
         import \"google/protobuf/timestamp.proto\";\n\n\
         option java_multiple_files = true;\n\n\
         // An amount of money in a currency.\n\
         message Money {{\n  \
           // ISO 4217 currency code.\n  \
           string currency_code = 1;\n  \
           int64 units = 2;\n  \
           int32 nanos = 3;\n\
         }}\n\n\
         // Who changed a record, and when.\n\
         message Audit {{\n  \
           string created_by = 1;\n  \
           google.protobuf.Timestamp created_at = 2;\n  \
           string updated_by = 3;\n  \
           google.protobuf.Timestamp updated_at = 4;\n"
    );
    for k in 2..=version {
        let _ = writeln!(
            text,
            "  // Added in version {k}.\n  string revision_note_{k} = {};",
            100 + k
        );
    }
    text.push_str(
        "}\n\n\
         // Lifecycle state of a record.\n\
         enum Status {\n  \
           STATUS_UNSPECIFIED = 0;\n  \
           STATUS_ACTIVE = 1;\n  \
           STATUS_SUSPENDED = 2;\n  \
           STATUS_DELETED = 3;\n\
         }\n",
    );
    BTreeMap::from([(format!("bench/ns{ns:02}/common/v1/common.proto"), text)])
}

fn service_sources(ns: usize, schema: usize, version: u32) -> BTreeMap<String, String> {
    let dir = format!("bench/ns{ns:02}/svc{schema:03}/v1");
    let package = format!("bench.ns{ns:02}.svc{schema:03}.v1");
    let common = format!("bench.ns{ns:02}.common.v1");
    let with_common = Dataset::imports_common(schema);

    let mut types = format!("syntax = \"proto3\";\n\npackage {package};\n\n");
    if with_common {
        let _ = writeln!(types, "import \"bench/ns{ns:02}/common/v1/common.proto\";");
    }
    types.push_str(
        "import \"google/protobuf/timestamp.proto\";\n\n\
         // A resource managed by the service.\n\
         message Item {\n  \
           // A part of an item.\n  \
           message Part {\n    \
             string id = 1;\n    \
             uint32 quantity = 2;\n  \
           }\n\n  \
           // Resource name, `items/{item}`.\n  \
           string name = 1;\n  \
           string display_name = 2;\n  \
           map<string, string> labels = 3;\n  \
           google.protobuf.Timestamp create_time = 4;\n  \
           Kind kind = 5;\n  \
           oneof payload {\n    \
             string text = 6;\n    \
             bytes blob = 7;\n  \
           }\n  \
           repeated Part parts = 8;\n",
    );
    if with_common {
        let _ = write!(
            types,
            "  {common}.Money price = 9;\n  {common}.Audit audit = 10;\n  {common}.Status status = 11;\n"
        );
    }
    for k in 2..=version {
        let _ = writeln!(
            types,
            "  // Added in version {k}.\n  int64 extra_{k} = {};",
            20 + k
        );
    }
    types.push_str(
        "}\n\n\
         // The kind of an item.\n\
         enum Kind {\n  \
           KIND_UNSPECIFIED = 0;\n  \
           KIND_STANDARD = 1;\n  \
           KIND_PREMIUM = 2;\n\
         }\n\n\
         message GetItemRequest {\n  string name = 1;\n}\n\n\
         message ListItemsRequest {\n  int32 page_size = 1;\n  string page_token = 2;\n  string filter = 3;\n}\n\n\
         message ListItemsResponse {\n  repeated Item items = 1;\n  string next_page_token = 2;\n}\n\n\
         message DeleteItemRequest {\n  string name = 1;\n}\n",
    );

    let service = format!(
        "syntax = \"proto3\";\n\n\
         package {package};\n\n\
         import \"{dir}/types.proto\";\n\
         import \"google/protobuf/empty.proto\";\n\
         import \"google/protobuf/field_mask.proto\";\n\n\
         // Manages items.\n\
         service Svc{schema:03}Service {{\n  \
           rpc GetItem(GetItemRequest) returns (Item);\n  \
           rpc ListItems(ListItemsRequest) returns (ListItemsResponse);\n  \
           rpc UpdateItem(UpdateItemRequest) returns (Item);\n  \
           rpc DeleteItem(DeleteItemRequest) returns (google.protobuf.Empty);\n\
         }}\n\n\
         message UpdateItemRequest {{\n  \
           Item item = 1;\n  \
           google.protobuf.FieldMask update_mask = 2;\n\
         }}\n"
    );
    BTreeMap::from([
        (format!("{dir}/types.proto"), types),
        (format!("{dir}/service.proto"), service),
    ])
}

/// Publishes the whole data set into the registry: for each namespace,
/// version by version, `common` first, promoting after [`PROMOTE_AFTER`].
/// Namespaces are built concurrently (one writer each), so compiling one
/// overlaps storing another.
pub async fn build_dataset(registry: &Registry, data: Dataset) -> Result<(), String> {
    let mut tasks = Vec::new();
    for ns in 0..data.namespaces {
        let registry = registry.clone();
        tasks.push(actix_rt::spawn(async move {
            build_namespace(&registry, data, ns).await
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("build task: {e}"))??;
    }
    // As a server does when it shuts down or has been idle for a while.
    registry
        .write_checkpoints()
        .await
        .map_err(|e| format!("writing the restore checkpoints: {e}"))?;
    Ok(())
}

async fn build_namespace(registry: &Registry, data: Dataset, ns: usize) -> Result<(), String> {
    let name = data.namespace_name(ns);
    let namespace = NamespaceId::parse(&name).map_err(|e| e.to_string())?;
    for version in 1..=data.versions {
        for schema in 0..data.schemas_per_namespace {
            let request =
                publish_request(&data.schema_name(schema), data.sources(ns, schema, version));
            let outcome = registry.publish(&namespace, request).await.map_err(|e| {
                format!(
                    "publishing {name}/{} v{version}: {e}",
                    data.schema_name(schema)
                )
            })?;
            if outcome.no_change || outcome.version.version != version as i32 {
                return Err(format!(
                    "publishing {name}/{} v{version} gave version {} (no_change: {})",
                    data.schema_name(schema),
                    outcome.version.version,
                    outcome.no_change
                ));
            }
        }
        if PROMOTE_AFTER.contains(&version) {
            registry
                .promote(&name, false)
                .await
                .map_err(|e| format!("promoting {name} after v{version}: {e}"))?;
        }
    }
    Ok(())
}

/// Checks that a restored registry holds the data set: every schema with
/// its expected current and staged versions. Returns the number of
/// version snapshots restored.
pub fn verify_restored(registry: &Registry, data: Dataset) -> Result<usize, String> {
    let mut snapshots = 0;
    for ns in 0..data.namespaces {
        let name = data.namespace_name(ns);
        let view = registry.view(&name).map_err(|e| format!("{name}: {e}"))?;
        if view.schemas.len() != data.schemas_per_namespace {
            return Err(format!(
                "{name}: {} schemas, expected {}",
                view.schemas.len(),
                data.schemas_per_namespace
            ));
        }
        for (id, entry) in &view.schemas {
            let current = entry.current.as_ref().map(|v| v.version as u32);
            let staged = entry.staged.as_ref().map(|v| v.version as u32);
            if current != data.current_version() || staged != data.staged_version() {
                return Err(format!(
                    "{name}/{id}: current {current:?}, staged {staged:?}; expected {:?}, {:?}",
                    data.current_version(),
                    data.staged_version()
                ));
            }
            snapshots += usize::from(current.is_some()) + usize::from(staged.is_some());
        }
    }
    Ok(snapshots)
}

/// The recompile baseline of the restore benchmark: compiles, with
/// `compile_schema`, the sources of every current and staged version of the
/// data set, each against its import scope (the namespace's `common` of the
/// same state, itself compiled first). Returns the number of compiles.
///
/// Sources come from memory (generated), not from the store, so this
/// baseline is, if anything, flattered.
pub fn recompile_dataset(data: Dataset) -> usize {
    let mut compiled = 0;
    let states = [data.current_version(), data.staged_version()];
    for ns in 0..data.namespaces {
        for version in states.into_iter().flatten() {
            let mut scope = ImportScope::default();
            for schema in 0..data.schemas_per_namespace {
                let sources = Arc::new(data.sources(ns, schema, version));
                let scope_now = if Dataset::imports_common(schema) {
                    Arc::new(scope.clone())
                } else {
                    Arc::new(ImportScope::default())
                };
                let out =
                    compile::compile_schema(sources, scope_now).expect("data set sources compile");
                if schema == 0 {
                    for file in out.files {
                        scope.files.insert(
                            file.name.clone(),
                            ScopeFile {
                                file,
                                version_id: 0,
                            },
                        );
                    }
                }
                compiled += 1;
            }
        }
    }
    compiled
}

/// Environment variable naming the directory of the compatibility-check
/// pair (the one holding `old/` and `new/`).
pub const COMPAT_PAIR_ENV: &str = "PROTOREG_BENCH_COMPAT_PAIR";

/// Where the compatibility-check pair is: `$PROTOREG_BENCH_COMPAT_PAIR`, else
/// `target/bench-corpus/compat-pair` under the workspace (written by
/// `benches/fetch-large-corpus`): `old/` is the google-proto-files subset,
/// `new/` its mutated copy, each with a `buf.yaml`.
pub fn compat_pair_dir() -> PathBuf {
    match std::env::var_os(COMPAT_PAIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target/bench-corpus/compat-pair"),
    }
}

/// The `old/` and `new/` directories of the compatibility pair; an error says
/// how to make them.
pub fn compat_pair() -> Result<(PathBuf, PathBuf), String> {
    let dir = compat_pair_dir();
    let (old, new) = (dir.join("old"), dir.join("new"));
    if dir.join(".complete").is_file() && old.is_dir() && new.is_dir() {
        Ok((old, new))
    } else {
        Err(format!(
            "the compatibility pair is missing at {}: run `benches/fetch-large-corpus` first \
             (or set {COMPAT_PAIR_ENV} to a directory holding old/ and new/)",
            dir.display()
        ))
    }
}

/// The `.proto` files under `dir`, relative, `/`-separated, sorted.
pub fn proto_paths(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|e| format!("reading {}: {e}", current.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("reading {}: {e}", current.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "proto") {
                let relative = path
                    .strip_prefix(dir)
                    .map_err(|e| e.to_string())?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(relative);
            }
        }
    }
    Ok(out)
}

/// Compiles `files` under `dir` with protox (imports and source info
/// included, the well-known types built in) and returns the encoded
/// `FileDescriptorSet`.
pub fn compile_dir(dir: &Path, files: &BTreeSet<String>) -> Result<Vec<u8>, String> {
    let mut compiler =
        protox::Compiler::new([dir]).map_err(|e| format!("{}: {e}", dir.display()))?;
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(files.iter())
        .map_err(|e| format!("{} does not compile: {e}", dir.display()))?;
    Ok(compiler.encode_file_descriptor_set())
}

/// One side of a comparison: an image whose targets are the files of the
/// directory (the well-known types are imports).
pub fn side_image(bytes: &[u8], targets: &BTreeSet<String>) -> Result<Image, String> {
    Image::from_file_descriptor_set_bytes_with_targets(bytes, targets).map_err(|e| e.to_string())
}

/// End to end, what `buf breaking NEW --against OLD` does: list the files of
/// both directories, compile each with protox, decode the images and check
/// `new` against `old` under `policy`.
pub fn check_dirs(old: &Path, new: &Path, policy: &Policy) -> Result<Vec<Violation>, String> {
    let old_files = proto_paths(old)?;
    let new_files = proto_paths(new)?;
    let previous = side_image(&compile_dir(old, &old_files)?, &old_files)?;
    let current = side_image(&compile_dir(new, &new_files)?, &new_files)?;
    protoreg_compat::check(&previous, &current, policy).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_states() {
        assert_eq!(Dataset::FULL.schemas(), 1000);
        assert_eq!(Dataset::FULL.current_version(), Some(9));
        assert_eq!(Dataset::FULL.staged_version(), Some(10));
        assert_eq!(Dataset::SMALL.current_version(), Some(3));
        assert_eq!(Dataset::SMALL.staged_version(), Some(4));
        let key = Dataset::FULL.cache_key();
        assert!(key.starts_with("v2-10ns-100s-10v-"), "{key}");
    }

    #[test]
    fn generated_sources_compile_and_grow_per_version() {
        let data = Dataset::SMALL;
        assert_eq!(recompile_dataset(data), 2 * 2 * 5);
        let v1 = data.sources(0, 2, 1);
        let v2 = data.sources(0, 2, 2);
        assert_eq!(v1.len(), 2);
        assert_ne!(v1, v2);
        assert!(v2["bench/ns00/svc002/v1/types.proto"].contains("extra_2"));
        assert!(v2["bench/ns00/svc002/v1/types.proto"].contains("common.proto"));
        assert!(
            !data.sources(0, 3, 2)["bench/ns00/svc003/v1/types.proto"].contains("common.proto")
        );
    }

    #[test]
    fn small_pair_checks_like_buf() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        for (side, field) in [(&old, "  string name = 1;\n"), (&new, "")] {
            std::fs::create_dir_all(side.join("a/v1")).expect("mkdir");
            let text = format!("syntax = \"proto3\";\npackage a.v1;\nmessage M {{\n{field}}}\n");
            std::fs::write(side.join("a/v1/a.proto"), text).expect("write");
        }
        let found = check_dirs(&old, &new, &Policy::default()).expect("checks");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "FIELD_NO_DELETE");
        assert_eq!(found[0].file, "a/v1/a.proto");
    }

    #[test]
    fn missing_corpus_says_how_to_fetch_it() {
        let err = load_corpus(Path::new("/nonexistent/protoreg-corpus")).unwrap_err();
        assert!(err.contains("benches/fetch-corpus"), "{err}");
    }
}
