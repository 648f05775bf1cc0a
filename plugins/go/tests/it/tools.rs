//! Locating the reference tools; missing tools skip a test locally and
//! fail it under CI.

use std::path::{Path, PathBuf};

pub const PROTOC_GEN_GO: &str = "/usr/bin/protoc-gen-go";
pub const PROTOC_GEN_GO_GRPC: &str = "/usr/bin/protoc-gen-go-grpc";

/// `Some(path)` when the tool exists. Otherwise fails under CI (`CI=true`
/// or `CI=1`, as every test crate of the workspace reads it), or prints why
/// the test is skipped and returns `None`.
pub fn require(tool: &str, install_hint: &str) -> Option<PathBuf> {
    let found = if tool.contains('/') {
        Path::new(tool).is_file().then(|| PathBuf::from(tool))
    } else {
        find_in_path(tool)
    };
    if found.is_some() {
        return found;
    }
    let message = format!("{tool} not found (install {install_hint})");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{message}; required under CI");
    }
    eprintln!("skipped: {message}");
    None
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}
