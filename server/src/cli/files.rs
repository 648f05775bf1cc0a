//! The local side of the client: reading a directory of `.proto` files into
//! the `{path: text}` map the API takes, and writing one back out.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::CliError;

/// The `.proto` files under a directory.
#[derive(Debug, Default)]
pub struct ProtoTree {
    /// By path relative to the directory, `/`-separated; sorted, so the
    /// request (and the order of any message about it) is deterministic.
    pub sources: BTreeMap<String, String>,
    /// Symbolic links met on the way, which are not followed: a link may
    /// point outside the directory, and a schema is what the directory holds.
    pub skipped_links: Vec<PathBuf>,
}

/// Every `.proto` file under `dir` (which may itself be a link).
pub fn collect_protos(dir: &Path) -> Result<ProtoTree, CliError> {
    if !dir.is_dir() {
        return Err(CliError::Message(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut tree = ProtoTree::default();
    walk(dir, "", &mut tree)?;
    Ok(tree)
}

fn walk(dir: &Path, prefix: &str, tree: &mut ProtoTree) -> Result<(), CliError> {
    for (name, path, kind) in sorted_entries(dir)? {
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if kind.is_symlink() {
            tree.skipped_links.push(path);
        } else if kind.is_dir() {
            walk(&path, &relative, tree)?;
        } else if kind.is_file() && relative.ends_with(".proto") {
            let text = fs::read_to_string(&path)
                .map_err(|e| CliError::Message(format!("cannot read {}: {e}", path.display())))?;
            tree.sources.insert(relative, text);
        }
    }
    Ok(())
}

/// The entries of `dir` by name, with their own type (links not followed).
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf, fs::FileType)>, CliError> {
    let unreadable =
        |e: std::io::Error| CliError::Message(format!("cannot read {}: {e}", dir.display()));
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|_| {
            CliError::Message(format!("{}: file name is not UTF-8", path.display()))
        })?;
        entries.push((name, path, entry.file_type().map_err(unreadable)?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// What `protoreg load` finds directly under its directory.
#[derive(Debug, Default)]
pub struct SchemaFolders {
    /// `(schema name, folder)`, by name; links are not followed.
    pub folders: Vec<(String, PathBuf)>,
    /// Files (and links) at the top, which are not schemas; hidden ones
    /// are left out.
    pub ignored: Vec<PathBuf>,
}

/// The folders directly under `dir`: the schemas of `protoreg load`.
pub fn schema_folders(dir: &Path) -> Result<SchemaFolders, CliError> {
    if !dir.is_dir() {
        return Err(CliError::Message(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut found = SchemaFolders::default();
    for (name, path, kind) in sorted_entries(dir)? {
        if kind.is_dir() {
            found.folders.push((name, path));
        } else if !name.starts_with('.') {
            found.ignored.push(path);
        }
    }
    Ok(found)
}

/// Writes `sources` under `out`, refusing any path that would land outside
/// it (the server checks paths, but a client does not write where an answer
/// tells it to without looking).
pub fn write_sources(out: &Path, sources: &BTreeMap<String, String>) -> Result<(), CliError> {
    for (name, text) in sources {
        let relative = safe_relative_path(name).ok_or_else(|| {
            CliError::Message(format!(
                "refusing to write {name:?}: not a plain relative path"
            ))
        })?;
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| {
                CliError::Message(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        fs::write(&path, text)
            .map_err(|e| CliError::Message(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// `a/b.proto` as a path, or `None` for an absolute path, `..`, `.`, an
/// empty segment or a backslash.
fn safe_relative_path(name: &str) -> Option<PathBuf> {
    let ok = !name.is_empty()
        && !name.contains('\\')
        && name
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."));
    ok.then(|| name.split('/').collect())
}

/// The files a `.proto` source imports, read line by line (`import
/// "x.proto";`, `import public ...`, `import weak ...`). Only used to order
/// `load`; the server's compiler is the one that really resolves imports.
pub fn imports(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("import")?;
            let rest = rest.trim_start();
            let rest = rest
                .strip_prefix("public")
                .or_else(|| rest.strip_prefix("weak"))
                .unwrap_or(rest)
                .trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let rest = &rest[1..];
            Some(rest[..rest.find(quote)?].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, name: &str, text: &str) {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn collects_only_proto_files_by_sorted_relative_slash_paths() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "z.proto", "z");
        write(dir.path(), "a/b/c.proto", "c");
        write(dir.path(), "a/a.proto", "a");
        write(dir.path(), "a/notes.txt", "x");
        write(dir.path(), "a/proto", "not a .proto file");
        let tree = collect_protos(dir.path()).unwrap();
        let names: Vec<&str> = tree.sources.keys().map(String::as_str).collect();
        assert_eq!(names, ["a/a.proto", "a/b/c.proto", "z.proto"]);
        assert_eq!(tree.sources["a/b/c.proto"], "c");
        assert!(tree.skipped_links.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_links_out_of_the_directory() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret/s.proto", "s");
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "own.proto", "o");
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("linked"))
            .unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret/s.proto"),
            dir.path().join("file.proto"),
        )
        .unwrap();
        let tree = collect_protos(dir.path()).unwrap();
        assert_eq!(tree.sources.keys().collect::<Vec<_>>(), ["own.proto"]);
        assert_eq!(
            tree.skipped_links,
            [dir.path().join("file.proto"), dir.path().join("linked")]
        );
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(collect_protos(&dir.path().join("nope")).is_err());
    }

    #[test]
    fn writing_refuses_paths_that_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "../x.proto",
            "/etc/x.proto",
            "a//b.proto",
            "a\\b.proto",
            "./a.proto",
        ] {
            let sources = BTreeMap::from([(bad.to_owned(), "x".to_owned())]);
            assert!(write_sources(dir.path(), &sources).is_err(), "{bad}");
        }
        let sources = BTreeMap::from([("a/b.proto".to_owned(), "ok".to_owned())]);
        write_sources(dir.path(), &sources).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("a/b.proto")).unwrap(),
            "ok"
        );
    }

    #[test]
    fn imports_are_read_from_import_statements() {
        let text = "syntax = \"proto3\";\nimport \"a/b.proto\";\n  import public 'c.proto';\nimport weak \"d.proto\";\n// import \"no.proto\";\nmessage importer {}\n";
        assert_eq!(imports(text), ["a/b.proto", "c.proto", "d.proto"]);
    }
}
