//! Loading cases: compiling each side with protox (or reading the buf-built
//! descriptor set of editions cases, which protox 0.10 cannot compile).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use protoreg_compat::{Image, Policy, Violation};

/// A test cannot run because `reason`: under CI (`CI=true` or `CI=1`, as
/// every test crate of the workspace reads it) that fails the test;
/// elsewhere it prints `skipped: {reason}` and the caller returns.
#[track_caller]
pub fn skip_unless_ci(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason}; required under CI");
    }
    println!("skipped: {reason}");
}

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/compat")
}

pub fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(cases_dir())
        .expect("tests/compat exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.join("buf.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// `.proto` files under `dir`, relative, with `/` separators.
pub fn proto_files(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let relative = path.strip_prefix(root).expect("under root");
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

pub fn compile_with_protox(dir: &Path, files: &BTreeSet<String>) -> Vec<u8> {
    let mut compiler = protox::Compiler::new([dir]).expect("include path");
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(files.iter())
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", dir.display()));
    compiler.encode_file_descriptor_set()
}

pub fn load_side(case: &Path, side: &str) -> Image {
    let dir = case.join(side);
    let targets = proto_files(&dir);
    let prebuilt = case.join(format!("{side}.binpb"));
    let bytes = if prebuilt.is_file() {
        fs::read(&prebuilt).expect("readable binpb")
    } else {
        compile_with_protox(&dir, &targets)
    };
    Image::from_file_descriptor_set_bytes(&bytes, |name| targets.contains(name))
        .expect("valid image")
}

pub fn load_policy(case: &Path) -> Policy {
    let yaml = fs::read_to_string(case.join("buf.yaml")).expect("readable buf.yaml");
    Policy::from_buf_yaml(&yaml).expect("valid buf.yaml")
}

pub fn run_case(case: &Path) -> Vec<Violation> {
    let previous = load_side(case, "previous");
    let current = load_side(case, "current");
    protoreg_compat::check(&previous, &current, &load_policy(case)).expect("check runs")
}

pub fn expected_lines(case: &Path) -> Vec<String> {
    fs::read_to_string(case.join("expected.json"))
        .expect("readable expected.json")
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn name(case: &Path) -> String {
    case.file_name()
        .expect("dir name")
        .to_string_lossy()
        .into_owned()
}
