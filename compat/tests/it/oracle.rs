//! Re-runs buf on every case and checks expected.json is still what buf says.
//! Needs buf: `PROTOREG_BUF`, else `scripts/ensure-buf`. Without buf the test
//! fails under CI (`CI=true` or `CI=1`) and prints "skipped: buf not found"
//! otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use protoreg_compat::Image;

use crate::support::{case_dirs, expected_lines, load_policy, name, proto_files, skip_unless_ci};

pub fn find_buf() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROTOREG_BUF") {
        return Some(PathBuf::from(path));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ensure-buf");
    let output = Command::new("bash").arg(script).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let path = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// The case's sides built by buf (protocompile), as images.
fn buf_built_images(buf: &Path, work: &Path) -> (Image, Image) {
    let build = |side: &str| {
        let dir = work.join(side);
        let out = work.join(format!("{side}.binpb"));
        let status = Command::new(buf)
            .args(["build", ".", "--as-file-descriptor-set", "-o"])
            .arg(&out)
            .current_dir(&dir)
            .status()
            .expect("buf build runs");
        assert!(status.success(), "buf build failed in {}", dir.display());
        let targets = proto_files(&dir);
        let bytes = std::fs::read(&out).expect("built image");
        Image::from_file_descriptor_set_bytes(&bytes, |n| targets.contains(n)).expect("valid image")
    };
    (build("previous"), build("current"))
}

fn run_buf(buf: &Path, case: &Path, scratch: &Path) -> Vec<String> {
    let work = scratch.join(name(case));
    copy_dir(&case.join("previous"), &work.join("previous"));
    copy_dir(&case.join("current"), &work.join("current"));
    std::fs::copy(case.join("buf.yaml"), work.join("current/buf.yaml")).expect("copy buf.yaml");
    let output = Command::new(buf)
        .args([
            "breaking",
            ".",
            "--against",
            "../previous",
            "--error-format",
            "json",
            "--exclude-imports",
        ])
        .current_dir(work.join("current"))
        .output()
        .expect("buf runs");
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 100)),
        "buf failed on {} ({code:?}): {}",
        name(case),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8 output")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn expected_findings_are_still_what_buf_reports() {
    let Some(buf) = find_buf() else {
        skip_unless_ci("buf not found: set PROTOREG_BUF, or install npm for scripts/ensure-buf");
        return;
    };
    let scratch =
        std::env::temp_dir().join(format!("protoreg-compat-oracle-{}", std::process::id()));
    let mut stale = Vec::new();
    let mut differing_on_buf_images = Vec::new();
    for case in case_dirs() {
        let expected = expected_lines(&case);
        if run_buf(&buf, &case, &scratch) != expected {
            stale.push(name(&case));
        }
        // The engine on the very images buf checks: every finding identical.
        let (previous, current) = buf_built_images(&buf, &scratch.join(name(&case)));
        let ours: Vec<String> = protoreg_compat::check(&previous, &current, &load_policy(&case))
            .expect("check runs")
            .iter()
            .map(|v| v.to_buf_json())
            .collect();
        if ours != expected {
            differing_on_buf_images.push(name(&case));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        stale.is_empty(),
        "expected.json is stale (re-run compat/tests/record.sh): {stale:?}"
    );
    assert!(
        differing_on_buf_images.is_empty(),
        "findings on buf-built images differ from buf: {differing_on_buf_images:?}"
    );
}
