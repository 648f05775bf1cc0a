//! Test corpora compiled with protox as the registry compiles, the
//! matching CodeGeneratorRequest, and the comparison with grpcio-tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protoreg_plugin_sdk::wire;

use crate::python::Tools;
use crate::raw;

pub struct Corpus {
    pub files_to_generate: Vec<String>,
    /// Each FileDescriptorProto as protox encodes it, dependencies first.
    pub proto_files: Vec<Vec<u8>>,
}

/// Generated files by name.
pub type Outputs = BTreeMap<String, String>;

impl Corpus {
    pub fn compile_test_protos() -> Corpus {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut files = Vec::new();
        collect_protos(&dir, &dir, &mut files);
        files.sort();
        Corpus::compile_dir(&dir, &files)
    }

    /// The editions corpus, compiled by grpcio-tools' protoc.
    pub fn compile_editions_protos(tools: &Tools) -> Corpus {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-editions");
        let mut files = Vec::new();
        collect_protos(&dir, &dir, &mut files);
        files.sort();
        let set = tools.compile_descriptor_set(&dir, &files);
        Corpus::from_descriptor_set(&set, files)
    }

    fn from_descriptor_set(set: &[u8], files_to_generate: Vec<String>) -> Corpus {
        let proto_files = raw::records(set)
            .filter(|r| r.number == 1)
            .map(|r| r.payload.to_vec())
            .collect();
        Corpus {
            files_to_generate,
            proto_files,
        }
    }

    pub fn compile_dir(include: &Path, files: &[String]) -> Corpus {
        // Well-known types come from protox, as in the registry, even when
        // the corpus ships its own google/protobuf/*.proto.
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(protox::file::GoogleFileResolver::new());
        resolver.add(protox::file::IncludeFileResolver::new(
            include.to_path_buf(),
        ));
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_source_info(true).include_imports(true);
        compiler
            .open_files(files)
            .unwrap_or_else(|e| panic!("protox: {e:?}"));
        let set = compiler.encode_file_descriptor_set();
        Corpus::from_descriptor_set(&set, files.to_vec())
    }

    pub fn request(&self, parameter: &str) -> Vec<u8> {
        let mut request = Vec::new();
        for name in &self.files_to_generate {
            wire::write_len_delimited(&mut request, 1, name.as_bytes());
        }
        wire::write_len_delimited(&mut request, 2, parameter.as_bytes());
        for file in &self.proto_files {
            wire::write_len_delimited(&mut request, 15, file);
        }
        request
    }

    /// The descriptor set given to grpcio-tools: computed json_names
    /// cleared (protoc keeps any json_name it is given), all else as is.
    fn reference_descriptor_set(&self) -> Vec<u8> {
        let mut set = Vec::new();
        for file in &self.proto_files {
            wire::write_len_delimited(&mut set, 1, &raw::clear_computed_json_names(file));
        }
        set
    }

    fn generate(&self) -> Outputs {
        let response = protoreg_plugin_python::generate(&self.request(""));
        assert_eq!(response.error, None, "generator reported an error");
        response
            .file
            .into_iter()
            .map(|f| (f.name.unwrap_or_default(), f.content.unwrap_or_default()))
            .collect()
    }

