//! `protoreg export NS DIR`: every current `.proto` of a namespace
//! (`GET /v1/namespaces/{ns}/export`) unpacked into a directory, one folder
//! per schema, as `protoreg load` reads it back.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use clap::Args;
use flate2::read::GzDecoder;
use serde_json::json;

use super::{CliError, CliResult, Context, Outcome};

#[derive(Debug, Args)]
pub struct ExportArgs {
    namespace: String,
    /// Directory to write into (created when missing); existing files of
    /// the same paths are replaced, others are left alone.
    dir: PathBuf,
}

pub fn export(cx: &Context, args: ExportArgs) -> CliResult {
    let reply = cx
        .client
        .get_bytes(&["v1", "namespaces", &args.namespace, "export"], &[])?;
    let files = unpack(&reply.bytes)?;
    for (path, data) in &files {
        let target = args.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::Message(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&target, data)
            .map_err(|e| CliError::Message(format!("cannot write {}: {e}", target.display())))?;
    }
    if cx.json() {
        let paths: Vec<String> = files
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect();
        cx.print_json(&json!({ "namespace": args.namespace, "files": paths }));
    } else {
        println!(
            "{}: {} files written to {}",
            args.namespace,
            files.len(),
            args.dir.display()
        );
    }
    Ok(Outcome::Success)
}

/// The regular files of a gzip tar, each path checked to stay inside the
/// target directory (relative, no `..`).
fn unpack(archive: &[u8]) -> Result<Vec<(PathBuf, Vec<u8>)>, CliError> {
    let bad = |e: std::io::Error| CliError::Message(format!("the export is not a gzip tar: {e}"));
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    let mut files = Vec::new();
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().map_err(bad)?.into_owned();
        if !is_inside(&path) {
            return Err(CliError::Message(format!(
                "the export names a path outside the directory: {}",
                path.display()
            )));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        files.push((path, data));
    }
    Ok(files)
}

fn is_inside(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
        && path.components().next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_without_parent_steps_are_inside() {
        assert!(is_inside(Path::new("a/b.proto")));
        assert!(!is_inside(Path::new("../b.proto")));
        assert!(!is_inside(Path::new("/etc/passwd")));
        assert!(!is_inside(Path::new("a/../../b")));
        assert!(!is_inside(Path::new("")));
    }
}