    /// Runs both generators; panics listing every file that differs.
    pub fn compare_with_grpcio_tools(&self, tools: &Tools) -> Outputs {
        let work = tempfile::tempdir().expect("tempdir");
        let set_path = work.path().join("set.pb");
        std::fs::write(&set_path, self.reference_descriptor_set()).expect("write set");
        let out = work.path().join("out");
        std::fs::create_dir_all(&out).expect("out dir");
        let started = std::time::Instant::now();
        tools.run_grpc_tools(&set_path, &out, &self.files_to_generate);
        let reference_time = started.elapsed();
        let expected = read_tree(&out);
        let started = std::time::Instant::now();
        let actual = self.generate();
        let generate_time = started.elapsed();
        eprintln!(
            "{} input files: generate {:.3}s ({:.3} ms/file), grpcio-tools process {:.3}s ({:.3} ms/file)",
            self.files_to_generate.len(),
            generate_time.as_secs_f64(),
            generate_time.as_secs_f64() * 1000.0 / self.files_to_generate.len() as f64,
            reference_time.as_secs_f64(),
            reference_time.as_secs_f64() * 1000.0 / self.files_to_generate.len() as f64,
        );
        keep_for_inspection(&expected, &actual);

        let mut problems = Vec::new();
        for name in expected.keys().filter(|n| !actual.contains_key(*n)) {
            problems.push(format!("missing output {name}"));
        }
        for name in actual.keys().filter(|n| !expected.contains_key(*n)) {
            problems.push(format!("unexpected output {name}"));
        }
        for (name, want) in &expected {
            if let Some(got) = actual.get(name)
                && got != want
            {
                problems.push(format!("{name} differs:\n{}", first_difference(want, got)));
            }
        }
        assert!(
            problems.is_empty(),
            "{} of {} files differ from grpcio-tools:\n{}",
            problems.len(),
            expected.len(),
            problems.join("\n")
        );
        eprintln!("{} files byte-identical to grpcio-tools", expected.len());
        actual
    }
}

/// With `PROTOREG_PYTHON_KEEP_OUTPUT=DIR`, both trees are written to
/// `DIR/expected` and `DIR/actual` for a closer look at a difference.
fn keep_for_inspection(expected: &Outputs, actual: &Outputs) {
    let Ok(dir) = std::env::var("PROTOREG_PYTHON_KEEP_OUTPUT") else {
        return;
    };
    for (side, tree) in [("expected", expected), ("actual", actual)] {
        for (name, content) in tree {
            let path = Path::new(&dir).join(side).join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
    }
}

/// The .proto files under `root/subdir`, relative to `root`, sorted,
/// without those starting with `exclude`.
pub fn protos_under(root: &Path, subdir: &str, exclude: &str) -> Vec<String> {
    let mut files = Vec::new();
    collect_protos(root, &root.join(subdir), &mut files);
    files.retain(|f| !f.starts_with(exclude));
    files.sort();
    files
}

fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read corpus dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_protos(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            let relative = path.strip_prefix(root).expect("under root");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn read_tree(root: &Path) -> Outputs {
    let mut files = Vec::new();
    walk(root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let content = std::fs::read_to_string(&path).expect("read output");
            (name, content)
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A few lines of context around the first differing line.
fn first_difference(want: &str, got: &str) -> String {
    let want_lines: Vec<&str> = want.lines().collect();
    let got_lines: Vec<&str> = got.lines().collect();
    let first = want_lines
        .iter()
        .zip(&got_lines)
        .position(|(a, b)| a != b)
        .unwrap_or(want_lines.len().min(got_lines.len()));
    let from = first.saturating_sub(2);
    let mut out = format!("@@ line {} @@\n", first + 1);
    for line in want_lines.iter().skip(from).take(first - from) {
        out.push_str(&format!(" {line}\n"));
    }
    for line in want_lines.iter().skip(first).take(3) {
        out.push_str(&format!("-{}\n", shorten(line)));
    }
    for line in got_lines.iter().skip(first).take(3) {
        out.push_str(&format!("+{}\n", shorten(line)));
    }
    if let (Some(a), Some(b)) = (want_lines.get(first), got_lines.get(first)) {
        out.push_str(&column_difference(a, b));
    }
    if want.ends_with('\n') != got.ends_with('\n') {
        out.push_str("(trailing newline differs)\n");
    }
    out
}

/// Where two long lines part, with some context (descriptor blobs are one
/// line).
fn column_difference(want: &str, got: &str) -> String {
    let column = want
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let window = |line: &str| {
        let mut start = column.saturating_sub(80);
        while !line.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (column + 80).min(line.len());
        while !line.is_char_boundary(end) {
            end += 1;
        }
        line[start..end].to_owned()
    };
    format!(
        "first difference at column {column}:\n-…{}…\n+…{}…\n",
        window(want),
        window(got)
    )
}

fn shorten(line: &str) -> String {
    if line.len() <= 400 {
        return line.to_owned();
    }
    let mut end = 400;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &line[..end], line.len())
}
